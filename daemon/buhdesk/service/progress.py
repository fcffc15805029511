"""Whether each stage of the daemon is making progress: every source (mail and «ДелоПро») and the
worker's stages. Kept in the daemon's memory, read by ``/healthz`` and ``/metrics``.

A stage has *work* while it is failing (a source that cannot be read may hold anything) or while
items it fetched are not yet taken in; it is *stalled* when it has had work and no progress for
longer than the allowed time (``[web] max_stall``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StageState:
    """One stage at one moment."""

    last_progress: datetime  # the last completed cycle (the start, before the first)
    failing_since: datetime | None = None
    reason: str | None = None  # the last failure, for the administrator
    waiting_since: datetime | None = None  # the oldest item seen and not yet taken in
    lag: float = 0.0  # seconds from the arrival to the commit of the oldest item last taken in

    @property
    def has_work(self) -> bool:
        return self.failing_since is not None or self.waiting_since is not None

    def stalled_for(self, now: datetime) -> float:
        """Seconds without progress while there was work (since the last progress or since the
        work appeared, whichever is later); 0 when there is none."""
        signs = [t for t in (self.failing_since, self.waiting_since) if t is not None]
        if not signs:
            return 0.0
        return max(0.0, (now - max(self.last_progress, min(signs))).total_seconds())

    def oldest_age(self, now: datetime) -> float:
        """Age of the oldest item waiting, 0 when none is known."""
        if self.waiting_since is None:
            return 0.0
        return max(0.0, (now - self.waiting_since).total_seconds())


class Progress:
    """The stages' states; thread-safe (each source runs in its own thread)."""

    def __init__(self, stages: Iterable[str] = (), *,
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.now = now
        self._lock = threading.Lock()
        start = now()
        self._states = {name: StageState(last_progress=start) for name in stages}

    def waiting(self, stage: str, oldest: datetime | None) -> None:
        """Items were fetched and not yet taken in; ``oldest`` is when the oldest arrived (None
        when the source does not say: then from now, unless already waiting)."""
        with self._lock:
            state = self._states.get(stage) or StageState(last_progress=self.now())
            since = oldest or state.waiting_since or self.now()
            self._states[stage] = replace(state, waiting_since=since)

    def done(self, stage: str, *, took: bool = False) -> StageState:
        """A cycle completed: what was waiting is taken in (``took``: there was something).
        Returns the state before, so that the caller sees whether a failure ended."""
        now = self.now()
        with self._lock:
            old = self._states.get(stage) or StageState(last_progress=now)
            lag = old.lag
            if took and old.waiting_since is not None:
                lag = max(0.0, (now - old.waiting_since).total_seconds())
            self._states[stage] = replace(
                old, last_progress=now, failing_since=None, reason=None, lag=lag,
                waiting_since=None)
            return old

    def failed(self, stage: str, reason: str) -> StageState:
        """A cycle failed with ``reason``; returns the state before."""
        now = self.now()
        with self._lock:
            old = self._states.get(stage) or StageState(last_progress=now)
            self._states[stage] = replace(old, failing_since=old.failing_since or now,
                                          reason=reason)
            return old

    def states(self) -> dict[str, StageState]:
        with self._lock:
            return dict(self._states)
