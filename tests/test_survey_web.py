"""The survey page: a link opens an accessible Russian form, an answer is recorded once, and
used, expired, unknown and forged submissions get a friendly refusal."""

from __future__ import annotations

import json
import logging
import re
import warnings
from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from buhdesk.service.runner import Daemon
from buhdesk.feedback.models import SurveyAnswer, SurveyPending
from buhdesk.feedback.tokens import TokenLabels, issue_token
from buhdesk.feedback.settings import survey_settings
from buhdesk.web.app import create_app
from buhdesk.web.guards import RateLimiter

with warnings.catch_warnings():  # starlette 1.x prefers httpx2; httpx works the same here
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient

GOOD = {"q_overall": "4", "q_deadline": "yes", "q_clarity": "5", "q_politeness": "5",
        "q_ease": "3", "q_improve": "Отвечать быстрее в конце года"}


@pytest.fixture
def rt(daemon: Daemon):  # type: ignore[no-untyped-def]
    SQLModel.metadata.create_all(daemon.rt.engine)
    return daemon.rt


def token_for(rt, valid_until: date = date(2027, 2, 14),  # type: ignore[no-untyped-def]
              process: str = "payroll") -> str:
    with Session(rt.engine) as s:
        token = issue_token(s, TokenLabels(process, "2026-H2"), valid_until)
        s.commit()
    return token


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page))


def answers(rt) -> list[SurveyAnswer | SurveyPending]:  # type: ignore[no-untyped-def]
    """Every answer stored, waiting or released."""
    with Session(rt.engine) as s:
        return [*s.execute(select(SurveyPending)).scalars(),
                *s.execute(select(SurveyAnswer)).scalars()]


def answer(client: TestClient, token: str, **values: str) -> int:
    form = hidden(client.get(f"/survey/{token}").text)
    return client.post("/survey", data={**form, **GOOD, **values},
                       follow_redirects=False).status_code


def test_form_is_accessible_russian_and_script_free(rt) -> None:  # type: ignore[no-untyped-def]
    page = TestClient(create_app(rt)).get(f"/survey/{token_for(rt)}")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="ru">' in html and 'name="viewport"' in html
    assert "<script" not in html.lower()
    assert html.count("<fieldset") == html.count("<legend") == 6
    for field_id in re.findall(r'<input type="radio" id="([^"]+)"', html):
        assert f'<label for="{field_id}">' in html
    assert "Что нам улучшить?" in html and "Ответ пришёл в обещанный срок?" in html
    assert page.headers["referrer-policy"] == "no-referrer"


def test_answer_is_recorded_once_and_the_link_then_refused(rt) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(rt))
    token = token_for(rt)
    form = hidden(client.get(f"/survey/{token}").text)
    done = client.post("/survey", data={**form, **GOOD}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/survey/thanks"
    assert "Спасибо" in client.get("/survey/thanks").text
    [stored] = answers(rt)
    assert json.loads(stored.answers) == {"overall": 4, "deadline": True, "clarity": 5,
                                          "politeness": 5, "ease": 3}
    assert stored.comment == GOOD["q_improve"]
    again = client.get(f"/survey/{token}")
    assert again.status_code == 410 and "уже" in again.text
    twice = client.post("/survey", data={**form, **GOOD})
    assert twice.status_code == 410 and len(answers(rt)) == 1


def test_double_submission_of_one_form_stores_one_answer(rt) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(rt))
    form = hidden(client.get(f"/survey/{token_for(rt)}").text)
    codes = [client.post("/survey", data={**form, **GOOD}, follow_redirects=False).status_code
             for _ in range(2)]
    assert codes == [303, 410] and len(answers(rt)) == 1


def test_missing_answers_are_named_and_nothing_is_stored(rt) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(rt))
    form = hidden(client.get(f"/survey/{token_for(rt)}").text)
    page = client.post("/survey", data={**form, "q_overall": "9", "q_clarity": "4"})
    assert page.status_code == 400
    assert "Ответьте, пожалуйста, на этот вопрос." in page.text
    assert "Выберите один из предложенных вариантов." in page.text
    assert re.search(r'id="q_clarity-4"[^>]*checked', page.text)  # the choice is kept
    assert answers(rt) == []


