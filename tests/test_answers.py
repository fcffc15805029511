"""Accountants answer by replying to the notice: the answer is checked, wrapped and sent to the
client in the client's thread — or returned with the findings; commands steer the request.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.message import Message as ParsedEmail
from email.policy import SMTP

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.store.models import Event, Request
from buhdesk.service.runner import Daemon
from buhdesk.reply.templating import LETTERS
from harness.memory import MemorySource, MemoryTransport

CLIENT = "kovaleva@culture.example"


def reply(to: ParsedEmail, sender: str, body: str, *, quote: bool = True,
          attachment: tuple[str, bytes] | None = None) -> bytes:
    """What a mail program sends when its user replies to ``to``."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = "Re: " + to["Subject"]
    msg["Message-ID"] = f"<reply-{abs(hash(body))}@minfin.example>"
    msg["In-Reply-To"] = to["Message-ID"]
    msg["References"] = to["Message-ID"]
    quoted = "\n".join("> " + line for line in to.get_content().splitlines()[:5]) if quote else ""
    msg.set_content(f"{body}\n\n--\nИванова А.С.\nмоб. 8-900-555-01-02\n\n"
                    f"24.11.2026, 12:00, Бухгалтерия пишет:\n{quoted}\n")
    if attachment:
        msg.add_attachment(attachment[1], maintype="application", subtype="pdf",
                           filename=attachment[0])
    return msg.as_bytes()


def ask(daemon: Daemon) -> tuple[Request, ParsedEmail, str]:
    """A client's request, registered; returns it, the accountant's notice and their address."""
    src: MemorySource = daemon.sources[0]  # type: ignore[assignment]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Ковалева Мария Петровна <{CLIENT}>"
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = "Справка 2-НДФЛ"
    msg["Message-ID"] = "<q1@culture.example>"
    msg.set_content("Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год.")
    src.put(msg.as_bytes())
    daemon.drain()
    with Session(daemon.rt.engine) as s:
        request = s.exec(select(Request)).scalars().one()  # type: ignore[call-overload]
    staff = daemon.rt.rules.staff[request.assignee]  # type: ignore[index]
    [notice] = [m for m in transport(daemon).to(staff.email) if "Новое обращение" in m["Subject"]]
    return request, notice, staff.email


def transport(daemon: Daemon) -> MemoryTransport:
    return daemon.transport  # type: ignore[return-value]


def send(daemon: Daemon, data: bytes) -> None:
    daemon.sources[0].put(data)  # type: ignore[attr-defined]
    daemon.drain()


def state(daemon: Daemon, request: Request) -> Request:
    with Session(daemon.rt.engine) as s:
        got = s.get(Request, request.id)
        assert got is not None
        return got


CLEAN = ("Справка 2-НДФЛ за 2025 год готова. Её можно получить в кабинете 215 "
         "с 9:00 до 18:00, при себе необходимо иметь паспорт.")


def test_clean_answer_goes_to_the_client_in_their_thread(daemon: Daemon) -> None:
    request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, CLEAN, attachment=("справка.pdf", b"%PDF-1.4 x")))
    answers = [m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]
    assert len(answers) == 1
    answer = answers[0]
    assert answer["In-Reply-To"] != "<q1@culture.example>"  # the latest in the client's thread
    assert "<q1@culture.example>" in answer["References"]
    body = answer.get_body(("plain",)).get_content()
    assert body.startswith("Уважаемая Мария Петровна!")
    assert CLEAN in body and "С уважением," in body and request.number in body
    assert "пишет:" not in body and "555-01-02" not in body  # quote and signature removed
    assert [p.get_filename() for p in answer.iter_attachments()] == ["справка.pdf"]
    assert state(daemon, request).state == "answered"


def test_answer_with_errors_is_returned_with_findings_then_resent(daemon: Daemon) -> None:
    request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, "Справка готова , её можно палучить в кабинете 215."))
    assert not [m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]
    [returned] = [m for m in transport(daemon).to(accountant) if "не отправлен" in m["Subject"]]
    text = returned.get_content()
    assert "палучить" in text and "получить" in text and "Строка" in text
    assert "#отправить-как-есть" in text
    send(daemon, reply(returned, accountant, CLEAN))  # corrected, replying to the returned letter
    assert len([m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]) == 1
    assert state(daemon, request).state == "answered"


