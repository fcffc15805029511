"""Writing report tables as CSV or XLSX. Every XLSX report goes through :func:`write_xlsx`: bold
frozen heading, autofilter, column widths, dates and times as real Excel dates with a Russian
number format, numbers as numbers, and a native bar chart where the sheet asks for one."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
MAX_WIDTH = 60


def write_rows_csv(rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


@dataclass(frozen=True)
class Chart:
    """A bar chart of ``value_columns`` (1-based) against the labels in ``label_column``."""

    title: str
    label_column: int
    value_columns: tuple[int, ...]
    y_title: str = ""


@dataclass(frozen=True)
class Sheet:
    """One worksheet: ``rows[0]`` is the heading."""

    title: str
    rows: Sequence[Sequence[object]]
    chart: Chart | None = None
    notes: Sequence[str] = ()  # lines under the table (the period, what was counted)


def write_rows_xlsx(rows: Sequence[Sequence[object]], path: Path, title: str,
                    chart: Chart | None = None) -> None:
    """One table on one sheet (see :func:`write_xlsx`)."""
    write_xlsx([Sheet(title, rows, chart)], path)


def _cell_value(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones: the caller gives local time
    return value


def write_xlsx(sheets: Sequence[Sheet], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.worksheets[0])  # the default sheet: every sheet here is named by the caller
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title[:31])
        widths: dict[int, int] = {}
        for row in sheet.rows:
            ws.append([_cell_value(v) for v in row])
            for column, value in enumerate(row, start=1):
                shown = (16 if isinstance(value, datetime) else 10 if isinstance(value, date)
                         else len(str(value)) if value is not None else 0)
                widths[column] = max(widths.get(column, 0), shown)
        for column_cells in ws.iter_cols(min_row=2):
            for cell in column_cells:
                if isinstance(cell.value, datetime):
                    cell.number_format = DATETIME_FORMAT
                elif isinstance(cell.value, date):
                    cell.number_format = DATE_FORMAT
                elif isinstance(cell.value, float):
                    cell.number_format = "0.0"
        if sheet.rows:
            for cell in ws[1]:
                cell.font = Font(bold=True)
            ws.freeze_panes = "A2"
            ws.auto_filter.ref = ws.dimensions
        for note in sheet.notes:
            ws.append([])
            ws.append([note])
        for column, width in widths.items():
            ws.column_dimensions[get_column_letter(column)].width = min(width + 2, MAX_WIDTH)
        if sheet.chart is not None and len(sheet.rows) > 1:
            _add_chart(ws, sheet.chart, len(sheet.rows), len(widths))
    wb.save(Path(path))


def _add_chart(ws: Worksheet, chart: Chart, rows: int, columns: int) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.utils import get_column_letter

    bar = BarChart()
    bar.type = "bar"
    bar.title = chart.title
    bar.y_axis.title = chart.y_title
    bar.height = max(7.5, 0.8 * rows)
    bar.width = 18
    for column in chart.value_columns:
        bar.add_data(Reference(ws, min_col=column, min_row=1, max_row=rows), titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=chart.label_column, min_row=2, max_row=rows))
    ws.add_chart(bar, f"{get_column_letter(columns + 2)}2")
