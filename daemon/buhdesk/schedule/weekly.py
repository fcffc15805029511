"""The unit head's weekly summary: the share of answers given on time, per process and per
accountant, over requests whose deadline fell in the previous week (Monday to Sunday).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from buhdesk.reports.sla import sla_report
from buhdesk.reports.sla_figures import GroupFigures, SlaReport
from buhdesk.service.runtime import Runtime


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


def collect_weekly(rt: Runtime, now: datetime) -> WeeklySummary:
    today = now.astimezone(rt.config.service.tz).date()
    start, end = previous_week(today)
    report = sla_report(rt.engine, rt.rules, start, end, now=now, basis="due",
                        tz=rt.config.service.tz)
    return WeeklySummary(start, end, _row(report.total), _rows(report, "process"),
                         _rows(report, "assignee"))
