"""Operational figures for Prometheus, read from the store and from the daemon's memory.

The store gives what every instance agrees on (messages taken in, requests by state, the outbox,
held items, missed deadlines); the last successful poll of each source lives only in the memory of
the daemon process that polls it, in a ``PollRecorder``, and so does each stage's progress (failing
or not, how long without progress while it has work, each source's lag and the age of its oldest
item not yet taken in), in a ``Progress``. The text follows the Prometheus text
exposition format 0.0.4; it is written here, without a client library, because it is a few lines.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.route.lifecycle import STATES
from buhdesk.service.progress import Progress, StageState
from buhdesk.store.models import DIRECTIONS, Message, Request
from buhdesk.store.tallies import taken_totals

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# States in which the service owes an answer: answered and closed owe nothing, and the clock stands
# while a request waits on the client (as in buhdesk.schedule.reminders).
OWED_STATES = ("new", "assigned", "held")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PollRecorder:
    """When each source last answered a fetch; thread-safe, kept in the daemon's memory.

    Sources named in ``expected`` count as "never polled" from the moment the recorder was made,
    so a source that never comes up is reported once the allowed age has passed.
    """

    def __init__(self, expected: Iterable[str] = (), *, started_at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, datetime] = {}
        self.expected = tuple(expected)
        self.started_at = started_at or _utcnow()

    def record(self, source: str, at: datetime | None = None) -> None:
        """Note a successful fetch from ``source`` (with or without new items)."""
        with self._lock:
            self._last[source] = at or _utcnow()

    def last(self) -> dict[str, datetime | None]:
        """Every known source with its last successful poll, ``None`` if it never answered."""
        with self._lock:
            known: dict[str, datetime | None] = dict.fromkeys(self.expected)
            known.update(self._last)
            return known


@dataclass(frozen=True)
class Snapshot:
    """The figures at one moment; ``render`` turns them into the exposition text."""

    now: datetime
    taken_in: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    outbox_pending: int = 0
    outbox_oldest_at: datetime | None = None
    held: dict[str, int] = field(default_factory=dict)
    deadlines_missed: int = 0
    last_poll: dict[str, datetime | None] = field(default_factory=dict)
    started_at: datetime | None = None
    stages: dict[str, StageState] = field(default_factory=dict)

    @property
    def outbox_oldest_age(self) -> float:
        if self.outbox_oldest_at is None:
            return 0.0
        return max(0.0, (self.now - self.outbox_oldest_at).total_seconds())

    def poll_age(self, source: str) -> float | None:
        """Seconds since the last poll, since start if never polled, ``None`` if unknown."""
        at = self.last_poll.get(source) or self.started_at
        return None if at is None else max(0.0, (self.now - at).total_seconds())


def collect(engine: Engine, *, now: datetime | None = None,
            polls: PollRecorder | None = None, progress: Progress | None = None) -> Snapshot:
    """Read the figures from the store in one session."""
    now = now or _utcnow()
    with Session(engine) as session:
        taken = taken_totals(session)
        states = session.execute(
            select(col(Request.state), func.count()).group_by(col(Request.state))).all()
        pending, oldest = session.execute(
            select(func.count(), func.min(col(Message.created_at))).where(
                col(Message.direction) == "out", col(Message.status) == "pending")
        ).one()
        held = session.execute(  # both directions named: the index's ranges, not all of it
            select(col(Message.direction), func.count()).where(
                col(Message.direction).in_(DIRECTIONS), col(Message.status) == "held")
            .group_by(col(Message.direction))
        ).all()
        missed = session.execute(
            select(func.count()).select_from(Request).where(
                col(Request.state).in_(OWED_STATES),
                col(Request.due_at).is_not(None),
                col(Request.due_at) < now)
        ).scalar_one()
    requests = dict.fromkeys(STATES, 0)
    requests.update({state: count for state, count in states})
    return Snapshot(
        now=now,
        taken_in=taken,
        requests=requests,
        outbox_pending=pending,
        outbox_oldest_at=_aware(oldest),
        held={"in": 0, "out": 0} | {direction: count for direction, count in held},
        deadlines_missed=missed,
        last_poll=polls.last() if polls else {},
        started_at=polls.started_at if polls else None,
        stages=progress.states() if progress else {},
    )


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # an aggregate that lost its column type on some drivers
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(name: str, kind: str, help_text: str,
            samples: Mapping[tuple[tuple[str, str], ...], float]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples.items():
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
        lines.append(f"{name}{{{label_text}}} {_number(value)}" if labels
                     else f"{name} {_number(value)}")
    return lines


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(snap: Snapshot) -> str:
    """The Prometheus text exposition of ``snap``."""
    polled = {s: at for s, at in snap.last_poll.items() if at is not None}
    stages = sorted(snap.stages.items())
    sources = [(name, state) for name, state in stages if not name.startswith("worker.")]
    lines = [
        *_family("buhdesk_messages_taken_in_total", "counter",
                 "Incoming messages stored, by source.",
                 {(("source", s),): n for s, n in sorted(snap.taken_in.items())}),
        *_family("buhdesk_requests", "gauge", "Requests by lifecycle state.",
                 {(("state", s),): n for s, n in sorted(snap.requests.items())}),
        *_family("buhdesk_outbox_pending", "gauge", "Outgoing messages waiting to be sent.",
                 {(): snap.outbox_pending}),
        *_family("buhdesk_outbox_oldest_pending_age_seconds", "gauge",
                 "Age of the oldest outgoing message still pending (0 when none).",
                 {(): round(snap.outbox_oldest_age, 3)}),
        *_family("buhdesk_held_messages", "gauge", "Messages held for a human, by direction.",
                 {(("direction", d),): n for d, n in sorted(snap.held.items())}),
        *_family("buhdesk_deadlines_missed", "gauge",
                 "Requests still owed an answer whose deadline has passed.",
                 {(): snap.deadlines_missed}),
        *_family("buhdesk_source_last_poll_timestamp_seconds", "gauge",
                 "Unix time of the last successful poll of each source (this process).",
                 {(("source", s),): round(at.timestamp(), 3) for s, at in sorted(polled.items())}),
        *_family("buhdesk_source_poll_age_seconds", "gauge",
                 "Seconds since the last successful poll (since start if never polled).",
                 {(("source", s),): round(snap.poll_age(s) or 0.0, 3)
                  for s in sorted(snap.last_poll)}),
        *_family("buhdesk_source_lag_seconds", "gauge",
                 "Seconds from the arrival to the intake of the oldest item of the last batch.",
                 {(("source", s),): round(st.lag, 3) for s, st in sources}),
        *_family("buhdesk_source_oldest_unprocessed_age_seconds", "gauge",
                 "Age of the oldest item seen at the source and not taken in yet (0 when none).",
                 {(("source", s),): round(st.oldest_age(snap.now), 3) for s, st in sources}),
        *_family("buhdesk_stage_failing", "gauge",
                 "1 while the stage's last attempt failed (sources by name, worker.<stage>).",
                 {(("stage", s),): int(st.failing_since is not None) for s, st in stages}),
        *_family("buhdesk_stage_stalled_seconds", "gauge",
                 "Seconds without progress while the stage has work (0 when it has none).",
                 {(("stage", s),): round(st.stalled_for(snap.now), 3) for s, st in stages}),
    ]
    return "\n".join(lines) + "\n"
