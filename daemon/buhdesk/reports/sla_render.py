"""Rendering the SLA report: HTML with inline SVG charts, CSV, XLSX. Headings are Russian."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from buhdesk.reports.sla_figures import Dimension, GroupFigures, SlaReport
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


def _html_table(first: str, rows: tuple[GroupFigures, ...]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in (first, *(c for c, _ in COLUMNS)))
    body = "".join(
        "<tr><td>" + escape(g.label) + "</td>"
        + "".join(f"<td class=\"n\">{_cell(get(g))}</td>" for _, get in COLUMNS) + "</tr>"
        for g in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_dimension(d: Dimension) -> str:
    chart = bar_chart([(g.label, _pct(g)) for g in d.rows],
                      title=f"Доля ответов в срок — {d.title.lower()}")
    return f"<h2>{escape(d.title)}</h2>\n<figure>{chart}</figure>\n{_html_table(d.title, d.rows)}"


STYLE = """body { font-family: Arial, sans-serif; font-size: 14px; color: #222; margin: 24px; }
table { border-collapse: collapse; margin: 8px 0 24px; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eee; } td.n { text-align: right; white-space: nowrap; }
figure { margin: 8px 0; }"""


def render_html(report: SlaReport) -> str:
    """A standalone HTML page: totals, then a chart and a table per grouping."""
    heading = escape(title(report))
    generated = report.generated_at.strftime("%d.%m.%Y %H:%M")
    parts = [
        (f'<!DOCTYPE html>\n<html lang="ru">\n<head>\n<meta charset="utf-8">\n<title>{heading}'
        f"</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>"),
        f"<h1>{heading}</h1>",
        (f"<p>Учтены {escape(BASIS_TEXT[report.basis])}. Отчёт составлен {generated}. Ответ в "
        "срок — первый ответ клиенту (или закрытие обращения без ответа) не позднее срока; с "
        "нарушением — позже срока или ещё не отправлен, хотя срок истёк; пока обращение ждёт "
        "сведений от заявителя, срок не считается. Время — в часах от поступления обращения.</p>"),
        _html_table("Итого", (report.total,)),
        *(_html_dimension(d) for d in report.dimensions),
        "</body>\n</html>\n",
    ]
    return "\n".join(parts)


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
