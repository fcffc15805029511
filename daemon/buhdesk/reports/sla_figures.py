"""SLA figures from request times: on-time share, median and 90th percentile of the time to the
first answer and to closure, per group. Pure computation; :mod:`buhdesk.reports.sla` reads the
store.

A request counts as answered on time when its first answer (or, without an answer, its closure)
came no later than its deadline; late when it came later, or nothing came and the deadline has
passed; pending otherwise, and while the request waits on the client (its clock is stopped).
Requests without a deadline are counted but left out of the share.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

ON_TIME, LATE, PENDING, NO_DEADLINE = "on_time", "late", "pending", "no_deadline"
# The groupings of the report: the attribute of a request and the Russian heading.
DIMENSIONS = (
    ("process", "Процесс"),
    ("need", "Потребность"),
    ("channel", "Канал поступления"),
    ("assignee", "Сотрудник"),
)


class RequestTimes(NamedTuple):  # a tuple: a quarter of a large store is 250,000 of them
    number: str
    process: str | None
    need: str | None
    channel: str
    state: str
    assignee: str | None
    # moments as seconds since 1970, UTC (read in bulk: see buhdesk.reports.sla.load_times)
    created_at: float
    due_at: float | None
    first_answer_at: float | None
    closed_at: float | None

    def outcome(self, now: float) -> str:
        if self.due_at is None:
            return NO_DEADLINE
        resolved = self.first_answer_at if self.first_answer_at is not None else self.closed_at
        if resolved is not None:
            return ON_TIME if resolved <= self.due_at else LATE
        if self.state == "waiting":
            return PENDING
        return LATE if now > self.due_at else PENDING


@dataclass(frozen=True)
class GroupFigures:
    key: str
    label: str
    total: int
    on_time: int
    late: int
    pending: int
    no_deadline: int
    answered: int
    answer_median_h: float | None
    answer_p90_h: float | None
    closed: int
    close_median_h: float | None
    close_p90_h: float | None

    @property
    def decided(self) -> int:
        return self.on_time + self.late

    @property
    def share(self) -> float | None:
        """On-time share, 0..1, or None when no deadline has been decided yet."""
        return self.on_time / self.decided if self.decided else None


@dataclass(frozen=True)
class Dimension:
    name: str
    title: str
    rows: tuple[GroupFigures, ...]


@dataclass(frozen=True)
class SlaReport:
    start: date
    end: date
    basis: str  # "created": requests received in the period; "due": deadlines in the period
    generated_at: datetime
    total: GroupFigures
    dimensions: tuple[Dimension, ...]


def percentile(values: Sequence[float], q: float, *, ordered: bool = False) -> float | None:
    """Linear interpolation between closest ranks (as numpy's default); None for no values.
    ``ordered``: the values are sorted already."""
    if not values:
        return None
    ranked = values if ordered else sorted(values)
    pos = (len(ranked) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ranked[lo] + (ranked[hi] - ranked[lo]) * (pos - lo)


def _hours(a: float, b: float | None) -> float | None:
    return (b - a) / 3600 if b is not None else None


class Scored(NamedTuple):
    """A request's outcome and hours, worked out once for every grouping it falls in."""

    record: RequestTimes
    outcome: str
    answer_h: float | None
    close_h: float | None


def scored(records: Iterable[RequestTimes], now: float) -> list[Scored]:
    return [Scored(r, r.outcome(now), _hours(r.created_at, r.first_answer_at),
                   _hours(r.created_at, r.closed_at)) for r in records]


def figures(key: str, label: str, recs: Sequence[Scored]) -> GroupFigures:
    outcomes = [r.outcome for r in recs]
    answers = sorted(r.answer_h for r in recs if r.answer_h is not None)
    closes = sorted(r.close_h for r in recs if r.close_h is not None)
    return GroupFigures(
        key=key, label=label, total=len(recs),
        on_time=outcomes.count(ON_TIME), late=outcomes.count(LATE),
        pending=outcomes.count(PENDING), no_deadline=outcomes.count(NO_DEADLINE),
        answered=len(answers), answer_median_h=percentile(answers, 0.5, ordered=True),
        answer_p90_h=percentile(answers, 0.9, ordered=True), closed=len(closes),
        close_median_h=percentile(closes, 0.5, ordered=True),
        close_p90_h=percentile(closes, 0.9, ordered=True),
    )


def group_by(name: str, title: str, records: Sequence[Scored],
             label: Callable[[str | None], str]) -> Dimension:
    """Figures per value of ``name`` (a text field of RequestTimes), largest groups first."""
    keys: dict[str, list[Scored]] = {}
    index = RequestTimes._fields.index(name)
    for s in records:
        key = s.record[index]
        keys.setdefault(key if isinstance(key, str) else "", []).append(s)
    rows = [figures(k, label(k or None), v) for k, v in keys.items()]
    rows.sort(key=lambda g: (-g.total, g.label))
    return Dimension(name, title, tuple(rows))
