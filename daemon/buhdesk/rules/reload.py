"""Hot reload of ``rules/``: a valid set replaces the old one whole; an invalid one is refused,
logged and reported to the administrators by e-mail while the old set keeps working.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from sqlmodel import Session

from buhdesk.reply.outbox import notify_admins
from buhdesk.rules.book import RuleBookError, fingerprint, load_rulebook
from buhdesk.service.config_reload import apply, reload_config
from buhdesk.service.runtime import Runtime

log = logging.getLogger(__name__)


def signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Cheap change detection: names, sizes and modification times of every rule file."""
    entries = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        st = path.stat()
        entries.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(entries)


class RuleWatcher:
    def __init__(self, rt: Runtime, *, interval: float = 2.0) -> None:
        self.rt, self.interval = rt, interval
        self.directory = rt.config.rules_dir
        self.seen = signature(self.directory)
        self.refused: str | None = None  # content fingerprint of the last refused set
        self.checked_at = time.monotonic()
        self.requested = threading.Event()

    def request(self) -> None:
        """Reload at the next poll (SIGHUP)."""
        self.requested.set()

    def poll(self) -> int:
        """Reload when a rule file changed; return 1 when a new set was taken into use."""
        forced = self.requested.is_set()
        if not forced and time.monotonic() - self.checked_at < self.interval:
            return 0
        self.checked_at = time.monotonic()
        current = signature(self.directory)
        if current == self.seen and not forced:
            return 0
        self.requested.clear()
        if self.rt.kb is not None:  # the knowledge base looks at its folder now, not within 1 s
            self.rt.kb.refresh()
        if forced:
            self._reload_config()
            current = signature(self.directory)
        return self._reload(current)

    def _reload_config(self) -> None:
        """SIGHUP: the configuration file too; a refused one is logged and mailed."""
        result = reload_config(self.rt.config)
        if result.config is None:
            log.error("reload: configuration refused, the previous one stays in use: %s",
                      result.problem)
            self._report(result.problem, "config-refused")
            return
        apply(self.rt, result.config)
        self.directory = result.config.rules_dir

    def _reload(self, current: tuple[tuple[str, int, int], ...]) -> int:
        try:
            book = load_rulebook(self.directory)
        except RuleBookError as e:
            self.seen = current
            digest = fingerprint(self.directory)
            if digest != self.refused:  # the same broken content is reported once
                self.refused = digest
                log.error("reload: rules in %s refused, the previous set stays in use:\n%s",
                          self.directory, e)
                self._report(str(e))
            return 0
        self.rt.rules, self.seen, self.refused = book, current, None
        log.info("reload: rules from %s taken into use (%s)", self.directory, book.fingerprint[:12])
        return 1

    def _report(self, problems: str, topic: str = "rules-refused") -> None:
        with Session(self.rt.engine) as session:
            notify_admins(session, self.rt, topic, directory=str(self.directory),
                          problems=problems, file=str(self.rt.config.file))
            session.commit()
