"""The answer check in the answering path: advice does not hold an answer back, «#слово» grows
the installation's dictionary (only for staff, recorded in the audit trail), and buhdesk's own
letters greet by first name and patronymic without doubling the accountant's greeting."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from test_answers import CLEAN, CLIENT, ask, reply, send, state, transport

from buhdesk.store.models import Event
from buhdesk.service.runner import Daemon

UNKNOWN = "Жмыхаревой"  # a surname no dictionary knows


def _answers(daemon: Daemon) -> list[EmailMessage]:
    return [m for m in transport(daemon).to(CLIENT) if "Ответ" in m["Subject"]]


def _body(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def _events(daemon: Daemon, action: str) -> list[Event]:
    with Session(daemon.rt.engine) as s:
        query = select(Event).where(Event.action == action)
        return list(s.exec(query).scalars())  # type: ignore[call-overload]


def test_style_advice_goes_out_and_is_recorded_with_the_answer(daemon: Daemon) -> None:
    request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, "В настоящее время справка готова. " + CLEAN))
    assert len(_answers(daemon)) == 1
    [answered] = _events(daemon, "answered")
    detail = json.loads(answered.detail)
    assert detail["override"] is False
    assert [(f["kind"], f["blocking"]) for f in detail["findings"]] == [("style", False)]
    assert state(daemon, request).state == "answered"


def test_comma_error_holds_the_answer_back_with_the_rule_and_the_fix(daemon: Daemon) -> None:
    _request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, "Сообщаем что справка готова. " + CLEAN))
    assert _answers(daemon) == []
    [returned] = [m for m in transport(daemon).to(accountant) if "не отправлен" in m["Subject"]]
    text = returned.get_content()
    assert "Сообщаем, что" in text and "запятая" in text


def test_word_command_teaches_the_check_and_is_audited(daemon: Daemon) -> None:
    _request, notice, accountant = ask(daemon)
    answer = f"Справку подписала главный бухгалтер {UNKNOWN}. " + CLEAN
    send(daemon, reply(notice, accountant, answer.replace(UNKNOWN, UNKNOWN[:-2] + "ой")))
    assert _answers(daemon) == []  # unknown surname: returned
    [returned] = [m for m in transport(daemon).to(accountant) if "не отправлен" in m["Subject"]]
    send(daemon, reply(returned, accountant, f"{answer}\n#слово {UNKNOWN}"))
    [sent] = _answers(daemon)
    assert "#слово" not in _body(sent) and UNKNOWN in _body(sent)
    [added] = _events(daemon, "word-added")
    staff = daemon.rt.rules.staff_by_email(accountant)
    assert staff is not None and added.actor == staff.login
    assert json.loads(added.detail) == {"word": UNKNOWN}
    findings = daemon.rt.rules.textcheck.check(f"Справку выдали {UNKNOWN}.")
    assert [f.text for f in findings] == [UNKNOWN]  # the shipped rules stay as they were


def test_client_cannot_add_words(daemon: Daemon) -> None:
    _request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, CLEAN))
    [answer] = _answers(daemon)
    send(daemon, reply(answer, CLIENT, f"Спасибо.\n#слово {UNKNOWN}"))
    send(daemon, reply(notice, CLIENT, f"#слово {UNKNOWN}"))
    assert _events(daemon, "word-added") == []


def test_answer_greets_once_by_name_and_patronymic(daemon: Daemon) -> None:
    _request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, "Добрый день, Мария Петровна!\n\n" + CLEAN))
    [answer] = _answers(daemon)
    body = _body(answer)
    assert body.startswith("Уважаемая Мария Петровна!")  # the form's greeting, not the accountant's
    assert "Добрый день" not in body and body.count("Мария Петровна") == 1
    assert CLEAN in body


def _ack_for(daemon: Daemon, display_name: str, address: str) -> str:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"{display_name} <{address}>" if display_name else address
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = "Вопрос о зарплате"
    msg["Message-ID"] = f"<ack-{abs(hash(address))}@culture.example>"
    msg.set_content("Добрый день! Когда будет зарплата за май?")
    send(daemon, msg.as_bytes())
    [ack] = [m for m in transport(daemon).to(address) if "зарегистрировано" in m["Subject"]]
    return _body(ack)


def test_acknowledgment_greets_by_first_name_and_patronymic(daemon: Daemon) -> None:
    for display, address, hello in (
            ("Ковалева Мария Петровна", "kovaleva@culture.example", "Мария Петровна"),
            ("Сергей Николаевич Иванов", "ivanov@culture.example", "Сергей Николаевич")):
        first_line = next(line for line in _ack_for(daemon, display, address).splitlines()
                          if line.strip())
        assert first_line == f"Здравствуйте, {hello}!"


def test_acknowledgment_without_patronymic_greets_nobody_by_name(daemon: Daemon) -> None:
    for display, address in (("Мария Ковалева", "mk@culture.example"),
                             ("", "petrova.anna@culture.example")):
        first_line = next(line for line in _ack_for(daemon, display, address).splitlines()
                          if line.strip())
        assert first_line == "Здравствуйте!"


def test_word_command_takes_only_words() -> None:
    from buhdesk.reply.answers import parse_commands

    text, commands = parse_commands("Справка готова.\n#слово Буханцевой, «Техсервис-М» 123 <b>")
    assert text == "Справка готова."
    assert commands.words == ["Буханцевой", "Техсервис-М"]


def test_command_line_check_knows_the_installations_words(
        daemon: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``buhdesk textcheck`` with the installation's configuration accepts the «#слово» words
    stored by the daemon (SQLite and PostgreSQL), read without the ORM."""
    from buhdesk.cli.command import main

    answer = tmp_path / "answer.txt"
    answer.write_text(f"Справку выдали {UNKNOWN}.", encoding="utf-8")

    def flagged() -> list[str]:
        main(["--config", str(tmp_path / "buhdesk.toml"), "textcheck", "--json", str(answer)])
        return [f["text"] for f in json.loads(capsys.readouterr().out)["findings"]]

    assert flagged() == [UNKNOWN]
    _request, notice, accountant = ask(daemon)
    send(daemon, reply(notice, accountant, f"{CLEAN}\n#слово {UNKNOWN}"))
    assert len(_events(daemon, "word-added")) == 1
    assert flagged() == []


def test_command_line_check_never_creates_a_store(
        tmp_path: Path, make_config: Callable[..., Path], secret_env: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    from buhdesk.cli.command import main

    config = make_config(tmp_path)
    answer = tmp_path / "answer.txt"
    answer.write_text(f"Справку выдали {UNKNOWN}.", encoding="utf-8")
    assert main(["--config", str(config), "textcheck", "--json", str(answer)]) == 0
    assert [f["text"] for f in json.loads(capsys.readouterr().out)["findings"]] == [UNKNOWN]
    assert not list(tmp_path.glob("*.db*"))
