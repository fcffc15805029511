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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple

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
        return _OUTCOMES[outcome_code(self.state, self.due_at, self.first_answer_at,
                                      self.closed_at, now)]


_OUTCOMES = (ON_TIME, LATE, PENDING, NO_DEADLINE)
_STATE, _CREATED, _DUE, _ANSWERED, _CLOSED = (RequestTimes._fields.index(f) for f in (
    "state", "created_at", "due_at", "first_answer_at", "closed_at"))


def outcome_code(state: str, due: float | None, answered: float | None, closed: float | None,
                 now: float) -> int:
    """The request's outcome as an index of ``_OUTCOMES`` (see the module's text)."""
    if due is None:
        return 3
    resolved = answered if answered is not None else closed
    if resolved is not None:
        return 0 if resolved <= due else 1
    if state == "waiting":
        return 2
    return 1 if now > due else 2


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


def report_figures(rows: Sequence[Sequence[Any]], now: float,
                   labels: Mapping[str, Callable[[str | None], str]]
                   ) -> tuple[GroupFigures, tuple[Dimension, ...]]:
    """The figures of all requests and of each grouping of :data:`DIMENSIONS`. ``rows`` are
    request times as plain tuples in the order of :class:`RequestTimes`' fields.

    Built for a quarter of a large store (a quarter of a million rows): one pass scores each
    request into the bucket of its combination of groupings (a few hundred of them), whose hours
    are sorted once; a group is then the merge of its buckets (sorted runs, which the sort
    merges in linear time), with their counts added up."""
    buckets: dict[tuple[str | None, ...], _Bucket] = {}
    for r in rows:  # the loop of a quarter of a million: kept to what each row needs
        key = _grouping(r)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = _Bucket()
        answered, closed = r[_ANSWERED], r[_CLOSED]
        bucket.outcomes[outcome_code(r[_STATE], r[_DUE], answered, closed, now)] += 1
        if answered is not None:
            bucket.answers.append((answered - r[_CREATED]) / 3600)
        if closed is not None:
            bucket.closes.append((closed - r[_CREATED]) / 3600)
    for bucket in buckets.values():
        bucket.answers.sort()
        bucket.closes.sort()
    total = _figures("", "Всего", buckets.values())
    dimensions = []
    for d, (name, title) in enumerate(DIMENSIONS):
        groups: dict[str, list[_Bucket]] = {}
        for key, bucket in buckets.items():
            groups.setdefault(key[d] or "", []).append(bucket)
        rows_of = [_figures(key, labels[name](key or None), found)
                   for key, found in groups.items()]
        rows_of.sort(key=lambda g: (-g.total, g.label))
        dimensions.append(Dimension(name, title, tuple(rows_of)))
    return total, tuple(dimensions)


# a row's values of the groupings, in the order of DIMENSIONS
_grouping = itemgetter(*(RequestTimes._fields.index(name) for name, _ in DIMENSIONS))


class _Bucket:
    """The requests of one combination of groupings: outcome counts and hours (to the first
    answer, to closure)."""

    __slots__ = ("answers", "closes", "outcomes")

    def __init__(self) -> None:
        self.outcomes = [0] * len(_OUTCOMES)
        self.answers: list[float] = []
        self.closes: list[float] = []


def _figures(key: str, label: str, buckets: Iterable[_Bucket]) -> GroupFigures:
    """A group's figures from its buckets."""
    found = list(buckets)
    outcomes = [sum(b.outcomes[i] for b in found) for i in range(len(_OUTCOMES))]
    answers = sorted(chain.from_iterable(b.answers for b in found))
    closes = sorted(chain.from_iterable(b.closes for b in found))
    return GroupFigures(
        key=key, label=label, total=sum(outcomes),
        on_time=outcomes[0], late=outcomes[1], pending=outcomes[2], no_deadline=outcomes[3],
        answered=len(answers), answer_median_h=percentile(answers, 0.5, ordered=True),
        answer_p90_h=percentile(answers, 0.9, ordered=True), closed=len(closes),
        close_median_h=percentile(closes, 0.5, ordered=True),
        close_p90_h=percentile(closes, 0.9, ordered=True),
    )
