"""The «карта болей», the touchpoint registry and the survey definition: shipped files load,
broken ones are reported with file and line, and the figures come from the data."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from buhdesk.feedback.painmap import collect_painmap, load_measures, render_html
from buhdesk.rules.problems import RuleSetError
from buhdesk.store.engine import open_store
from buhdesk.feedback.survey import load_survey
from buhdesk.feedback.models import SurveyAnswer
from buhdesk.reports.touchpoints import load_touchpoints, render_csv
from buhdesk.reports.touchpoints import render_html as touch_html

RULES = Path(__file__).resolve().parents[1] / "rules"
CODES = {"payroll", "travel", "timesheet", "reporting", "facts", "info_on_demand",
         "external_reporting"}


def test_touchpoints_hold_every_row_of_the_appendix() -> None:
    items = load_touchpoints(RULES, CODES)
    assert len(items) == 9
    assert [t.number for t in items if t.number] == ["1.", "2."]
    assert items[6].feature == "Взаимодействие в офлайн-точке"
    assert "ОСФР по больничным листам" in items[-1].interaction
    csv = render_csv(items)
    assert csv.count("\r\n") == 10
    assert "Перечень точек взаимодействия" in touch_html(items)


def test_painmap_file_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "painmap.toml").write_text(
        '[[measure]]\nprocess = "payroll"\nproblem = "п"\nmeasure = "м"\nowner = "о"\n'
        'deadline = "скоро"\nstatus = "когда-нибудь"\n', encoding="utf-8")
    with pytest.raises(RuleSetError) as e:
        load_measures(tmp_path, CODES)
    text = str(e.value)
    assert "painmap.toml:6: мере № 1: срок «deadline»" in text
    assert "painmap.toml:7:" in text and "когда-нибудь" in text


def test_survey_file_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "survey.toml").write_text(
        '[survey]\ntitle = "Опрос"\n\n[[question]]\nid = "a"\nkind = "stars"\ntext = "?"\n',
        encoding="utf-8")
    with pytest.raises(RuleSetError, match=r"survey.toml:6: вопросе № 1: неизвестный вид"):
        load_survey(tmp_path)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def test_painmap_finds_low_scores_and_comment_themes(engine: Engine) -> None:
    comments = ["Долго ждала справку, справку выдали с ошибкой",
                "Справку пришлось ждать две недели", "Непонятный ответ про справку", "", ""]
    with Session(engine) as s:
        for i, comment in enumerate(comments):
            s.add(SurveyAnswer(id=secrets.token_hex(16), process="payroll",
                               period="2026-H2", comment=comment, answers=json.dumps(
                                   {"overall": 1 if i < 3 else 5, "deadline": i >= 2})))
        s.commit()
    survey = load_survey(RULES)
    pains = collect_painmap(engine, survey, {"payroll": "Зарплата", "travel": "Командировки"},
                            load_measures(RULES, CODES), date(2026, 10, 1), date(2026, 12, 31),
                            now=datetime(2026, 12, 1, tzinfo=UTC), tz=ZoneInfo("Europe/Moscow"),
                            threshold=5)
    payroll = next(p for p in pains if p.code == "payroll")
    assert payroll.low_shares["Общая удовлетворённость"] == 60.0
    assert ("справка", 3) in payroll.themes and ("ждать", 2) in payroll.themes
    assert any("справка (3)" in x for x in payroll.problems())
    assert payroll.measures and all(m.process == "payroll" for m in payroll.measures)
    html = render_html(pains, date(2026, 10, 1), date(2026, 12, 31), 5)
    assert "<svg" in html and "Мероприятия" in html
    # below the threshold nothing from the survey is shown
    fewer = collect_painmap(engine, survey, {"payroll": "Зарплата"}, [], date(2026, 10, 1),
                            date(2026, 12, 31), now=datetime(2026, 12, 1, tzinfo=UTC),
                            tz=ZoneInfo("Europe/Moscow"), threshold=6)
    assert not fewer[0].shown and not fewer[0].themes and not fewer[0].low_shares
