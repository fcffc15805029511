"""Every report kind in XLSX, written by the shared writer: bold frozen heading, autofilter,
column widths, numbers as numbers, dates as dates, and a native chart in the workbook."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from buhdesk.cli import main
from buhdesk.demo import run_demo
from buhdesk.report_tables import Chart, Sheet, write_xlsx

YEAR = date.today().year  # the demo registers its letters today: the period spans its year
PERIOD = ["--from", f"{YEAR - 1}-01-01", "--to", f"{YEAR + 1}-12-31"]
KINDS = {"sla": PERIOD, "satisfaction": PERIOD, "painmap": PERIOD, "kb": PERIOD,
         "routing": PERIOD, "touchpoints": []}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    saved = os.environ.pop("BUHDESK_SECRET", None)
    root = tmp_path_factory.mktemp("reports") / "demo"
    run_demo(root, out=io.StringIO())
    # a request passed to a colleague: the routing report has a misroute to chart
    assert main(["--config", str(root / "buhdesk.toml"), "transfer", f"БУХ-{YEAR}-000005",
                 "petrova", "--actor", "ivanova"]) == 0
    yield root
    os.environ.pop("BUHDESK_SECRET", None)
    if saved is not None:
        os.environ["BUHDESK_SECRET"] = saved


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_report_kind_has_a_proper_xlsx(workspace: Path, kind: str, tmp_path: Path) -> None:
    target = tmp_path / f"{kind}.xlsx"
    assert main(["--config", str(workspace / "buhdesk.toml"), "report", kind, *KINDS[kind],
                 "--format", "xlsx", "-o", str(target)]) == 0
    wb = load_workbook(target)
    assert any(ws._charts for ws in wb.worksheets), "no chart in the workbook"  # noqa: SLF001
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref, ws.title
        assert all(c.font.bold for c in ws[1] if c.value is not None), ws.title
        assert ws.column_dimensions["A"].customWidth, ws.title  # widths set from the contents


def test_the_writer_keeps_types_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    write_xlsx([Sheet("Лист", [["Когда", "День", "Доля, %", "Сколько"],
                                [datetime(2026, 11, 27, 16, 45), date(2026, 11, 27), 87.5, 3]],
                      Chart("Доля", 1, (3,)))], path)
    ws = load_workbook(path)["Лист"]
    when, day, share, count = (c for c in ws[2])
    assert isinstance(when.value, datetime) and when.number_format == "DD.MM.YYYY HH:MM"
    assert isinstance(day.value, datetime) and day.number_format == "DD.MM.YYYY"
    assert share.value == 87.5 and count.value == 3 and ws.auto_filter.ref == "A1:D2"
