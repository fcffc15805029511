"""detect_automated: machine-written mail is recognised, people's letters are not."""

from __future__ import annotations

import pytest

from buhdesk.route.automated import detect_automated
from buhdesk.route.mime import ParsedMessage, parse_message


def letter(
    headers: str = "",
    sender: str = "Иванова <ivanova@school5.smolensk.ru>",
    subject: str = "Вопрос по зарплате",
) -> ParsedMessage:
    head = f"From: {sender}\nTo: buh@minfin.smolensk.ru\nSubject: {subject}\n{headers}".strip()
    raw = (head.replace("\n", "\r\n") + "\r\n\r\nТекст письма.").encode("utf-8")
    return parse_message(raw)


@pytest.mark.parametrize(
    "subject",
    [
        "Вопрос по зарплате",
        "Расчёт отпускных: сотрудник в отпуске с 10.01",
        "Re: Автоматический расчёт пособия?",
        "Справка о доходах",
        "Не могу найти платёжку",
    ],
)
def test_person_letters_are_not_automated(subject: str) -> None:
    assert detect_automated(letter(subject=subject)) is None


@pytest.mark.parametrize(
    ("headers", "sender", "subject", "kind"),
    [
        (
            "Content-Type: multipart/report; report-type=delivery-status; boundary=x",
            None,
            None,
            "bounce",
        ),
        ("", "MAILER-DAEMON@mx.example.ru", "Undelivered Mail Returned to Sender", "bounce"),
        ("", "postmaster@minfin.smolensk.ru", "Уведомление", "bounce"),
        ("", None, "Недоставленное сообщение: Отчёт", "bounce"),
        ("", None, "Не удается доставить: Отчёт", "bounce"),
        ("", None, "Undeliverable: Report", "bounce"),
        ("X-Failed-Recipients: a@b.ru", None, None, "bounce"),
        ("Return-Path: <>", None, None, "bounce"),
        ("Auto-Submitted: auto-replied", None, None, "auto-reply"),
        ("X-Autoreply: yes", None, None, "auto-reply"),
        ("X-Autorespond: yes", None, None, "auto-reply"),
        ("", None, "Автоответ: Re: Справка", "auto-reply"),
        ("", None, "Автоматический ответ: Отчёт", "auto-reply"),
        ("", None, "Нет на месте", "auto-reply"),
        ("", None, "В отпуске до 20 января", "auto-reply"),
        ("", None, "Out of Office: report", "auto-reply"),
        ("", None, "Automatic reply: report", "auto-reply"),
        ("Return-Path: <>\nAuto-Submitted: auto-replied", None, None, "auto-reply"),
        ("Auto-Submitted: auto-generated", None, None, "auto-generated"),
        ("X-Auto-Response-Suppress: All", "noreply@nalog.ru", None, "auto-generated"),
        ("", "no-reply@gosuslugi.ru", None, "auto-generated"),
        ("", "DoNotReply@bank.ru", None, "auto-generated"),
        (
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=x",
            None,
            "Прочитано: Отчёт",
            "auto-generated",
        ),
        ("Precedence: bulk", None, None, "bulk"),
        ("Precedence: junk", None, None, "bulk"),
        ("Precedence: list\nList-Id: <x.lists.ru>", None, None, "bulk"),
        ("List-Id: <buh.lists.ru>", None, None, "list"),
        ("List-Unsubscribe: <mailto:u@lists.ru>", None, None, "list"),
        ("X-Buhdesk-Loop: minfin\nAuto-Submitted: auto-replied", None, None, "loop"),
    ],
)
def test_kinds(headers: str, sender: str | None, subject: str | None, kind: str) -> None:
    msg = letter(headers, sender or "Иванова <ivanova@school5.smolensk.ru>", subject or "Отчёт")
    assert detect_automated(msg) == kind


def test_own_address_is_case_insensitive_and_before_bounce() -> None:
    msg = letter("X-Failed-Recipients: a@b.ru", sender="Buh@Minfin.Smolensk.ru")
    assert detect_automated(msg, own_addresses=["BUH@minfin.smolensk.ru"]) == "own"
    assert detect_automated(msg) == "bounce"


def test_auto_submitted_no_is_a_person() -> None:
    assert detect_automated(letter("Auto-Submitted: no")) is None


def test_custom_loop_header_name() -> None:
    msg = letter("X-Buhdesk-Loop: 1")
    assert detect_automated(msg, loop_header="X-Buhdesk-Loop") == "loop"
    assert detect_automated(letter(), loop_header="x-buhdesk-loop") is None
