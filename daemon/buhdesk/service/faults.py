"""Crash points for fault-injection tests.

``BUHDESK_CRASH_AT=intake-committed:3`` makes the daemon die at once (``os._exit``, as a kill -9
would) the third time it passes that point. Without the variable a point costs a dict lookup.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

POINTS = ("intake-committed", "routed", "delivered-unrecorded")


class CrashPoints:
    def __init__(self, spec: str | None = None) -> None:
        self.targets: dict[str, int] = {}
        for part in filter(None, (spec or "").split(",")):
            name, _, count = part.partition(":")
            if name not in POINTS:
                raise ValueError(f"unknown crash point {name!r}; known: {', '.join(POINTS)}")
            self.targets[name] = int(count or 1)

    @classmethod
    def from_env(cls) -> CrashPoints:
        return cls(os.environ.get("BUHDESK_CRASH_AT"))

    def hit(self, name: str) -> None:
        if name not in self.targets:
            return
        self.targets[name] -= 1
        if self.targets[name] <= 0:
            log.critical("fault injection: crashing at %s", name)
            logging.shutdown()
            os._exit(137)
