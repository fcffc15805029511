"""Report charts draw good outcomes in green: a high share where higher is better, a low share
where lower is better (overdue, low ratings), and no red at all for figures without a target."""

from __future__ import annotations

import re
from datetime import date

from buhdesk.kb.report import ArticleFigures, KbReport, render_html
from buhdesk.reports.svgchart import NEUTRAL, bar_chart

GREEN, RED = "#2e7d32", "#c62828"


def fills(svg: str) -> list[str]:
    return [f for f in re.findall(r'fill="(#[0-9a-f]{6})"', svg) if f not in ("#eeeeee", "#666666")]


def test_higher_is_better_by_default() -> None:
    assert fills(bar_chart([("в срок", 95.0), ("поздно", 40.0)], title="т")) == [GREEN, RED]


def test_lower_is_better_for_overdue_shares() -> None:
    svg = bar_chart([("мало просрочек", 5.0), ("много", 60.0)], title="т", scale="lower-better")
    assert fills(svg) == [GREEN, RED]


def test_knowledge_base_success_is_never_red() -> None:
    report = KbReport(date(2026, 11, 1), date(2026, 11, 30), articles=[
        ArticleFigures("a", "Справка 2-НДФЛ", offered=3, requests=3, closed=3,
                       closed_without_followup=2),
        ArticleFigures("b", "Табель", offered=5, requests=5, closed=5, closed_without_followup=1)])
    chart = render_html(report).split("<svg", 1)[1].split("</svg>", 1)[0]
    assert RED not in chart and fills(chart) == [NEUTRAL, NEUTRAL]
