"""Replies from the mail programs people really use, end to end over Dovecot and the SMTP sink:
quoting that once became commands or client text (s-nail's tab quote under an undated «… wrote:»,
mutt's «On …, X wrote:»), a command typed wrong, and what the client's answer must not carry
(the accountant's Message-IDs, a second greeting)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from test_answers_integration import (
    CLEAN, CLIENT, ORIGINAL_ID, Desk, body_of, open_desk, wait_until,
)

from buhdesk.store.models import Message, Request

pytestmark = pytest.mark.integration
_numbers = itertools.count(1)


@pytest.fixture
def desk(tmp_path, fresh_dovecot, make_config, store_url: str, secret_env,  # type: ignore[no-untyped-def]
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    with open_desk(tmp_path, fresh_dovecot, make_config, store_url, monkeypatch) as opened:
        yield opened


def client_reply(desk: Desk, to: EmailMessage, text: str, user_agent: str,
                 attribution: str, prefix: str) -> tuple[bytes, str]:
    """The accountant's reply as ``user_agent`` writes it; and its Message-ID."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = desk.accountant_address
    msg["To"] = str(to["Reply-To"] or to["From"])
    msg["Subject"] = "Re: " + str(to["Subject"])
    message_id = make_msgid(f"staff{next(_numbers)}", domain="ws214.minfin.example")
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = str(to["Message-ID"])
    msg["References"] = str(to["Message-ID"])
    msg["User-Agent"] = user_agent
    quoted = "\n".join(prefix + line for line in body_of(to).splitlines())
    msg.set_content(f"{text}\n\n{attribution}\n\n{quoted}\n")
    return msg.as_bytes(), message_id.strip("<>")


def test_snail_reply_runs_only_its_own_command(desk: Desk) -> None:
    """s-nail quotes with a tab under «X <addr> wrote:»; the quoted notice's help lines
    («#передать логин», «#ожидание» …) must not run, nor reach the client."""
    notice = desk.accountant.wait_for("Новое обращение")
    assignee = desk.request().assignee
    data, _ = client_reply(desk, notice, f"{CLEAN}\n#закрыть", "s-nail v14.9.24",
                           f"{notice['From']} wrote:", "\t")
    desk.deliver_to_buhdesk(data)
    answer = desk.client.wait_for("Ответ на обращение")
    body = body_of(answer)
    assert CLEAN in body and "wrote:" not in body and "#" not in body
    assert "Зарегистрировано обращение" not in body
    wait_until(lambda: desk.request().state == "closed", what="the request closed")
    assert desk.request().assignee == assignee  # «#передать логин» in the quote did not run
    assert not desk.accountant.with_subject("Ответ не отправлен")


