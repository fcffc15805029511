"""The unit head's weekly summary: the share of answers given on time, per process and per
accountant of the unit, over requests whose deadline fell in the previous week (Monday to
Sunday). A week that ended before the service started work (its first request or letter in the
store) has nothing to report and gets no summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.reports.sla import sla_report
from buhdesk.reports.sla_figures import GroupFigures, SlaReport
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Message, Request
from buhdesk.store.moments import as_utc


@dataclass(frozen=True)
class WeeklyRow:
    label: str
    total: int
    on_time: int
    late: int
    share: str  # «87,5 %» or «—»


@dataclass(frozen=True)
class WeeklySummary:
    start: date
    end: date
    total: WeeklyRow
    by_process: tuple[WeeklyRow, ...]
    by_accountant: tuple[WeeklyRow, ...]

    @property
    def empty(self) -> bool:
        return self.total.total == 0


def previous_week(today: date) -> tuple[date, date]:
    """Monday and Sunday of the week before ``today``'s."""
    monday = today - timedelta(days=today.weekday()) - timedelta(days=7)
    return monday, monday + timedelta(days=6)


def week_key(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _row(g: GroupFigures) -> WeeklyRow:
    share = f"{g.share * 100:.1f} %".replace(".", ",") if g.share is not None else "—"
    return WeeklyRow(g.label, g.total, g.on_time, g.late, share)


def _rows(report: SlaReport, name: str) -> tuple[WeeklyRow, ...]:
    dim = next(d for d in report.dimensions if d.name == name)
    return tuple(_row(g) for g in dim.rows)


def started_on(engine: Engine, tz: tzinfo) -> date | None:
    """The day the service started work: its first request or letter in the store (a restored
    backup keeps them, a fresh store has none: None). The store is the one record of it that no
    configuration edit or reinstallation of the program can move."""
    with Session(engine) as session:
        firsts = [session.execute(select(func.min(col(Request.created_at)))).scalar_one(),
                  session.execute(select(func.min(col(Message.created_at)))).scalar_one()]
    found = [as_utc(f) for f in firsts if f is not None]
    return min(found).astimezone(tz).date() if found else None


def collect_weekly(rt: Runtime, now: datetime, unit: str | None = None) -> WeeklySummary:
    """The summary for the head of ``unit`` (None: of the whole service)."""
    today = now.astimezone(rt.config.service.tz).date()
    start, end = previous_week(today)
    staff = None if unit is None else {m.login for m in rt.rules.staff.values() if m.unit == unit}
    report = sla_report(rt.engine, rt.rules, start, end, now=now, basis="due",
                        tz=rt.config.service.tz, assignees=staff)
    return WeeklySummary(start, end, _row(report.total), _rows(report, "process"),
                         _rows(report, "assignee"))
