"""The satisfaction report: survey answers by quarter, process and channel, with small groups
suppressed (see :mod:`buhdesk.suppression`); HTML with charts, CSV and XLSX.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from buhdesk.outbox import CHANNEL_LABELS
from buhdesk.report_page import html_page, table_html
from buhdesk.suppression import Node, suppress
from buhdesk.survey import Survey
from buhdesk.survey_models import SurveyAnswer
from buhdesk.survey_tokens import quarter_of
from buhdesk.svgchart import bar_chart

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
        return round(sum(got) / len(got), 2)


@dataclass
class Group(Node):
    figures: Figures = field(default_factory=Figures)
    level: str = ""


@dataclass(frozen=True)
class SatisfactionReport:
    survey: Survey
    quarters: tuple[Group, ...]
    threshold: int
    start: date
    end: date


def quarters_between(start: date, end: date) -> list[str]:
    out, day = [], date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    while day <= end:
        out.append(quarter_of(day))
        day = date(day.year + (day.month > 9), (day.month + 2) % 12 + 1, 1)
    return out


def satisfaction_report(engine: Engine, survey: Survey, labels: Callable[[str], str],
                        start: date, end: date, *, threshold: int) -> SatisfactionReport:
    quarters = quarters_between(start, end)
    with Session(engine) as session:
        rows = session.execute(select(SurveyAnswer).where(
            SurveyAnswer.quarter.in_(quarters))).scalars().all()  # type: ignore[attr-defined]
    trees = [build_tree(q, [r for r in rows if r.quarter == q], labels) for q in quarters]
    for tree in trees:
        suppress(tree, threshold)
    return SatisfactionReport(survey, tuple(trees), threshold, start, end)


def build_tree(quarter: str, rows: Sequence[SurveyAnswer], labels: Callable[[str], str]) -> Group:
    root = Group(label=f"{quarter[-1]} квартал {quarter[:4]} г.", n=0, level="quarter")
    processes: dict[str, Group] = {}
    for row in rows:
        answers = json.loads(row.answers)
        proc = processes.setdefault(row.process, Group(label=labels(row.process), n=0,
                                                       level="process"))
        chan = next((c for c in proc.children if c.label == _channel(row.channel)), None)
        if chan is None:
            chan = Group(label=_channel(row.channel), n=0, level="channel")
            proc.children.append(chan)
        for group in (root, proc, chan):
            group.figures.add(answers)  # type: ignore[attr-defined]
            group.n += 1
    root.children = sorted(processes.values(), key=lambda g: g.label)  # type: ignore[arg-type]
    return root


def _channel(code: str) -> str:
    return CHANNEL_LABELS.get(code, code or "не указан")


def columns(survey: Survey) -> list[tuple[str, str, str]]:
    """(question id, heading, kind) of the figures shown."""
    return [(q.id, q.label + (", % «да»" if q.kind == "yesno" else ", средняя"), q.kind)
            for q in survey.questions if q.kind in ("scale", "yesno")]


def row_values(group: Group, survey: Survey) -> list[Any]:
    if group.hidden:
        return [HIDDEN] * (1 + len(columns(survey)))
    return [group.n, *(group.figures.figure(qid, kind) for qid, _, kind in columns(survey))]


def rows(report: SatisfactionReport) -> list[tuple[str, str, str, list[Any]]]:
    """(quarter, process, channel, values) — the flat table of CSV and XLSX."""
    out = []
    for q in report.quarters:
        out.append((q.label, "Все процессы", "все каналы", row_values(q, report.survey)))
        for p in q.children:
            out.append((q.label, p.label, "все каналы", row_values(p, report.survey)))  # type: ignore[arg-type]
            for c in p.children:
                out.append((q.label, p.label, c.label, row_values(c, report.survey)))  # type: ignore[arg-type]
    return out


def headings(report: SatisfactionReport) -> list[str]:
    return ["Квартал", "Процесс", "Канал", "Ответов", *(h for _, h, _ in columns(report.survey))]


def render_csv(report: SatisfactionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headings(report))
    for q, p, c, values in rows(report):
        writer.writerow([q, p, c, *("" if v is None else v for v in values)])
    return out.getvalue()


def render_xlsx(report: SatisfactionReport, path: Path) -> None:
    """The table, with a chart of the first figure (the overall rating) per row."""
    from buhdesk.report_tables import Chart, Sheet, write_xlsx

    table = [headings(report), *([q, p, c, *values] for q, p, c, values in rows(report))]
    write_xlsx([Sheet("Удовлетворённость", table,
                      Chart(headings(report)[4] if len(table[0]) > 4 else "Ответов", 2,
                            (5 if len(table[0]) > 4 else 4,)))], path)


def render_html(report: SatisfactionReport) -> str:
    title = (f"Удовлетворённость внутренних клиентов: {report.start:%d.%m.%Y} — "
             f"{report.end:%d.%m.%Y}")
    parts = [(f"<p>Средние оценки по шкале от 1 до 5 и доля ответов «да». Группы, в которых меньше "
             f"{report.threshold} ответов, скрыты, как и группы, по которым скрытую можно было бы "
             "вычислить из итогов: опрос анонимный.</p>")]
    for q in report.quarters:
        parts.append(f"<h2>{escape(q.label)}</h2>")
        if not q.n:
            parts.append("<p>Ответов нет.</p>")
            continue
        chart = [(p.label, None if p.hidden else p.figures.figure("overall", "scale"))  # type: ignore[attr-defined]
                 for p in q.children]
        parts.append(bar_chart(chart, title="Общая удовлетворённость по процессам (из 5)",
                               max_value=5.0, unit=""))
        body = [[p_label if c_label == "все каналы" else f"— {c_label}", *values]
                for _, p_label, c_label, values in rows(report) if _ == q.label][1:]
        total = [["Итого за квартал", *row_values(q, report.survey)]]
        parts.append(table_html(["Процесс / канал", *headings(report)[3:]], total + body))
    return html_page(title, parts)
