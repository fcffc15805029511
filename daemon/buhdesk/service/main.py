"""Starting the daemon from a configuration: the composition root that wires connectors in."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.config import Config, DeloproSourceConfig
from buhdesk.reply.answer_packages import destination
from buhdesk.service.runner import Daemon
from buhdesk.service.runtime import Runtime, build_runtime
from buhdesk.store.models import Message
from buhdesk.trust.settings import auth_settings, flood_settings
from buhdesk_connectors.delopro import DeloproFolder
from buhdesk_connectors.delopro_outbox import DeloproAnswerTransport
from buhdesk_connectors.delopro_source import DeloproSource
from buhdesk_connectors.factory import make_source, make_transport

log = logging.getLogger(__name__)


def _delopro(cfg: DeloproSourceConfig,
             rt: Runtime) -> tuple[DeloproSource, DeloproAnswerTransport]:
    """A «ДелоПро» export folder: packages in, and answer packages back into its outgoing/."""
    source = DeloproSource(cfg.name, cfg.path, stable_interval=cfg.stable_interval)
    return source, DeloproAnswerTransport(DeloproFolder(cfg.path), rt.blobs)


class DeliveryPending(Exception):
    """``run --once`` ended with letters the server did not take; they stay queued.
    ``reason`` is the last delivery error recorded."""

    def __init__(self, count: int, reason: str) -> None:
        self.count, self.reason = count, reason
        super().__init__(f"{count} outgoing message(s) left queued after failed attempts: "
                         f"{reason}")


def undelivered(engine: Engine) -> tuple[int, str]:
    """Outgoing letters tried and not yet sent (they wait for their next attempt), and the last
    error recorded for one of them."""
    waiting = (col(Message.direction) == "out", col(Message.status) == "pending",
               col(Message.attempts) > 0)
    with Session(engine) as session:
        count: int = session.execute(
            select(func.count()).select_from(Message).where(*waiting)).scalar_one()
        reason = session.execute(select(col(Message.reason)).where(*waiting)
                                 .order_by(col(Message.id).desc()).limit(1)).scalar()
    return count, reason or ""


def build_daemon(config: Config, *, stopping: threading.Event | None = None,
                 clock: Callable[[], datetime] | None = None) -> Daemon:
    """The daemon of ``config``; ``clock`` (tests) replaces the wall clock of the runtime."""
    config.mail_passwords()  # a missing credential is named before anything starts
    auth = auth_settings(config)  # a wrong [auth] or [floods] stops the start, not each letter
    flood_settings(config)
    if not auth.enabled:
        log.warning("auth: no [auth] trusted_authserv_id: senders' addresses are not verified; "
                    "see the admin guide, «Подлинность отправителя»")
    rt = build_runtime(config, clock=clock) if clock else build_runtime(config)
    for warning in rt.rules.calendar.warnings(rt.now().astimezone(config.service.tz).date()):
        log.warning("calendar: %s", warning)
    mail_sources = [s for s in config.sources if not isinstance(s, DeloproSourceConfig)]
    sources = [make_source(s) for s in mail_sources]
    edms = {s.name: _delopro(s, rt) for s in config.sources if isinstance(s, DeloproSourceConfig)}
    intervals = {s.name: s.poll_interval for s in config.sources}
    return Daemon(rt, sources, make_transport(config.outbox),
                  poll_interval=lambda src: intervals.get(src.name, 60.0),
                  package_sources=[source for source, _ in edms.values()],
                  transports={destination(name): t for name, (_, t) in edms.items()},
                  stopping=stopping)


def run_daemon(config: Config, *, once: bool = False,
               clock: Callable[[], datetime] | None = None) -> int:
    # SIGTERM while rules and dictionaries load (a second or two) is a clean stop, not a kill.
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    daemon = build_daemon(config, stopping=stopping, clock=clock)
    # Rules, dictionaries and templates stay for the process's life: kept out of the collector's
    # full passes, which would otherwise walk them again and again as letters come and go.
    gc.freeze()
    daemon.trimmer.now()  # what loading left free (about 35 MB) goes back to the system
    if once:
        counters = daemon.drain(max_rounds=None)
        log.info("run --once: %s", counters)
        waiting, reason = undelivered(daemon.rt.engine)
        if waiting:
            raise DeliveryPending(waiting, reason)
        return 0
    daemon.run()
    return 0
