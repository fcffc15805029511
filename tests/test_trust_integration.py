"""Attacks on who may speak for the accounting service, run through the real pipeline: letters
are dropped into a Maildir, the daemon routes them and sends through aiosmtpd on loopback, and
the test reads what the SMTP sink received (on SQLite and on PostgreSQL).

Each test plays an attack the way it was found: a colleague answering someone else's request, the
former assignee after a transfer, a forged ``From:`` our mail server marked as failing, forged
``Authentication-Results`` lower in the header, a non-entitled ``#закрыть``, and a flood.
"""

from __future__ import annotations

import email
import itertools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest
from conftest import PIPELINE_NOW, write_config
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.config import load_config
from buhdesk.store.models import Absence, Event, Message, Request
from buhdesk.intake.quarantine import requeue
from buhdesk.rules.book import RuleBook
from buhdesk.service.runner import Daemon
from buhdesk.service.runtime import build_runtime
from buhdesk.trust.settings import FloodSettings
from buhdesk_connectors.factory import make_source, make_transport
from harness.loopback import SmtpSink

pytestmark = pytest.mark.integration

CLIENT = "kovaleva@culture.example"
MX = "mx.minfin.example"
ADMIN = "admin@minfin.example"
ANSWER = ("Справка 2-НДФЛ за 2025 год готова. Её можно получить в кабинете 215 "
          "с 9:00 до 18:00, при себе необходимо иметь паспорт.")
_numbers = itertools.count(1)


def letter(sender: str, subject: str, body: str, *, reply_to: EmailMessage | None = None,
           top: tuple[str, ...] = (), extra: dict[str, str] | None = None) -> bytes:
    """A letter as it reaches the mailbox: ``top`` are header lines our mail server put above
    everything else (Authentication-Results, its Received line)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 24 Nov 2026 09:00:00 +0000"
    msg["Message-ID"] = make_msgid(f"t{next(_numbers)}", domain="mail.example")
    if reply_to is not None:
        msg["In-Reply-To"] = str(reply_to["Message-ID"])
        msg["References"] = str(reply_to["Message-ID"])
    for name, value in (extra or {}).items():
        msg[name] = value
    msg.set_content(body)
    head = "".join(f"{line}\r\n" for line in top).encode()
    return head + msg.as_bytes()


def passed(sender_domain: str = "minfin.example") -> tuple[str, ...]:
    return ((f"Authentication-Results: {MX}; dkim=pass header.d={sender_domain}; "
             f"spf=pass smtp.mailfrom={sender_domain}; dmarc=pass header.from={sender_domain}"),
            (f"Received: from mail.{sender_domain} by {MX} (Postfix) with ESMTPS id 4Qx; "
             "Tue, 24 Nov 2026 09:00:01 +0000"))


@dataclass
class Desk:
    daemon: Daemon
    sink: SmtpSink
    maildir: Path
    staff: RuleBook

    def deliver(self, data: bytes) -> None:
        name = f"{next(_numbers)}.test"
        (self.maildir / "tmp" / name).write_bytes(data)
        os.rename(self.maildir / "tmp" / name, self.maildir / "new" / name)

    def run(self, data: bytes | None = None) -> None:
        if data is not None:
            self.deliver(data)
        self.daemon.drain()

    def letters_to(self, address: str, subject: str = "") -> list[EmailMessage]:
        found = []
        for m in self.sink.messages:
            if address in m.rcpt_tos:
                parsed = email.message_from_bytes(m.data, policy=SMTP)
                if subject in str(parsed["Subject"]):
                    found.append(parsed)
        return found  # type: ignore[return-value]

    def email_of(self, login: str) -> str:
        return self.staff.staff[login].email

    def notice_for(self, login: str, subject: str = "Новое обращение") -> EmailMessage:
        [notice] = self.letters_to(self.email_of(login), subject)
        return notice

    def request(self) -> Request:
        with Session(self.daemon.rt.engine) as s:
            return s.execute(select(Request)).scalars().one()

    def events(self, action: str) -> list[Event]:
        with Session(self.daemon.rt.engine) as s:
            return list(s.execute(select(Event).where(Event.action == action)).scalars())

    def held(self) -> list[Message]:
        with Session(self.daemon.rt.engine) as s:
            return list(s.execute(select(Message).where(
                Message.direction == "in", Message.status == "held")).scalars())

    def answers_to_client(self) -> list[EmailMessage]:
        return self.letters_to(CLIENT, "Ответ на обращение")

    def register(self, top: tuple[str, ...] = ()) -> EmailMessage:
        """The client's request, routed; the assignee's notice."""
        self.run(letter(f"Ковалева Мария Петровна <{CLIENT}>", "Справка 2-НДФЛ",
                        "Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год.", top=top))
        assert self.letters_to(CLIENT, "зарегистрировано")
        return self.notice_for(self.request().assignee or "")


def make_desk(tmp_path: Path, store_url: str, rules: RuleBook, sink: SmtpSink,
              settings: str = "") -> Desk:
    maildir = tmp_path / "maildir"
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True)
    outbox = (f'[outbox]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {sink.port}\n'
              'security = "none"\nretry_base = 0.3\n')
    body = f'[[sources]]\nname = "minfin"\nkind = "maildir"\npath = "maildir"\n{settings}'
    config = load_config(write_config(tmp_path, body, outbox=outbox, store=store_url))
    rt = build_runtime(config, clock=lambda: PIPELINE_NOW, rules=rules)
    daemon = Daemon(rt, [make_source(s) for s in config.sources], make_transport(config.outbox))
    return Desk(daemon, sink, maildir, rules)


@pytest.fixture
def desks(tmp_path: Path, store_url: str, secret_env: str, shipped_rules: RuleBook,
          smtp_sink: SmtpSink) -> Iterator[list[Desk]]:
    made: list[Desk] = []
    yield made
    for desk in made:
        desk.daemon.rt.engine.dispose()


@pytest.fixture
def desk(desks: list[Desk], tmp_path: Path, store_url: str, shipped_rules: RuleBook,
         smtp_sink: SmtpSink) -> Desk:
    """buhdesk without authentication settings (nothing to read but the tokens)."""
    desks.append(make_desk(tmp_path, store_url, shipped_rules, smtp_sink))
    return desks[-1]


@pytest.fixture
def guarded(desks: list[Desk], tmp_path: Path, store_url: str, shipped_rules: RuleBook,
            smtp_sink: SmtpSink) -> Desk:
    """buhdesk that believes our MX's Authentication-Results and requires them."""
    desks.append(make_desk(tmp_path, store_url, shipped_rules, smtp_sink,
                           f'[auth]\ntrusted_authserv_id = "{MX}"\nrequire = true\n'))
    return desks[-1]