def test_override_sends_and_is_recorded(daemon: Daemon) -> None:
    _request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant,
                       "Справка готова , ждём вас в каб. 215.\n#отправить-как-есть"))
    [answer] = [m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]
    assert "#отправить" not in answer.get_body(("plain",)).get_content()
    with Session(daemon.rt.engine) as s:
        ev = s.exec(select(Event).where(Event.action == "answered")).scalars().one()  # type: ignore[call-overload]
    assert json.loads(ev.detail)["override"] is True


def test_close_then_follow_up_reopens_and_notifies(daemon: Daemon) -> None:
    request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, CLEAN + "\n#закрыть"))
    assert state(daemon, request).state == "closed"
    [answer] = [m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]
    send(daemon, reply(answer, CLIENT, "Спасибо, а можно две копии?"))
    assert state(daemon, request).state == "assigned"
    followups = [m for m in transport(daemon).to(accountant) if "Новое письмо" in m["Subject"]]
    assert len(followups) == 1 and "открыто снова" in followups[0].get_content()


def test_transfer_command_reassigns_and_notices_the_new_accountant(daemon: Daemon) -> None:
    request, notice, accountant = ask(daemon)
    other = next(s for s in daemon.rt.rules.staff.values() if s.email != accountant)
    send(daemon, reply(notice, accountant, f"#передать {other.login}"))
    assert state(daemon, request).assignee == other.login
    notices = [m for m in transport(daemon).to(other.email) if "Новое обращение" in m["Subject"]]
    assert len(notices) == 1
    assert not [m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]


def test_transfer_to_unknown_login_is_returned(daemon: Daemon) -> None:
    request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, "#передать nobody"))
    assert state(daemon, request).assignee != "nobody"
    [returned] = [m for m in transport(daemon).to(accountant) if "не отправлен" in m["Subject"]]
    assert "nobody" in returned.get_content()


def test_client_cannot_answer_through_a_notice(daemon: Daemon) -> None:
    _request, notice, _ = ask(daemon)
    send(daemon, reply(notice, CLIENT, "Я сам себе отвечу."))
    assert not [m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]


@pytest.mark.parametrize("name", [n for n in LETTERS if n not in ("admin",)])
def test_every_shipped_letter_renders_and_passes_the_check(daemon: Daemon, name: str) -> None:
    from buhdesk.cli.check import sample_variables

    rules = daemon.rt.rules
    variables = sample_variables(rules, "Бухгалтерия Министерства финансов")
    variables["text"] = CLEAN
    rendered = daemon.rt.templates.render(name, **variables)
    names = [s.name for s in rules.staff.values()] + ["Ковалева Мария Петровна"]
    findings = rules.textcheck.with_names(names).check(rendered.body)
    assert findings == [], [f.to_dict() for f in findings]


def test_article_command_inserts_the_article_and_is_recorded(daemon: Daemon) -> None:
    _request, notice, accountant = ask(daemon)
    slug = daemon.rt.kb.get().suggest("payroll", "result", "справка 2-НДФЛ", 1)[0][0].slug  # type: ignore[union-attr]
    send(daemon, reply(notice, accountant, f"Справка будет готова завтра.\n#статья {slug}"))
    [answer] = [m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]
    body = answer.get_body(("plain",)).get_content()
    assert "Справка будет готова завтра." in body and f"/kb/{slug}" in body
    with Session(daemon.rt.engine) as s:
        assert s.exec(select(Event).where(Event.action == "kb-inserted")).scalars().one()  # type: ignore[call-overload]


def test_unknown_article_is_returned_to_the_accountant(daemon: Daemon) -> None:
    _request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, "Ответ.\n#статья net-takoj-stati"))
    assert not [m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]
    [returned] = [m for m in transport(daemon).to(accountant) if "не отправлен" in m["Subject"]]
    assert "net-takoj-stati" in returned.get_content()
