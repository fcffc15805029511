"""Every report kind in XLSX, written by the shared writer: bold frozen heading, autofilter,
column widths, numbers as numbers, dates as dates, and a native chart in the workbook."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from buhdesk.cli.command import main
from buhdesk.config import load_config
from buhdesk.cli.demo import run_demo
from buhdesk.reports.tables import Chart, Sheet, write_xlsx
from buhdesk.trust.keys import SURVEY_GROUP
from buhdesk.store.engine import make_engine
from buhdesk.feedback.settings import survey_settings
from buhdesk.feedback.tokens import (
    Submission,
    TokenLabels,
    hash_token,
    issue_token,
    period_of,
    record_answer,
)

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
    answer_the_survey(root)
    yield root
    os.environ.pop("BUHDESK_SECRET", None)
    if saved is not None:
        os.environ["BUHDESK_SECRET"] = saved


def answer_the_survey(root: Path) -> None:
    """One group of clients answers the survey through the form's own recording, enough of them
    for the group to be released into the reports (the demo's three answers are too few)."""
    cfg = load_config(root / "buhdesk.toml")
    settings = survey_settings(cfg)
    labels = TokenLabels("payroll", period_of(date.today(), settings.answer_period))
    engine = make_engine(cfg.store.url)
    with Session(engine) as session:
        for n in range(settings.min_group):
            token = issue_token(session, labels, date.today() + timedelta(days=30))
            assert record_answer(session, hash_token(token),
                                 Submission({"overall": 3 + n % 3}, ""),
                                 group_keys=cfg.keyring().keys(SURVEY_GROUP),
                                 min_group=settings.min_group)
        session.commit()
    engine.dispose()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_report_kind_has_a_proper_xlsx(workspace: Path, kind: str, tmp_path: Path) -> None:
    target = tmp_path / f"{kind}.xlsx"
    assert main(["--config", str(workspace / "buhdesk.toml"), "report", kind, *KINDS[kind],
                 "--format", "xlsx", "-o", str(target)]) == 0
    wb = load_workbook(target)
    assert any(ws._charts for ws in wb.worksheets), "no chart in the workbook"
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
