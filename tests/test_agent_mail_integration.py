"""The accountant's tools by mail, end to end on real servers: letters reach the buhdesk mailbox
on a loopback Dovecot, the daemon reads it over IMAP and sends through the aiosmtpd sink, which
delivers into everyone's own Dovecot mailbox (see tests/test_answers_integration.py).

Commands: «#заметка» and «#история» in a reply to a notice, «#мои» and «#найти» in a letter of
their own; a stranger's command is refused politely, and an absent accountant's deputy works from
the notice they received.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from test_answers_integration import CLIENT, CLIENT_USER, Desk, Mailbox, body_of, open_desk

from buhdesk.store.models import Absence, Request

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(tmp_path: Path, fresh_dovecot, make_config, store_url: str, secret_env,  # type: ignore[no-untyped-def]
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with open_desk(tmp_path, fresh_dovecot, make_config, store_url, monkeypatch) as opened:
        yield opened


def command_letter(sender: str, text: str) -> bytes:
    """A new letter (not a reply) to the service address."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = "команда"
    msg["Message-ID"] = make_msgid(domain="mail.example")
    msg.set_content(text)
    return msg.as_bytes()


def mailbox_of(desk: Desk, login: str) -> Mailbox:
    return Mailbox(desk.dovecot, desk.daemon.rt.rules.staff[login].email.split("@")[0])


def test_note_and_history_in_replies_to_the_notice(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    number = desk.request().number
    desk.accountant_replies(notice, "#заметка клиентка просила позвонить после обеда")
    desk.accountant_replies(notice, "#история")
    story = desk.accountant.wait_for(f"история обращения {number}")
    body = body_of(story)
    assert "Прошу выдать справку 2-НДФЛ" in body  # the client's first line
    assert "клиентка просила позвонить после обеда" in body and "Назначено:" in body
    assert desk.request().state == "assigned"
    client_letters = desk.client.letters()
    assert len(client_letters) == 1  # the acknowledgment only: neither the note nor the story
    assert "позвонить" not in body_of(client_letters[0])


def test_my_list_and_search_by_mail_and_a_strangers_command_refused(desk: Desk) -> None:
    desk.accountant.wait_for("Новое обращение")
    number = desk.request().number
    desk.deliver_to_buhdesk(command_letter(desk.accountant_address, "#мои"))
    mine = desk.accountant.wait_for("Мои обращения")
    assert number in body_of(mine) and "ответить: mailto:buh@minfin.example" in body_of(mine)
    desk.deliver_to_buhdesk(command_letter(desk.accountant_address, "#найти справку НДФЛ"))
    found = desk.accountant.wait_for("найдено по запросу")
    assert number in body_of(found)
    desk.deliver_to_buhdesk(command_letter(f"Ковалева Мария Петровна <{CLIENT}>", "#мои"))
    refusal = desk.client.wait_for("Команда не выполнена")
    assert "только для сотрудников" in body_of(refusal) and number not in body_of(refusal)
    with Session(desk.daemon.rt.engine) as s:
        assert len(s.execute(select(Request)).scalars().all()) == 1  # nothing opened
    assert CLIENT_USER not in str(found["To"]) + str(mine["To"])


def test_an_absent_accountants_deputy_sees_the_list_and_the_story(desk: Desk) -> None:
    desk.accountant.wait_for("Новое обращение")
    request = desk.request()
    member = desk.daemon.rt.rules.staff[request.assignee or ""]
    deputy = desk.daemon.rt.rules.staff[member.deputy or ""]
    with Session(desk.daemon.rt.engine) as s:  # away from the test's Wednesday for the week
        s.add(Absence(login=member.login, start=date(2026, 11, 23), end=date(2026, 11, 29),
                      reason="отпуск"))
        s.commit()
    deputy_box = mailbox_of(desk, deputy.login)
    desk.deliver_to_buhdesk(command_letter(deputy.email, "#мои"))
    mine = deputy_box.wait_for("Мои обращения")
    body = body_of(mine)
    assert f"За отсутствующего коллегу: {member.name}" in body and request.number in body
    # the client writes again: the deputy gets a notice of their own and asks for the story
    ack = desk.client.wait_for("зарегистрировано")
    desk.client_replies(ack, "Добавлю: справка нужна в двух экземплярах.")
    followup = deputy_box.wait_for("Новое письмо клиента")
    desk.deliver_to_buhdesk(_reply(followup, deputy.email, "#история"))
    story = deputy_box.wait_for(f"история обращения {request.number}")
    assert "в двух экземплярах" in body_of(story)


def _reply(to: EmailMessage, sender: str, text: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = "Re: " + str(to["Subject"])
    msg["Message-ID"] = make_msgid(domain="mail.example")
    msg["In-Reply-To"] = str(to["Message-ID"])
    msg["References"] = str(to["Message-ID"])
    msg.set_content(text)
    return msg.as_bytes()


def test_a_duplicate_merged_by_mail(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    first = desk.request()
    again = EmailMessage(policy=SMTP)
    again["From"] = f"Ковалева Мария Петровна <{CLIENT}>"
    again["To"] = "buh@minfin.example"
    again["Subject"] = "Справка 2-НДФЛ (повторно)"
    again["Message-ID"] = make_msgid(domain="mail.example")
    again.set_content("Добрый день! Напоминаю про справку 2-НДФЛ за 2025 год для банка.")
    desk.deliver_to_buhdesk(again.as_bytes())
    desk.client.wait_for("зарегистрировано", count=2)
    with Session(desk.daemon.rt.engine) as s:
        second = s.execute(select(Request).where(Request.id != first.id)).scalars().one()
    desk.accountant_replies(notice, f"#объединить {second.number}")
    told = desk.client.wait_for("объединено")
    assert second.number in str(told["Subject"]) and first.number in body_of(told)
    with Session(desk.daemon.rt.engine) as s:
        merged = s.get(Request, second.id)
        assert merged is not None and (merged.state, merged.merged_into) == ("merged", first.id)
    # the client answers the merge letter: it joins the surviving request, nothing new opens
    desk.client_replies(told, "Спасибо, жду ответ по первому обращению. Справка нужна к пятнице.")
    followup = desk.accountant.wait_for("Новое письмо клиента")
    assert first.number in str(followup["Subject"])
    with Session(desk.daemon.rt.engine) as s:
        assert len(s.execute(select(Request)).scalars().all()) == 2
    assert len(desk.client.with_subject("объединено")) == 1
