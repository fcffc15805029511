"""Starting the daemon from a configuration: the composition root that wires connectors in."""

from __future__ import annotations

import logging

from buhdesk.config import Config
from buhdesk.runner import Daemon
from buhdesk.runtime import build_runtime
from buhdesk_connectors.factory import make_source, make_transport

log = logging.getLogger(__name__)


def build_daemon(config: Config) -> Daemon:
    rt = build_runtime(config)
    mail_sources = [s for s in config.sources if s.kind in ("imap", "maildir")]
    sources = [make_source(s) for s in mail_sources]
    intervals = {s.name: s.poll_interval for s in mail_sources}
    return Daemon(rt, sources, make_transport(config.outbox),
                  poll_interval=lambda src: intervals.get(src.name, 60.0))


def run_daemon(config: Config, *, once: bool = False) -> int:
    daemon = build_daemon(config)
    if once:
        counters = daemon.drain()
        log.info("run --once: %s", counters)
        return 0
    daemon.run()
    return 0
