"""Satisfaction report: small groups are hidden, and so is whatever would let one compute them."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from buhdesk.feedback.satisfaction import render_csv, render_html, render_xlsx, satisfaction_report
from buhdesk.store.engine import open_store
from buhdesk.feedback.suppression import Node, suppress
from buhdesk.feedback.survey import load_survey
from buhdesk.feedback.models import SurveyAnswer
from buhdesk.feedback.settings import survey_settings

RULES = Path(__file__).resolve().parents[1] / "rules"


def derivable(root: Node) -> bool:
    """Can any hidden n be computed from a shown parent and shown children?"""
    for node in root.walk():
        kids = node.children
        hidden = [c for c in kids if c.hidden]
        if not node.hidden and len(hidden) == 1:
            return True
        if node.hidden and kids and not hidden:
            return True
    return False


def tree(cells: dict[str, dict[str, int]]) -> Node:
    procs = [Node(p, sum(ch.values()), [Node(c, n) for c, n in ch.items()])
             for p, ch in cells.items()]
    return Node("total", sum(p.n for p in procs), procs)


def test_small_cell_and_its_complement_are_hidden() -> None:
    root = tree({"payroll": {"email": 7, "phone": 2, "office": 6}, "travel": {"email": 9}})
    suppress(root, 5)
    payroll = root.children[0]
    hidden = {c.label for c in payroll.children if c.hidden}
    assert hidden == {"phone", "office"}  # office (the smallest other) protects phone
    assert not payroll.hidden and not root.hidden and not derivable(root)


def test_hidden_process_total_is_protected_at_every_level() -> None:
    root = tree({"payroll": {"email": 3}, "travel": {"email": 6, "phone": 5},
                 "facts": {"email": 20}})
    suppress(root, 5)
    assert root.children[0].hidden  # 3 < 5
    assert sum(p.hidden for p in root.children) >= 2
    assert not derivable(root)


def test_only_child_equal_to_parent_is_hidden_with_it() -> None:
    root = tree({"payroll": {"email": 2}, "travel": {"email": 10}})
    suppress(root, 5)
    assert not derivable(root) and root.children[0].hidden and root.children[1].hidden


def test_threshold_is_never_below_three(tmp_path, make_config, secret_env) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from buhdesk.config import load_config

    cfg = replace(load_config(make_config(tmp_path)), extra={"survey": {"min_group": 1}})
    assert survey_settings(cfg).min_group == 3


def fill(engine: Engine, cells: dict[tuple[str, str], int]) -> None:
    with Session(engine) as s:
        for (process, period), n in cells.items():
            for i in range(n):
                s.add(SurveyAnswer(id=secrets.token_hex(16), process=process, period=period,
                                   answers=json.dumps(
                                       {"overall": 1 + i % 5, "deadline": i % 2 == 0})))
        s.commit()


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def test_report_hides_small_groups_in_every_format(engine: Engine, tmp_path: Path) -> None:
    fill(engine, {("payroll", "2026-H2"): 15, ("travel", "2026-H2"): 2, ("facts", "2026-H2"): 6,
                  ("payroll", "2026-H1"): 9})
    report = satisfaction_report(engine, load_survey(RULES), lambda c: c, date(2026, 10, 1),
                                 date(2026, 12, 31), threshold=5)
    csv = render_csv(report).splitlines()
    travel = next(line for line in csv if ",travel," in line)
    facts = next(line for line in csv if ",facts," in line)
    assert ",2," not in travel and "скрыто" in travel and "скрыто" in facts
    assert any(line.startswith("2 полугодие 2026 г.,payroll,все каналы,15,") for line in csv)
    assert not any(line.startswith("1 полугодие") for line in csv), "outside the period"
    html = render_html(report)
    assert "<svg" in html and "скрыто" in html and 'lang="ru"' in html
    render_xlsx(report, tmp_path / "r.xlsx")
    values = [c.value for row in load_workbook(tmp_path / "r.xlsx").active.iter_rows()
              for c in row]
    assert "скрыто" in values and 2 not in values