def test_mutt_attribution_is_not_sent_to_the_client(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    data, _ = client_reply(desk, notice, CLEAN, "Mutt/2.2.13 (2024-03-09)",
                           "On Fri, Dec 04, 2026 at 10:15:03AM +0300, Бухгалтерская служба "
                           "wrote:", "> ")
    desk.deliver_to_buhdesk(data)
    body = body_of(desk.client.wait_for("Ответ на обращение"))
    assert CLEAN in body and "wrote:" not in body and "On Fri" not in body


def test_a_mistyped_command_is_returned_and_nothing_runs(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    state = desk.request().state
    desk.accountant_replies(notice, f"{CLEAN}\n#закрыт")
    returned = body_of(desk.accountant.wait_for("Ответ не отправлен"))
    assert "#закрыт" in returned and "неизвестная команда" in returned and "#закрыть" in returned
    assert not desk.client.with_subject("Ответ на обращение")
    assert desk.request().state == state


def test_the_client_sees_only_buhdesks_message_ids_and_one_greeting(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    data, staff_id = client_reply(desk, notice, f"Добрый день, Мария Петровна!\n\n{CLEAN}",
                                  "Mozilla Thunderbird", f"{notice['Date']}, Бухгалтерия пишет:",
                                  "> ")
    desk.deliver_to_buhdesk(data)
    answer = desk.client.wait_for("Ответ на обращение")
    ids = str(answer["References"]).split() + [str(answer["In-Reply-To"])]
    assert ORIGINAL_ID in ids
    assert all(i == ORIGINAL_ID or i.endswith("@minfin.example>") for i in ids), ids
    assert not any(staff_id in i or str(notice["Message-ID"]) == i for i in ids)
    body = body_of(answer)
    assert body.splitlines()[:2] == ["Уважаемая Мария Петровна!", ""]
    assert "Добрый день" not in body and body.count("Мария Петровна") == 1
    assert CLEAN in body


def test_a_later_answer_does_not_thread_the_first_answer_s_internal_ids(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    first, first_id = client_reply(desk, notice, CLEAN, "Mozilla Thunderbird",
                                   "04.12.2026 10:15, Бухгалтерия пишет:", "> ")
    desk.deliver_to_buhdesk(first)
    desk.client.wait_for("Ответ на обращение")
    second, second_id = client_reply(desk, notice, "Дополнительно: кабинет 215, второй этаж.",
                                     "Mozilla Thunderbird", "04.12.2026 10:15, Бухгалтерия "
                                     "пишет:", "> ")
    desk.deliver_to_buhdesk(second)
    answer = desk.client.wait_for("Ответ на обращение", count=2)
    refs = f"{answer['References']} {answer['In-Reply-To']}"
    assert first_id not in refs and second_id not in refs
    assert ORIGINAL_ID in refs




ARF = Path(__file__).parent / "corpus" / "mail" / "arf_feedback_report.eml"


def test_an_abuse_report_is_recorded_as_automated_and_answered_by_nobody(desk: Desk) -> None:
    desk.deliver_to_buhdesk(ARF.read_bytes())
    wait_until(lambda: bool(desk.events("automated")), what="the report recorded")
    with Session(desk.daemon.rt.engine) as s:
        row = s.exec(select(Message).where(  # type: ignore[call-overload]
            Message.direction == "in", Message.automated.is_not(None))).scalars().one()
    assert row.automated == "feedback-report" and row.status == "ignored"
    assert not [m for m in desk.outgoing("ack") if "feedback" in (m.to_addrs or "")]
    with Session(desk.daemon.rt.engine) as s:
        assert len(s.exec(select(Request)).scalars().all()) == 1  # type: ignore[call-overload]


def _foreign_letter() -> bytes:
    """A Chinese mailer's raw 8-bit GBK subject and a Japanese body labelled ISO-2022-JP but
    sent as Shift_JIS: both used to reach the accountant as cp1251 mojibake."""
    head = ("From: =?utf-8?B?0JrQvtCy0LDQu9C10LLQsCDQnNCw0YDQuNGPINCf0LXRgtGA0L7QstC90LA=?= "
            f"<{CLIENT}>\r\nTo: buh@minfin.example\r\nMessage-ID: <foreign-1@culture.example>\r\n"
            "Date: Fri, 04 Dec 2026 09:30:00 +0300\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=iso-2022-jp\r\n"
            "Content-Transfer-Encoding: 8bit\r\nSubject: ").encode("ascii")
    return (head + "会议纪要（朱镕基）".encode("gbk") + b"\r\n\r\n"
            + "給与の支払いについてのお知らせです。".encode("shift_jis") + b"\r\n")


def test_foreign_mail_reaches_the_accountant_legible(tmp_path, fresh_dovecot, make_config,  # type: ignore[no-untyped-def]
                                                     store_url: str, secret_env,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with open_desk(tmp_path, fresh_dovecot, make_config, store_url, monkeypatch,
                   first=_foreign_letter()) as opened:
        ack = opened.client.wait_for("зарегистрировано")
        assert "会议纪要（朱镕基）" in str(ack["Subject"])
        notice = opened.accountant.wait_for("Новое обращение")
        assert "会议纪要（朱镕基）" in str(notice["Subject"])
        assert "給与の支払いについてのお知らせです。" in body_of(notice)
