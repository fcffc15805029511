"""The SLA report (`buhdesk report sla`): timeliness of answers per process, need, channel and
accountant over a period, from the store; rendered to HTML (with a chart), CSV or XLSX.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from buhdesk.reply.outbox import CHANNEL_LABELS
from buhdesk.reports.sla_figures import RequestTimes, SlaReport, report_figures
from buhdesk.reports.sla_render import render_csv, render_html, render_xlsx
from buhdesk.rules.book import RuleBook
from buhdesk.store.models import Message, Request
from buhdesk.store.moments import as_utc, day_bounds, epoch_seconds

__all__ = ["BASES", "SlaReport", "render_csv", "render_html", "render_xlsx", "sla_report"]

BASES = ("created", "due")


# The first answer sent, per request: a correlated subquery, so that each request looks its
# answers up in the covering index ``ix_messages_request_direction_kind`` (a join lets the
# planner walk every outgoing letter instead, reading their rows).
_FIRST_ANSWER = (select(func.min(col(Message.created_at))).where(
    col(Message.request_id) == col(Request.id), col(Message.direction) == "out",
    col(Message.kind) == "answer").correlate(Request).scalar_subquery())


def load_times(engine: Engine, start: date, end: date, tz: ZoneInfo,
               basis: str = "created") -> list[RequestTimes]:
    """Requests received (``basis="created"``) or due (``"due"``) within ``[start, end]``."""
    return [RequestTimes._make(row) for row in _times(engine, start, end, tz, basis)]


def _times(engine: Engine, start: date, end: date, tz: ZoneInfo,
           basis: str) -> Sequence[Sequence[Any]]:
    """:func:`load_times` as the driver's plain tuples: moments as seconds since 1970, computed
    by the database, and the first answer (the request's own mark or the first answer letter,
    the earlier) chosen by it; a quarter of a large store is a quarter of a million rows."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}, got {basis!r}")
    lo, hi = day_bounds(start, end, tz)
    period = col(Request.created_at) if basis == "created" else col(Request.due_at)
    dialect = engine.dialect.name
    created, due, answered, closed, answer = (epoch_seconds(dialect, moment) for moment in (
        col(Request.created_at), col(Request.due_at), col(Request.answered_at),
        col(Request.closed_at), _FIRST_ANSWER))
    earlier = func.min if dialect == "sqlite" else func.least  # SQLite's min of two values
    stmt = select(
        col(Request.number), col(Request.process), col(Request.need), col(Request.channel),
        col(Request.state), col(Request.assignee), created, due,
        earlier(func.coalesce(answered, answer), func.coalesce(answer, answered)), closed,
    ).where(  # a merged request counts in the one it joined
        period >= lo, period < hi, col(Request.state) != "merged",
    )  # in no particular order: the figures do not depend on it
    with engine.connect() as conn:
        result = conn.execute(stmt)
        try:  # the driver's rows: no result row objects built for a quarter of a million
            return result.cursor.fetchall()
        finally:
            result.close()


def labels(rules: RuleBook) -> dict[str, Callable[[str | None], str]]:
    """Russian labels for each grouping's codes."""
    def person(login: str | None) -> str:
        member = rules.staff.get(login) if login else None
        return member.name if member else (login or "не назначен")

    return {
        "process": rules.process_label,
        "need": rules.need_label,
        "channel": lambda c: CHANNEL_LABELS.get(c, c) if c else "не указан",
        "assignee": person,
    }


def sla_report(engine: Engine, rules: RuleBook, start: date, end: date, *,
               now: datetime | None = None, basis: str = "created",
               tz: ZoneInfo | None = None,
               assignees: Collection[str] | None = None) -> SlaReport:
    """Figures for the period ``[start, end]`` (dates in the service's timezone, inclusive);
    with ``assignees``, of their requests only (a unit's summary)."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    tz = tz or rules.deadlines.time.hours.tz
    now = as_utc(now or datetime.now(UTC))
    rows = _times(engine, start, end, tz, basis)
    if assignees is not None:
        at = RequestTimes._fields.index("assignee")
        rows = [r for r in rows if r[at] in assignees]
    total, dimensions = report_figures(rows, now.timestamp(), labels(rules))
    return SlaReport(start=start, end=end, basis=basis, generated_at=now.astimezone(tz),
                     total=total, dimensions=dimensions)
