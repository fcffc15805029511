"""Accountants answer from their own mail program, end to end on real servers.

Letters reach the buhdesk mailbox on a loopback Dovecot; the daemon (in a thread) reads it over
IMAP and sends through aiosmtpd, which relays over LMTP into the recipients' own Dovecot
mailboxes. The test plays the employee's and the accountant's mail programs: it reads their
mailboxes over IMAP and puts their replies (quoted history, signature) into the buhdesk mailbox.
"""

from __future__ import annotations

import email
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from support import daemon_clock, imap_section

from buhdesk.config import load_config
from buhdesk.service.main import build_daemon
from buhdesk.store.models import Event, Message, Request
from buhdesk.rules.book import load_rulebook
from buhdesk.service.runner import Daemon
from harness.loopback import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

CLIENT_USER = "kovaleva"
CLIENT = f"{CLIENT_USER}@culture.example"
ORIGINAL_ID = "<q-2ndfl-1@culture.example>"
CLEAN = ("Справка 2-НДФЛ за 2025 год готова. Её можно получить в кабинете 215 "
         "с 9:00 до 18:00, при себе необходимо иметь паспорт.")
WAIT = 60.0
_reply_numbers = itertools.count(1)


@dataclass
class Mailbox:
    """A person's mailbox on the loopback Dovecot, read the way their mail program reads it."""

    dovecot: Dovecot
    user: str

    def letters(self) -> list[EmailMessage]:
        client = self.dovecot.connect(self.user)
        try:
            client.select("INBOX", readonly=True)
            typ, data = client.uid("SEARCH", "ALL")
            uids = data[0].split() if typ == "OK" and data[0] else []
            found = []
            for uid in uids:
                typ, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next(p[1] for p in parts if isinstance(p, tuple))
                found.append(email.message_from_bytes(raw, policy=SMTP))
            return found  # type: ignore[return-value]
        finally:
            client.logout()

    def with_subject(self, words: str) -> list[EmailMessage]:
        return [m for m in self.letters() if words in str(m["Subject"])]

    def wait_for(self, words: str, count: int = 1) -> EmailMessage:
        """The newest letter whose subject has ``words``, once ``count`` of them arrived."""
        wait_until(lambda: len(self.with_subject(words)) >= count,
                   what=f"{count} letter(s) «{words}» in {self.user}'s mailbox")
        return self.with_subject(words)[-1]


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not done.is_set():
            if predicate():
                return
            done.wait(0.2)
    finally:
        deadline.cancel()
    raise AssertionError(f"timed out waiting for {what}")


def body_of(letter: EmailMessage) -> str:
    part = letter.get_body(("plain",))
    assert part is not None, f"no text part in {letter['Subject']}"
    return str(part.get_content())  # type: ignore[attr-defined]


def reply(to: EmailMessage, sender: str, text: str, signature: str) -> bytes:
    """What a mail program sends when its user replies: threading headers, quote, signature."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = str(to["Reply-To"] or to["From"])
    msg["Subject"] = "Re: " + str(to["Subject"])
    msg["Message-ID"] = make_msgid(f"reply{next(_reply_numbers)}", domain="mail.example")
    msg["In-Reply-To"] = str(to["Message-ID"])
    msg["References"] = " ".join(filter(None, [str(to["References"] or ""),
                                               str(to["Message-ID"])]))
    quoted = "\n".join("> " + line for line in body_of(to).splitlines())
    msg.set_content(f"{text}\n\n-- \n{signature}\n\n"
                    f"{to['Date']}, {to['From']} пишет:\n{quoted}\n")
    return msg.as_bytes()


def first_letter() -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Ковалева Мария Петровна <{CLIENT}>"
    msg["To"] = "Бухгалтерия <buh@minfin.example>"
    msg["Subject"] = "Справка 2-НДФЛ"
    msg["Message-ID"] = ORIGINAL_ID
    msg.set_content("Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год.\n\n"
                    "Ковалева М. П., ГБУК «Смоленская областная библиотека»")
    return msg.as_bytes()


@dataclass
class Desk:
    """The running daemon and everyone's mail programs."""

    daemon: Daemon
    dovecot: Dovecot
    buhdesk_user: str
    client: Mailbox
    accountant: Mailbox
    accountant_address: str
    signature: str

    def deliver_to_buhdesk(self, data: bytes) -> None:
        self.dovecot.append(self.buhdesk_user, "INBOX", [data])

    def accountant_replies(self, to: EmailMessage, text: str) -> None:
        self.deliver_to_buhdesk(reply(to, self.accountant_address, text, self.signature))

    def client_replies(self, to: EmailMessage, text: str) -> None:
        self.deliver_to_buhdesk(reply(to, f"Ковалева Мария Петровна <{CLIENT}>", text,
                                      "Ковалева М. П."))

    def request(self) -> Request:
        with Session(self.daemon.rt.engine) as s:
            return s.exec(select(Request)).scalars().one()  # type: ignore[call-overload]

    def events(self, action: str) -> list[Event]:
        with Session(self.daemon.rt.engine) as s:
            return list(s.exec(select(Event).where(  # type: ignore[call-overload]
                Event.action == action)).scalars())

    def outgoing(self, kind: str) -> list[Message]:
        with Session(self.daemon.rt.engine) as s:
            return list(s.exec(select(Message).where(  # type: ignore[call-overload]
                Message.direction == "out", Message.kind == kind)).scalars())


def _config(folder: Path, make_config, store: str, user, sink: SmtpSink,  # type: ignore[no-untyped-def]
            extra: str = "") -> Path:
    outbox = f"""
[outbox]
kind = "smtp"
host = "127.0.0.1"
port = {sink.port}
security = "none"
retry_base = 0.3
lease = 2
"""
    return make_config(folder, imap_section(user) + extra, outbox=outbox, store=store)  # type: ignore[no-any-return]


