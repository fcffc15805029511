"""The conversation as people write it, end to end over Dovecot and the SMTP relay: a late
answer after «#закрыть», thanks after closing, reopening by the accountant's choice."""

from __future__ import annotations

import pytest
from test_answers_integration import CLEAN, Desk, body_of, desk, wait_until  # noqa: F401

pytestmark = pytest.mark.integration


def closed_with_answer(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    desk.accountant_replies(notice, CLEAN + "\n#закрыть")
    desk.client.wait_for("Ответ на обращение")
    wait_until(lambda: desk.request().state == "closed", what="the request closed")


def test_answer_after_closing_reaches_the_client_and_the_request_stays_closed(
        desk: Desk) -> None:
    closed_with_answer(desk)
    notice = desk.accountant.wait_for("Новое обращение")
    desk.accountant_replies(notice, "Дополнительно сообщаем: копия справки направлена "
                                    "в вашу организацию курьером.")
    late = desk.client.wait_for("Ответ на обращение", count=2)
    assert "курьером" in body_of(late)
    wait_until(lambda: bool(desk.events("answered-after-close")), what="the late answer recorded")
    assert desk.request().state == "closed" and desk.request().closed_at is not None
    assert not desk.events("held")


def test_the_accountant_reopens_a_closed_request_by_choice(desk: Desk) -> None:
    closed_with_answer(desk)
    notice = desk.accountant.wait_for("Новое обращение")
    desk.accountant_replies(notice, "В справке обнаружена неточность, подготовим новую "
                                    "к пятнице.\n#открыть")
    desk.client.wait_for("Ответ на обращение", count=2)
    wait_until(lambda: desk.request().state == "answered", what="the request reopened")
    assert desk.request().closed_at is None
    assert desk.events("reopened")


def test_thanks_after_closing_is_recorded_without_reopening(desk: Desk) -> None:
    closed_with_answer(desk)
    answer = desk.client.wait_for("Ответ на обращение")
    desk.client_replies(answer, "Спасибо большое!")
    wait_until(lambda: bool(desk.events("courtesy-after-close")), what="the thanks recorded")
    assert desk.request().state == "closed"
    assert not desk.accountant.with_subject("Новое письмо клиента")
    # a real question afterwards still reopens the request and reaches the accountant
    desk.client_replies(answer, "Подскажите, можно ли получить ещё и справку за 2024 год?")
    reopened = desk.accountant.wait_for("Новое письмо клиента")
    assert "2024" in body_of(reopened)
    assert desk.request().state == "assigned"
