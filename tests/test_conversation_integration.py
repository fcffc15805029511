"""The conversation as people write it, end to end over Dovecot and the SMTP relay: a late
answer after «#закрыть», thanks after closing, reopening by the accountant's choice."""

from __future__ import annotations

import email
import json
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from test_answers_integration import (  # noqa: F401
    CLEAN,
    CLIENT,
    Desk,
    Mailbox,
    body_of,
    desk,
    open_desk,
    wait_until,
)

from buhdesk.cli.command import main
from buhdesk.store.models import Request

MAX_PARTS = 500  # the parser's part limit (route.mime.parse_message)

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


def letter_with_parts(big: int, small_parts: int) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Ковалева Мария Петровна <{CLIENT}>"
    msg["To"] = "Бухгалтерия <buh@minfin.example>"
    msg["Subject"] = "Авансовый отчёт со сканами"
    msg["Message-ID"] = "<scans-1@culture.example>"
    msg.set_content("Добрый день! Направляю авансовый отчёт по командировке и сканы чеков.")
    msg.add_attachment(bytes(range(256)) * (big // 256), maintype="application",
                       subtype="pdf", filename="скан-отчёта.pdf")
    for n in range(small_parts):
        msg.add_attachment(f"чек {n}".encode(), maintype="text", subtype="plain",
                           filename=f"чек-{n}.txt")
    return msg.as_bytes()


def test_what_was_not_kept_is_named_in_the_notice_and_the_raw_letter_is_retrievable(
        tmp_path: Path, fresh_dovecot, make_config, store_url: str, secret_env,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    sent = letter_with_parts(big=64 * 1024, small_parts=MAX_PARTS)
    with open_desk(tmp_path, fresh_dovecot, make_config, store_url, monkeypatch,
                   extra="[limits]\nmax_attachment_bytes = 20000\n", first=sent) as desk:
        notice = desk.accountant.wait_for("Новое обращение")
        text = body_of(notice)
        number = desk.request().number
        line = next(x for x in text.splitlines() if "скан-отчёта.pdf" in x)
        assert "не сохранено: 66 КБ, больше предела 20 КБ" in line
        assert f"buhdesk letters {number}" in line
        assert "частей письма не разобраны" in text
        out = tmp_path / "letters"
        assert main(["--config", str(tmp_path / "buhdesk.toml"), "letters", number,
                     "--out", str(out)]) == 0
        [eml] = sorted(out.glob("*.eml"))
        kept = email.message_from_bytes(eml.read_bytes(), policy=SMTP)
        names = [p.get_filename() for p in kept.iter_attachments()]  # type: ignore[attr-defined]
        assert "скан-отчёта.pdf" in names and len(names) == MAX_PARTS + 1


HEAD = "head@culture.example"  # the client's head, copied on the first letter (an internal domain)
PARTNER = "partner@bank.example"  # an outside address, also copied: gets no copy by default


def copied_letter() -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Ковалева Мария Петровна <{CLIENT}>"
    msg["To"] = "Бухгалтерия <buh@minfin.example>"
    msg["Cc"] = f"Руководитель <{HEAD}>, {PARTNER}"
    msg["Subject"] = "Справка 2-НДФЛ"
    msg["Message-ID"] = "<q-cc-1@culture.example>"
    msg.set_content("Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год.")
    return msg.as_bytes()


def test_people_the_client_copied_get_the_answer_and_their_replies_join_the_request(
        tmp_path: Path, fresh_dovecot, make_config, store_url: str, secret_env,  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_dovecot.dovecot.add_user("head", "pw-head")
    domains = '[survey]\ninternal_domains = ["minfin.example", "culture.example"]\n'
    with open_desk(tmp_path, fresh_dovecot, make_config, store_url, monkeypatch, extra=domains,
                   first=copied_letter()) as desk:
        head = Mailbox(desk.dovecot, "head")
        notice = desk.accountant.wait_for("Новое обращение")
        desk.accountant_replies(notice, CLEAN)
        answer = desk.client.wait_for("Ответ на обращение")
        assert HEAD in str(answer["Cc"]) and PARTNER not in str(answer["Cc"])
        copy = head.wait_for("Ответ на обращение")
        assert CLEAN in body_of(copy)
        [sent] = desk.outgoing("answer")
        assert PARTNER not in sent.to_addrs
        # the head replies to the client's own letter (no token of ours in it): it joins
        head_reply = EmailMessage(policy=SMTP)
        head_reply["From"] = f"Руководитель <{HEAD}>"
        head_reply["To"] = "buh@minfin.example"
        head_reply["Subject"] = "Re: Справка 2-НДФЛ"
        head_reply["Message-ID"] = "<head-1@culture.example>"
        head_reply["In-Reply-To"] = "<q-cc-1@culture.example>"
        head_reply["References"] = "<q-cc-1@culture.example>"
        head_reply.set_content("Прошу подготовить справку в двух экземплярах.")
        desk.deliver_to_buhdesk(head_reply.as_bytes())
        followup = desk.accountant.wait_for("Новое письмо клиента")
        assert "двух экземплярах" in body_of(followup)
        with Session(desk.daemon.rt.engine) as s:
            assert s.execute(select(func.count()).select_from(Request)).scalar_one() == 1


def delivery_report(original_id: str, recipient: str) -> bytes:
    """A bounce as Postfix writes it: multipart/report with the returned letter's headers."""
    boundary = "dsn-boundary-1"
    return (
        "From: MAILER-DAEMON@mx.culture.example (Mail Delivery System)\r\n"
        "To: buh@minfin.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.culture.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.culture.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: buh@minfin.example\r\n"
        f"To: {recipient}\r\n"
        f"Message-ID: <{original_id}>\r\n"
        "Subject: =?utf-8?q?registered?=\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode("ascii")


def test_a_bounce_is_joined_to_its_request_the_accountant_told_and_the_address_marked(
        desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desk.accountant.wait_for("Новое обращение")
    desk.accountant_replies(desk.accountant.wait_for("Новое обращение"), CLEAN)
    desk.client.wait_for("Ответ на обращение")
    [answer] = desk.outgoing("answer")
    desk.deliver_to_buhdesk(delivery_report(str(answer.message_id), CLIENT))
    told = desk.accountant.wait_for("не доставлено")
    assert CLIENT in body_of(told) and "User unknown" in body_of(told)
    [bounced] = desk.events("bounced")
    assert bounced.request_id == desk.request().id
    assert not desk.client.with_subject("зарегистрировано")[1:]  # nobody answered the bounce
    capsys.readouterr()
    assert main(["--config", str(tmp_path / "buhdesk.toml"), "list", "--state", "answered",
                 "--json"]) == 0
    [listed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "User unknown" in listed["undeliverable"]