@contextmanager
def open_desk(tmp_path: Path, fresh_dovecot, make_config, store_url: str,  # type: ignore[no-untyped-def]
              monkeypatch: pytest.MonkeyPatch, *, extra: str = "",
              first: bytes | None = None) -> Iterator[Desk]:
    """The employee's letter (``first``, by default a 2-НДФЛ request) registered and the
    notice in the accountant's mailbox; ``extra`` is added to the configuration."""
    dovecot = fresh_dovecot.dovecot
    monkeypatch.setenv("TEST_IMAP_PASSWORD", fresh_dovecot.password)
    sink = SmtpSink(relay=dovecot)
    sink.start()
    config = load_config(_config(tmp_path, make_config, store_url, fresh_dovecot, sink, extra))
    staff = load_rulebook(config.rules_dir).staff
    # every accountant and the employee have a mailbox; the relay delivers by local part
    for login in [*staff, CLIENT_USER, "admin"]:
        dovecot.add_user(login, f"pw-{login}")
    daemon = build_daemon(config, clock=daemon_clock())
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        dovecot.append(fresh_dovecot.name, "INBOX", [first or first_letter()])
        client = Mailbox(dovecot, CLIENT_USER)
        client.wait_for("зарегистрировано")
        with Session(daemon.rt.engine) as s:
            assignee = s.exec(select(Request)).scalars().one().assignee  # type: ignore[call-overload]
        member = staff[assignee]
        yield Desk(daemon, dovecot, fresh_dovecot.name, client,
                   Mailbox(dovecot, member.email.split("@")[0]), member.email,
                   f"{member.name}\n{member.position}\nмоб. 8-900-555-01-02")
    finally:
        daemon.stop()
        thread.join(timeout=30)
        daemon.rt.engine.dispose()
        sink.stop()


@pytest.fixture
def desk(tmp_path, fresh_dovecot, make_config, store_url: str, secret_env,  # type: ignore[no-untyped-def]
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """The employee's letter registered and the notice in the accountant's mailbox (on SQLite
    and on PostgreSQL)."""
    with open_desk(tmp_path, fresh_dovecot, make_config, store_url, monkeypatch) as opened:
        yield opened


def test_answer_reaches_the_employee_in_their_thread(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    number = desk.request().number
    assert number in str(notice["Subject"]) and "2-НДФЛ" in body_of(notice)
    desk.accountant_replies(notice, CLEAN)
    answer = desk.client.wait_for("Ответ на обращение")
    assert ORIGINAL_ID in str(answer["References"])
    assert str(answer["In-Reply-To"]) != ORIGINAL_ID  # the latest letter of the thread (the ack)
    body = body_of(answer)
    assert body.startswith("Уважаемая Мария Петровна!")
    assert CLEAN in body and "С уважением," in body and number in body
    assert "пишет:" not in body and "555-01-02" not in body  # quote and signature stripped
    assert desk.request().state == "answered"


def test_answer_with_a_spelling_error_comes_back_then_corrected_goes_out(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    desk.accountant_replies(notice, "Справка готова, её можно палучить в кабинете 215.")
    returned = desk.accountant.wait_for("Ответ не отправлен")
    text = body_of(returned)
    assert "палучить" in text and "получить" in text and "#отправить-как-есть" in text
    assert not desk.client.with_subject("Ответ на обращение")
    assert not desk.outgoing("answer")
    desk.accountant_replies(returned, CLEAN)
    answer = desk.client.wait_for("Ответ на обращение")
    assert CLEAN in body_of(answer) and "палучить" not in body_of(answer)
    assert ORIGINAL_ID in str(answer["References"])
    assert desk.request().state == "answered"


def test_override_sends_as_is_and_is_recorded(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    desk.accountant_replies(notice, "Справка готова , ждём вас в каб. 215.\n#отправить-как-есть")
    answer = desk.client.wait_for("Ответ на обращение")
    assert "ждём вас в каб. 215" in body_of(answer)
    assert "#отправить" not in body_of(answer)
    assert not desk.accountant.with_subject("Ответ не отправлен")
    [event] = desk.events("answered")
    detail = json.loads(event.detail)
    assert detail["override"] is True and detail["findings"]
    assert event.actor == desk.request().assignee


def test_follow_up_joins_the_request_and_reopens_it_after_close(desk: Desk) -> None:
    notice = desk.accountant.wait_for("Новое обращение")
    desk.accountant_replies(notice, CLEAN)
    answer = desk.client.wait_for("Ответ на обращение")
    desk.client_replies(answer, "Спасибо! А можно получить две копии справки?")
    followup = desk.accountant.wait_for("Новое письмо клиента")
    assert "две копии" in body_of(followup) and "открыто снова" not in body_of(followup)
    request = desk.request()  # joined: still the one request
    assert request.state == "assigned"
    desk.accountant_replies(followup, "Да, подготовим две копии к завтрашнему дню.\n#закрыть")
    desk.client.wait_for("Ответ на обращение", count=2)
    wait_until(lambda: desk.request().state == "closed", what="the request closed")
    second = desk.client.with_subject("Ответ на обращение")[-1]
    desk.client_replies(second, "Извините, нужна ещё справка за 2024 год.")
    reopened = desk.accountant.wait_for("Новое письмо клиента", count=2)
    assert "открыто снова" in body_of(reopened)
    assert "2024" in body_of(reopened)
    assert desk.request().state == "assigned" and desk.request().closed_at is None