def test_forged_forms_are_refused(rt) -> None:  # type: ignore[no-untyped-def]
    app = create_app(rt)
    token, other = token_for(rt), token_for(rt)
    client = TestClient(app)
    form = hidden(client.get(f"/survey/{token}").text)
    no_cookie = TestClient(app).post("/survey", data={**form, **GOOD})
    assert no_cookie.status_code == 403 and "Форма устарела" in no_cookie.text
    wrong_sig = client.post("/survey", data={**form, **GOOD, "signature": "0" * 64})
    assert wrong_sig.status_code == 403
    other_form = hidden(client.get(f"/survey/{other}").text)  # also resets the cookie
    swapped = client.post("/survey", data={**other_form, **GOOD, "token": token})
    assert swapped.status_code == 403
    assert answers(rt) == []


def test_unknown_and_expired_links_get_friendly_pages(rt) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(rt))
    unknown = client.get("/survey/" + "A" * 32)
    assert unknown.status_code == 404 and "Ссылка не найдена" in unknown.text
    expired = client.get(f"/survey/{token_for(rt, date(2025, 5, 15))}")
    assert expired.status_code == 410 and "Срок опроса истёк" in expired.text


def test_submissions_are_rate_limited(rt) -> None:  # type: ignore[no-untyped-def]
    now = [0.0]
    client = TestClient(create_app(rt, limiter=RateLimiter(capacity=2, per_minute=1,
                                                           clock=lambda: now[0])))
    codes = [client.post("/survey", data={"token": "x"}).status_code for _ in range(3)]
    assert codes == [404, 404, 429]
    now[0] += 60.0
    assert client.post("/survey", data={"token": "x"}).status_code == 404


def test_healthz(rt) -> None:  # type: ignore[no-untyped-def]
    got = TestClient(create_app(rt)).get("/healthz")
    assert got.status_code == 200 and got.json() == {"status": "ok"}


def test_nothing_logged_holds_the_token_or_the_address(rt, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    client = TestClient(create_app(rt))
    token = token_for(rt)
    form = hidden(client.get(f"/survey/{token}").text)
    client.post("/survey", data={**form, **GOOD})
    server_side = "\n".join(r.getMessage() for r in caplog.records
                            if not r.name.startswith("httpx"))  # httpx is the test's client
    assert "an answer was recorded" in server_side
    assert token not in server_side and "testclient" not in server_side


def test_extra_routes_are_served_beside_the_survey(rt) -> None:  # type: ignore[no-untyped-def]
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def kb(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("база знаний")

    client = TestClient(create_app(rt, extra_routes=[Route("/kb", kb)]))
    assert client.get("/kb").text == "база знаний"


def test_answers_wait_sealed_until_their_group_is_big_enough(rt) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(create_app(rt, limiter=RateLimiter(capacity=100)))
    k = survey_settings(rt.config).min_group
    other = token_for(rt, process="travel")
    assert answer(client, other) == 303
    for i in range(k - 1):
        assert answer(client, token_for(rt), q_overall=str(1 + i % 5)) == 303
    with Session(rt.engine) as s:
        waiting = list(s.execute(select(SurveyPending)).scalars())
        assert s.execute(select(SurveyAnswer)).first() is None
    assert len(waiting) == k
    assert not {"payroll", "travel", "2026-H2"} & {w.sealed for w in waiting}
    assert len({w.sealed for w in waiting}) == 2  # two groups, neither readable
    assert answer(client, token_for(rt)) == 303  # the k-th answer of payroll releases the group
    with Session(rt.engine) as s:
        released = list(s.execute(select(SurveyAnswer)).scalars())
        [left] = s.execute(select(SurveyPending)).scalars().all()
    assert len(released) == k and {(a.process, a.period) for a in released} == {
        ("payroll", "2026-H2")}
    assert left.sealed in {w.sealed for w in waiting}  # travel still waits
    assert len({a.id for a in released} & {w.id for w in waiting}) == 0  # fresh keys