def reply(desk: Desk, login: str, to: EmailMessage, text: str,
          top: tuple[str, ...] = ()) -> None:
    member = desk.staff.staff[login]
    desk.run(letter(f"{member.name} <{member.email}>", "Re: " + str(to["Subject"]),
                    f"{text}\n\n-- \n{member.name}", reply_to=to, top=top))


# --- who may answer ----------------------------------------------------------------------------

def test_a_colleague_answering_becomes_a_note_and_the_client_gets_nothing(desk: Desk) -> None:
    notice = desk.register()
    assignee = desk.request().assignee
    assert assignee == "ivanova"
    # the notice was forwarded to a colleague who is neither the deputy nor the head
    reply(desk, "grigorieva", notice, f"{ANSWER}\n#закрыть")
    assert not desk.answers_to_client()
    assert desk.request().state == "assigned"
    [note] = desk.events("staff-note")
    assert note.actor == "grigorieva"
    assert "#закрыть" in json.loads(note.detail)["ignored_commands"]
    [told] = desk.letters_to(desk.email_of("ivanova"), "Заметка коллеги")
    body = str(told.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "Григорьева" in body and "кабинете 215" in body
    # the assignee can still answer, through the note she was sent
    reply(desk, "ivanova", told, ANSWER)
    assert len(desk.answers_to_client()) == 1


def test_close_from_a_colleague_who_is_not_entitled_does_not_close(desk: Desk) -> None:
    notice = desk.register()
    reply(desk, "kovaleva", notice, "#закрыть")
    reply(desk, "tarasova", notice, "#передать tarasova")
    request = desk.request()
    assert request.state == "assigned" and request.closed_at is None
    assert request.assignee == "ivanova"
    assert not desk.events("closed") and not desk.events("transferred")
    assert len(desk.events("staff-note")) == 2


def test_the_former_assignee_is_refused_after_a_transfer(desk: Desk) -> None:
    notice = desk.register()
    reply(desk, "ivanova", notice, "#передать nikolaev")
    assert desk.request().assignee == "nikolaev"
    reply(desk, "ivanova", notice, ANSWER)  # her old notice still threads, as a note
    assert not desk.answers_to_client()
    [note] = desk.events("staff-note")
    assert note.actor == "ivanova" and note.request_id == desk.request().id
    assert desk.letters_to(desk.email_of("nikolaev"), "Заметка коллеги")
    reply(desk, "nikolaev", desk.notice_for("nikolaev"), ANSWER)
    [answer] = desk.answers_to_client()
    assert "Николаев" in str(answer.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def test_the_deputy_answers_only_while_the_assignee_is_absent(desk: Desk) -> None:
    notice = desk.register()
    reply(desk, "petrova", notice, ANSWER)  # ivanova is at work: petrova's letter is a note
    assert not desk.answers_to_client()
    with Session(desk.daemon.rt.engine) as s:
        s.add(Absence(login="ivanova", start=date(2026, 11, 23), end=date(2026, 11, 27),
                      reason="отпуск"))
        s.commit()
    reply(desk, "petrova", notice, ANSWER)
    [answer] = desk.answers_to_client()
    assert "Петрова" in str(answer.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    [authorised] = desk.events("authorised")
    assert authorised.actor == "petrova" and "заместитель" in json.loads(authorised.detail)["why"]


def test_while_the_assignee_is_away_her_deputy_hears_of_follow_ups_and_answers(
        desk: Desk) -> None:
    desk.register()
    with Session(desk.daemon.rt.engine) as s:
        s.add(Absence(login="ivanova", start=date(2026, 11, 23), end=date(2026, 11, 27),
                      reason="отпуск"))
        s.commit()
    ack = desk.letters_to(CLIENT, "зарегистрировано")[0]
    desk.run(letter(CLIENT, "Re: " + str(ack["Subject"]), "Справка нужна срочно.",
                    reply_to=ack))
    assert desk.letters_to(desk.email_of("ivanova"), "Новое письмо клиента")
    [told] = desk.letters_to(desk.email_of("petrova"), "Новое письмо клиента")
    reply(desk, "petrova", told, ANSWER)  # her own notice: no forwarding needed
    [answer] = desk.answers_to_client()
    assert "Петрова" in str(answer.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def test_the_unit_head_may_answer(desk: Desk) -> None:
    notice = desk.register()
    reply(desk, "buhanceva", notice, f"{ANSWER}\n#закрыть")
    assert len(desk.answers_to_client()) == 1
    assert desk.request().state == "closed"


# --- is the sender real ------------------------------------------------------------------------

def test_a_forged_staff_sender_failing_authentication_is_held(guarded: Desk) -> None:
    desk = guarded
    notice = desk.register(top=passed("culture.example"))
    forged = letter("Иванова Ольга Петровна <ivanova@minfin.example>", "Re: " +
                    str(notice["Subject"]), f"{ANSWER}\n#закрыть", reply_to=notice,
                    extra={"Sender": "attacker@evil.example"},
                    top=((f"Authentication-Results: {MX}; spf=fail smtp.mailfrom=evil.example; "
                          "dmarc=fail (p=reject dis=reject) header.from=minfin.example"),
                         f"Received: from evil.example by {MX}; Tue, 24 Nov 2026 09:05:00 +0000"))
    desk.run(forged)
    assert not desk.answers_to_client()
    assert desk.request().state == "assigned"
    [held] = desk.held()
    assert "подлинность" in (held.reason or "") and "dmarc=fail" in (held.reason or "")
    [told] = desk.letters_to(ADMIN, "задержано")
    told_text = told.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"buhdesk requeue {held.id}" in told_text
    assert "ivanova@minfin.example" in told_text and "Re: [БУХ-" in told_text
    assert [e.request_id for e in desk.events("held-untrusted")] == [desk.request().id]
    # an administrator who checked it may release it: it is routed as the letter it claims to be
    requeue(desk.daemon.rt.engine, held.id)  # type: ignore[arg-type]
    desk.run()
    assert len(desk.answers_to_client()) == 1 and not desk.held()


def test_forged_authentication_results_below_our_server_are_ignored(guarded: Desk) -> None:
    desk = guarded
    notice = desk.register(top=passed("culture.example"))
    member = desk.staff.staff["ivanova"]
    forged_pass = (f"Authentication-Results: {MX}; dmarc=pass header.from=minfin.example; "
                   "spf=pass smtp.mailfrom=minfin.example")
    # our server could not vouch for the sender; the sender's own "pass" lower down, below our
    # server's Received line, must not count
    desk.run(letter(f"{member.name} <{member.email}>", "Re: " + str(notice["Subject"]), ANSWER,
                    reply_to=notice, extra={"Authentication-Results": forged_pass[24:]},
                    top=((f"Authentication-Results: {MX}; spf=none smtp.mailfrom=evil.example; "
                          "dmarc=none header.from=minfin.example"),
                         f"Received: from evil.example by {MX}; Tue, 24 Nov 2026 09:05:00 +0000",
                         ("Received: from localhost by evil.example; "
                          "Tue, 24 Nov 2026 09:04:00 +0000"),
                         forged_pass)))
    # another server's verdict at the top counts for nothing; our server said nothing
    desk.run(letter(f"{member.name} <{member.email}>", "Re: " + str(notice["Subject"]), ANSWER,
                    reply_to=notice,
                    top=(("Authentication-Results: mx.evil.example; dmarc=pass "
                          "header.from=minfin.example"),)))
    assert not desk.answers_to_client()
    reasons = [m.reason or "" for m in desk.held()]
    assert len(reasons) == 2
    assert "без подтверждённой подлинности" in reasons[0]
    assert "нет заголовка Authentication-Results" in reasons[1]
    # the genuine letter, stamped by our server, is the assignee's answer
    reply(desk, "ivanova", notice, ANSWER, top=passed())
    assert len(desk.answers_to_client()) == 1


def test_a_client_address_failing_authentication_gets_no_acknowledgment(guarded: Desk) -> None:
    desk = guarded
    desk.run(letter(CLIENT, "Справка", "Прошу выдать справку 2-НДФЛ.",
                    top=((f"Authentication-Results: {MX}; spf=fail smtp.mailfrom=culture.example; "
                          "dmarc=fail header.from=culture.example"),)))
    assert not desk.letters_to(CLIENT)
    [held] = desk.held()
    assert held.from_addr == CLIENT and "dmarc=fail" in (held.reason or "")
    with Session(desk.daemon.rt.engine) as s:
        assert not s.execute(select(Request)).scalars().all()


# --- floods ------------------------------------------------------------------------------------

def test_a_flood_of_500_letters_from_one_address(desk: Desk) -> None:
    for n in range(500):
        desk.deliver(letter("robot@spam.example", f"Справка {n}",
                            f"Прошу выдать справку 2-НДФЛ за 2025 год ({n})."))
    desk.daemon.drain()
    with Session(desk.daemon.rt.engine) as s:
        registered = s.execute(select(Request)).scalars().all()
    threshold = FloodSettings.registrations_per_hour  # the default
    assert len(registered) == threshold
    assert len(desk.held()) == 500 - threshold
    assert all("задержано до проверки" in (m.reason or "") for m in desk.held())
    notices = [m for m in desk.sink.messages if "Новое обращение" in
               str(email.message_from_bytes(m.data, policy=SMTP)["Subject"])]
    assert len(notices) == threshold
    assert len(desk.letters_to(ADMIN)) == 1  # one summary, not 490


def test_a_flood_of_follow_ups_gives_one_summary_notice(desk: Desk) -> None:
    desk.register()
    ack = desk.letters_to(CLIENT, "зарегистрировано")[0]
    for n in range(100):
        desk.deliver(letter(CLIENT, "Re: " + str(ack["Subject"]), f"Уточнение номер {n}.",
                            reply_to=ack))
    desk.daemon.drain()
    with Session(desk.daemon.rt.engine) as s:
        joined = s.execute(select(Message).where(Message.kind == "followup")).scalars().all()
    assert len(joined) == 100  # nothing lost
    ivanova = desk.email_of("ivanova")
    cap = FloodSettings.notices_per_hour  # the default
    assert len(desk.letters_to(ivanova, "Новое письмо клиента")) == cap
    [summary] = desk.letters_to(ivanova, "Много писем")
    assert CLIENT in str(summary["Subject"])


# --- explain tells the same --------------------------------------------------------------------

def test_explain_tells_answer_note_and_hold(guarded: Desk, tmp_path: Path) -> None:
    from buhdesk.route.explain import ExplainContext, explain_path
    from buhdesk.trust.keys import THREAD
    from buhdesk.trust.settings import auth_settings

    desk = guarded
    notice = desk.register(top=passed("culture.example"))
    rt = desk.daemon.rt
    ctx = ExplainContext(rules=rt.rules, own_address=rt.config.service.address,
                         thread_keys=rt.keys.keys(THREAD), engine=rt.engine, auth=auth_settings(rt.config))

    def explained(login: str, top: tuple[str, ...]) -> dict[str, object]:
        member = desk.staff.staff[login]
        path = tmp_path / f"{login}-{len(top)}.eml"
        path.write_bytes(letter(member.email, "Re: x", ANSWER, reply_to=notice, top=top))
        return explain_path(ctx, path, at=PIPELINE_NOW)

    assert explained("ivanova", passed())["action"] == "answer"
    assert explained("grigorieva", passed())["action"] == "note"
    forged = explained("ivanova", ((f"Authentication-Results: {MX}; dmarc=fail "
                                    "header.from=minfin.example"),))
    assert forged["action"] == "hold" and "dmarc=fail" in str(forged["error"])
    assert not desk.answers_to_client()  # a dry run
