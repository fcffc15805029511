"""Rendering the SLA report: HTML with inline SVG charts, CSV, XLSX. Headings are Russian."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from buhdesk.reports.frame import Cell, Table, chart, render_report
from buhdesk.reports.sla_figures import GroupFigures, SlaReport
from buhdesk.reports.svgchart import bar_chart

Value = int | float | None
BASIS_TEXT = {
    "created": "обращения, поступившие в период",
    "due": "обращения со сроком ответа в период",
}


def _pct(g: GroupFigures) -> float | None:
    return round(g.share * 100, 1) if g.share is not None else None


def _h(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


# The table's columns, once for every format: heading and how to get the value.
COLUMNS: tuple[tuple[str, Callable[[GroupFigures], Value]], ...] = (
    ("Обращений", lambda g: g.total),
    ("В срок", lambda g: g.on_time),
    ("С нарушением срока", lambda g: g.late),
    ("Срок не наступил или ждёт заявителя", lambda g: g.pending),
    ("Без срока", lambda g: g.no_deadline),
    ("Доля в срок, %", _pct),
    ("Первый ответ: медиана, ч", lambda g: _h(g.answer_median_h)),
    ("Первый ответ: 90-й процентиль, ч", lambda g: _h(g.answer_p90_h)),
    ("Закрыто", lambda g: g.closed),
    ("Закрытие: медиана, ч", lambda g: _h(g.close_median_h)),
    ("Закрытие: 90-й процентиль, ч", lambda g: _h(g.close_p90_h)),
)


def title(report: SlaReport) -> str:
    return (f"Соблюдение сроков ответа на обращения с {report.start:%d.%m.%Y} "
            f"по {report.end:%d.%m.%Y}")


def _cell(value: Value) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}".replace(".", ",") if isinstance(value, float) else str(value)


def _table(first: str, rows: tuple[GroupFigures, ...]) -> Table:
    return Table((first, *(c for c, _ in COLUMNS)), tuple(
        (Cell(g.label), *(Cell(_cell(get(g)), num=True) for _, get in COLUMNS)) for g in rows))


def render_html(report: SlaReport, templates_dir: Path | None = None) -> str:
    """A standalone HTML page (``templates/reports/sla.html.j2``): totals, then a chart and a
    table per grouping."""
    generated = report.generated_at.strftime("%d.%m.%Y %H:%M")
    intro = (f"Учтены {BASIS_TEXT[report.basis]}. Отчёт составлен {generated}. Ответ в "
             "срок — первый ответ клиенту (или закрытие обращения без ответа) не позднее срока; с "
             "нарушением — позже срока или ещё не отправлен, хотя срок истёк; пока обращение ждёт "
             "сведений от заявителя, срок не считается. Время — в часах от поступления обращения.")
    dimensions = [{"title": d.title, "table": _table(d.title, d.rows),
                   "chart": chart(bar_chart([(g.label, _pct(g)) for g in d.rows],
                                            title=f"Доля ответов в срок — {d.title.lower()}"))}
                  for d in report.dimensions]
    return render_report("sla", templates_dir, title=title(report), intro=intro,
                         total=_table("Итого", (report.total,)), dimensions=dimensions)


def _rows(report: SlaReport) -> list[tuple[str, GroupFigures]]:
    return [("Итого", report.total)] + [(d.title, g) for d in report.dimensions for g in d.rows]


def render_csv(report: SlaReport) -> str:
    """One table: grouping, group, then the figures (dot decimals, empty when unknown)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Разрез", "Группа", *(h for h, _ in COLUMNS)])
    for section, g in _rows(report):
        values = [get(g) for _, get in COLUMNS]
        writer.writerow([section, g.label, *("" if v is None else v for v in values)])
    return out.getvalue()


def render_xlsx(report: SlaReport, path: Path) -> None:
    """A workbook: a summary sheet and one sheet per grouping, each grouping with its chart of
    the share answered on time."""
    from buhdesk.reports.tables import Chart, Sheet, write_xlsx

    heads = [h for h, _ in COLUMNS]
    share = 2 + heads.index("Доля в срок, %")

    def table(first: str, rows: tuple[GroupFigures, ...]) -> list[list[Any]]:
        return [[first, *heads], *([g.label, *(get(g) for _, get in COLUMNS)] for g in rows)]

    notes = (title(report), f"Учтены {BASIS_TEXT[report.basis]}.")
    write_xlsx([Sheet("Итого", table("Итого", (report.total,)), notes=notes),
                *(Sheet(d.title, table(d.title, d.rows), Chart("Доля в срок, %", 1, (share,)))
                  for d in report.dimensions)], path)
