"""The satisfaction report: survey answers by period (quarter, half-year or year, as they were
stored) and process, with small groups suppressed (see :mod:`buhdesk.feedback.suppression`);
HTML with charts, CSV and XLSX. Answers carry no channel (it would narrow an answer to a few
requests), so the channel column says «все каналы».
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from buhdesk.feedback.models import SurveyAnswer
from buhdesk.feedback.suppression import Node, suppress
from buhdesk.feedback.survey import Survey
from buhdesk.feedback.tokens import period_bounds, period_title
from buhdesk.reports.frame import chart, render_report, table
from buhdesk.reports.svgchart import bar_chart

HIDDEN = "скрыто"


@dataclass
class Figures:
    """Answers of one group; ``values`` maps a question to the scores or yes/no given."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    n: int = 0

    def add(self, answers: dict[str, Any]) -> None:
        self.n += 1
        for qid, value in answers.items():
            self.values.setdefault(qid, []).append(value)

    def figure(self, qid: str, kind: str) -> float | None:
        got = self.values.get(qid, [])
        if not got:
            return None
        if kind == "yesno":
            return round(100.0 * sum(1 for v in got if v is True) / len(got), 1)
        return round(float(sum(got)) / len(got), 2)


@dataclass
class Group(Node):
    figures: Figures = field(default_factory=Figures)
    level: str = ""


@dataclass(frozen=True)
class SatisfactionReport:
    survey: Survey
    periods: tuple[Group, ...]
    threshold: int
    start: date
    end: date


def answers_between(engine: Engine, start: date, end: date) -> list[SurveyAnswer]:
    """Released answers whose period overlaps ``start``..``end``."""
    with Session(engine) as session:
        rows = session.execute(select(SurveyAnswer)).scalars().all()
    return [r for r in rows if _overlaps(period_bounds(r.period), start, end)]


def _overlaps(bounds: tuple[date, date], start: date, end: date) -> bool:
    return bounds[0] <= end and bounds[1] >= start


def satisfaction_report(engine: Engine, survey: Survey, labels: Callable[[str], str],
                        start: date, end: date, *, threshold: int) -> SatisfactionReport:
    rows = answers_between(engine, start, end)
    periods = sorted({r.period for r in rows}, key=period_bounds)
    trees = [build_tree(p, [r for r in rows if r.period == p], labels) for p in periods]
    for tree in trees:
        suppress(tree, threshold)
    return SatisfactionReport(survey, tuple(trees), threshold, start, end)


def build_tree(period: str, rows: Sequence[SurveyAnswer], labels: Callable[[str], str]) -> Group:
    root = Group(label=period_title(period), n=0, level="period")
    processes: dict[str, Group] = {}
    for row in rows:
        answers = json.loads(row.answers)
        proc = processes.setdefault(row.process, Group(label=labels(row.process), n=0,
                                                       level="process"))
        for group in (root, proc):
            group.figures.add(answers)
            group.n += 1
    root.children = sorted(processes.values(), key=lambda g: g.label)
    return root


def columns(survey: Survey) -> list[tuple[str, str, str]]:
    """(question id, heading, kind) of the figures shown."""
    return [(q.id, q.label + (", % «да»" if q.kind == "yesno" else ", средняя"), q.kind)
            for q in survey.questions if q.kind in ("scale", "yesno")]


def row_values(group: Group, survey: Survey) -> list[Any]:
    if group.hidden:
        return [HIDDEN] * (1 + len(columns(survey)))
    return [group.n, *(group.figures.figure(qid, kind) for qid, _, kind in columns(survey))]


def rows(report: SatisfactionReport) -> list[tuple[str, str, str, list[Any]]]:
    """(period, process, channel, values) — the flat table of CSV and XLSX."""
    out = []
    for q in report.periods:
        out.append((q.label, "Все процессы", "все каналы", row_values(q, report.survey)))
        for p in q.children:
            out.append((q.label, p.label, "все каналы", row_values(p, report.survey)))
            for c in p.children:
                out.append((q.label, p.label, c.label, row_values(c, report.survey)))
    return out


def headings(report: SatisfactionReport) -> list[str]:
    return ["Период", "Процесс", "Канал", "Ответов", *(h for _, h, _ in columns(report.survey))]


def render_csv(report: SatisfactionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headings(report))
    for q, p, c, values in rows(report):
        writer.writerow([q, p, c, *("" if v is None else v for v in values)])
    return out.getvalue()


def render_xlsx(report: SatisfactionReport, path: Path) -> None:
    """The table, with a chart of the first figure (the overall rating) per row."""
    from buhdesk.reports.tables import Chart, Sheet, write_xlsx

    table = [headings(report), *([q, p, c, *values] for q, p, c, values in rows(report))]
    write_xlsx([Sheet("Удовлетворённость", table,
                      Chart(headings(report)[4] if len(table[0]) > 4 else "Ответов", 2,
                            (5 if len(table[0]) > 4 else 4,)))], path)


def render_html(report: SatisfactionReport, templates_dir: Path | None = None) -> str:
    """The page of ``templates/reports/satisfaction.html.j2``: per period a chart of the overall
    rating by process and the table by process and channel."""
    periods = []
    for q in report.periods:
        if not q.n:
            periods.append({"label": q.label, "answered": False, "chart": None, "table": None})
            continue
        overall = [(p.label, None if p.hidden else p.figures.figure("overall", "scale"))
                   for p in q.children]
        body = [[p_label if c_label == "все каналы" else f"— {c_label}", *values]
                for _, p_label, c_label, values in rows(report) if _ == q.label][1:]
        total = [["Итого за период", *row_values(q, report.survey)]]
        periods.append({
            "label": q.label, "answered": True,
            "chart": chart(bar_chart(overall, title="Общая удовлетворённость по процессам (из 5)",
                                     max_value=5.0, unit="")),
            "table": table(["Процесс / канал", *headings(report)[3:]], total + body)})
    return render_report(
        "satisfaction", templates_dir,
        title=(f"Удовлетворённость внутренних клиентов: {report.start:%d.%m.%Y} — "
               f"{report.end:%d.%m.%Y}"),
        threshold=report.threshold, periods=periods)
