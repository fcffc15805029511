"""The accountant's tools over the core with in-memory mail (on SQLite and PostgreSQL): a
request's story, internal notes, search, the morning list and the staff commands by mail.

Letters go through the real route stage; the clock is the daemon's (conftest's PIPELINE_NOW, a
Tuesday at 12:00 in Moscow).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.agent.find import FindError, Query, find_requests
from buhdesk.agent.mylist import morning_lists
from buhdesk.agent.story import build_story
from buhdesk.agent.visibility import visible_condition
from buhdesk.cli.command import main as cli_main
from buhdesk.service.runner import Daemon
from buhdesk.store.models import Absence, Event, Message, Request
from harness.memory import MemorySource, MemoryTransport

MSK = ZoneInfo("Europe/Moscow")
CLIENT = "kovaleva@culture.example"
PAYROLL = ("Справка 2-НДФЛ", "Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год для банка.")
TRAVEL = ("Авансовый отчёт", "Прошу проверить авансовый отчёт по командировке в Москву.")


def letter(sender: str, subject: str, body: str, *, reply_to: EmailMessage | None = None) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = ("Re: " + str(reply_to["Subject"])) if reply_to is not None else subject
    msg["Message-ID"] = make_msgid(domain="mail.example")
    if reply_to is not None:
        msg["In-Reply-To"] = str(reply_to["Message-ID"])
        msg["References"] = str(reply_to["Message-ID"])
    msg.set_content(body)
    return msg.as_bytes()


def put(d: Daemon, data: bytes) -> None:
    src: MemorySource = d.sources[0]  # type: ignore[assignment]
    src.put(data)
    d.drain()


def sent_to(d: Daemon, address: str, words: str = "") -> list[EmailMessage]:
    transport: MemoryTransport = d.transport  # type: ignore[assignment]
    return [m for m in transport.to(address) if words in str(m["Subject"])]  # type: ignore[misc]


def text_of(m: EmailMessage) -> str:
    return str(m.get_content())  # type: ignore[attr-defined]


def only_request(d: Daemon) -> Request:
    with Session(d.rt.engine) as s:
        return s.execute(select(Request)).scalars().one()


def open_one(d: Daemon, subject_body: tuple[str, str] = PAYROLL,
             sender: str = CLIENT) -> tuple[Request, EmailMessage, str]:
    """A client's letter registered; the request, the notice and the assignee's address."""
    put(d, letter(sender, *subject_body))
    with Session(d.rt.engine) as s:
        request = s.execute(select(Request).order_by(Request.id.desc())).scalars().first()  # type: ignore[union-attr]
    assert request is not None and request.assignee
    email = d.rt.rules.staff[request.assignee].email
    notice = [m for m in sent_to(d, email, "Новое обращение") if request.number in str(m["Subject"])][-1]
    return request, notice, email


def story_of(d: Daemon, request: Request) -> list[tuple[str, str]]:
    with Session(d.rt.engine) as s:
        fresh = s.get(Request, request.id)
        assert fresh is not None
        return [(e.kind, e.text) for e in build_story(s, d.rt.rules, fresh).entries]


# --- the story and notes --------------------------------------------------------------------


def test_story_has_letters_assignment_return_note_and_close_in_order(daemon: Daemon) -> None:
    request, notice, email = open_one(daemon)
    put(daemon, letter(email, "", "Справка готова, её можно палучить в кабинете 215.",
                       reply_to=notice))
    returned = sent_to(daemon, email, "Ответ не отправлен")[-1]
    put(daemon, letter(email, "", "#заметка клиентка звонила, просит к пятнице", reply_to=returned))
    put(daemon, letter(email, "", "Справка готова, её можно получить в кабинете 215.\n#закрыть",
                       reply_to=returned))
    kinds = [k for k, _ in story_of(daemon, request)]
    texts = "\n".join(t for _, t in story_of(daemon, request))
    order = ["registered", "assigned", "deadline", "returned", "note", "answered", "state"]
    positions = [kinds.index(k) for k in order]
    assert positions == sorted(positions), kinds
    assert kinds[0] == "letter-in" and "Прошу выдать справку" in texts
    assert "палучить" in texts  # the finding the answer came back with
    assert "клиентка звонила" in texts and "Обращение закрыто" in texts
    name = daemon.rt.rules.staff[request.assignee or ""].name
    assert f"Назначено: {name}" in texts
    # the note never reached the client, and the answer went without the command line
    client_letters = "\n".join(text_of(m) for m in sent_to(daemon, CLIENT))
    assert "клиентка звонила" not in client_letters and "#заметка" not in client_letters
    assert "получить в кабинете 215" in client_letters
    [note] = [e for e in events(daemon, "note")]
    assert json.loads(note.detail)["text"] == "клиентка звонила, просит к пятнице"


def events(d: Daemon, action: str) -> list[Event]:
    with Session(d.rt.engine) as s:
        return list(s.execute(select(Event).where(Event.action == action)).scalars())


def test_a_note_alone_sends_nothing_and_later_notices_repeat_it(daemon: Daemon) -> None:
    request, notice, email = open_one(daemon)
    before = len(daemon.transport.sent)  # type: ignore[attr-defined]
    put(daemon, letter(email, "", "#заметка уточнить табель у кадров", reply_to=notice))
    assert len(daemon.transport.sent) == before  # type: ignore[attr-defined]
    assert only_request(daemon).state == "assigned"
    ack = sent_to(daemon, CLIENT, "зарегистрировано")[-1]
    put(daemon, letter(CLIENT, "", "И ещё за 2024 год, пожалуйста.", reply_to=ack))
    followup = sent_to(daemon, email, "Новое письмо клиента")[-1]
    assert "Служебные заметки" in text_of(followup)
    assert "уточнить табель у кадров" in text_of(followup)
    assert all("табель" not in text_of(m) for m in sent_to(daemon, CLIENT))


def test_history_by_mail_goes_to_the_staff_member(daemon: Daemon) -> None:
    request, notice, email = open_one(daemon)
    put(daemon, letter(email, "", "#история", reply_to=notice))
    [story] = sent_to(daemon, email, f"история обращения {request.number}")
    body = text_of(story)
    assert "Прошу выдать справку" in body and "Назначено:" in body
    assert only_request(daemon).state == "assigned"  # not an answer
    assert len(sent_to(daemon, CLIENT)) == 1  # the acknowledgment only
    [cmd] = events(daemon, "staff-command")
    assert json.loads(cmd.detail)["command"] == "#история"


def test_history_from_a_client_is_refused_politely(daemon: Daemon) -> None:
    request, _notice, _email = open_one(daemon)
    ack = sent_to(daemon, CLIENT, "зарегистрировано")[-1]
    put(daemon, letter(CLIENT, "", "#история", reply_to=ack))
    [refusal] = sent_to(daemon, CLIENT, "Команда не выполнена")
    assert "только для сотрудников" in text_of(refusal)
    assert request.number not in text_of(refusal)
    assert events(daemon, "staff-command-refused")


# --- search -----------------------------------------------------------------------------------


def test_find_by_words_in_any_form_client_state_and_dates(daemon: Daemon) -> None:
    payroll, _, _ = open_one(daemon, PAYROLL)
    travel, _, _ = open_one(daemon, TRAVEL, sender="nikitin@archive.example")
    tz = daemon.rt.config.service.tz
    lem = daemon.rt.rules.ruleset.classifier.lemmatizer
    with Session(daemon.rt.engine) as s:
        def numbers(**kw: object) -> list[str]:
            return [f.request.number for f in find_requests(s, lem, Query(**kw), tz=tz)]  # type: ignore[arg-type]

        assert numbers(words="справки") == [payroll.number]
        assert numbers(words="авансового отчёта") == [travel.number]
        assert numbers(words="справка командировка") == []  # every word must be there
        assert numbers(client="NIKITIN@") == [travel.number]
        assert numbers(client="archive") == [travel.number]
        assert numbers(number=payroll.number[-6:]) == [payroll.number]
        assert numbers(states=("assigned",)) == [travel.number, payroll.number]  # newest first
        assert numbers(states=("closed",)) == []
        day = daemon.rt.now().astimezone(tz).date()
        assert numbers(since=day, until=day) == [travel.number, payroll.number]
        assert numbers(since=day + timedelta(days=1)) == []
        assert numbers(process=travel.process) == [travel.number]
        with pytest.raises(FindError):
            numbers()
        with pytest.raises(FindError):
            numbers(words="и в на")


def test_find_by_mail_sees_only_visible_requests(daemon: Daemon) -> None:
    request, _notice, email = open_one(daemon)
    with Session(daemon.rt.engine) as s:  # one request nobody was assigned to
        s.add(Request(number="БУХ-2026-900001", state="new", subject="Справка о зарплате",
                      client_email="x@culture.example"))
        s.commit()
    put(daemon, letter(email, "Поиск", "#найти справку"))
    [found] = sent_to(daemon, email, "найдено по запросу")
    assert request.number in text_of(found)
    assert "БУХ-2026-900001" not in text_of(found)  # unassigned: the head's, not an accountant's
    head = next(m for m in daemon.rt.rules.staff.values() if m.role == "head")
    put(daemon, letter(head.email, "Поиск", "#найти справку"))
    [for_head] = sent_to(daemon, head.email, "найдено по запросу")
    assert request.number in text_of(for_head) and "БУХ-2026-900001" in text_of(for_head)
    with Session(daemon.rt.engine) as s:
        assert s.execute(select(Request)).scalars().all().__len__() == 2  # no request opened
    member = daemon.rt.rules.staff[request.assignee or ""]
    assert visible_condition(daemon.rt.rules.staff, [], member, date(2026, 11, 24)) is not None


def test_find_from_a_stranger_opens_no_request(daemon: Daemon) -> None:
    put(daemon, letter("stranger@other.example", "Поиск", "#найти справку"))
    [refusal] = sent_to(daemon, "stranger@other.example")
    assert "Команда не выполнена" in str(refusal["Subject"])
    with Session(daemon.rt.engine) as s:
        assert s.execute(select(Request)).first() is None
        msg = s.execute(select(Message).where(Message.direction == "in")).scalars().one()
        assert (msg.kind, msg.status) == ("command", "ignored")


# --- my requests ------------------------------------------------------------------------------


def _set(d: Daemon, number: str, **values: object) -> None:
    with Session(d.rt.engine) as s:
        r = s.execute(select(Request).where(Request.number == number)).scalars().one()
        for k, v in values.items():
            setattr(r, k, v)
        s.commit()


def test_morning_list_orders_sections_skips_days_off_and_goes_once(daemon: Daemon) -> None:
    a, _, email = open_one(daemon, PAYROLL)
    b, _, _ = open_one(daemon, PAYROLL, sender="second@culture.example")
    c, _, _ = open_one(daemon, PAYROLL, sender="third@culture.example")
    _set(daemon, a.number, state="waiting")
    _set(daemon, b.number, assignee=a.assignee, due_at=datetime(2026, 11, 25, 17, 0, tzinfo=MSK))  # Wednesday
    _set(daemon, c.number, assignee=a.assignee, due_at=datetime(2026, 11, 24, 10, 0, tzinfo=MSK))  # Tuesday morning
    clock = daemon.clock  # type: ignore[attr-defined]
    clock[0] = datetime(2026, 11, 28, 9, 0, tzinfo=MSK)  # Saturday
    assert morning_lists(daemon.rt, clock[0]) == 0
    clock[0] = datetime(2026, 11, 25, 8, 0, tzinfo=MSK)  # Wednesday, before the digest time
    assert morning_lists(daemon.rt, clock[0]) == 0
    clock[0] = datetime(2026, 11, 25, 8, 40, tzinfo=MSK)
    assert morning_lists(daemon.rt, clock[0]) == 1  # one accountant has open requests
    assert morning_lists(daemon.rt, clock[0]) == 0  # claimed: a restart sends nothing again
    daemon.drain()
    [mine] = sent_to(daemon, email, "Мои обращения на 25 ноября")
    body = text_of(mine)
    overdue, today, waiting = (body.index(w) for w in ("Просрочено", "Срок сегодня",
                                                       "Ждут сведений"))
    assert overdue < body.index(c.number) < today < body.index(b.number) < waiting \
        < body.index(a.number)
    assert "mailto:buh@minfin.example?subject=Re%3A%20%5B" in body and "In-Reply-To=" in body


def test_absent_accountant_gets_no_list_and_the_deputy_gets_a_section(daemon: Daemon) -> None:
    request, _, email = open_one(daemon)
    member = daemon.rt.rules.staff[request.assignee or ""]
    deputy = daemon.rt.rules.staff[member.deputy or ""]
    with Session(daemon.rt.engine) as s:
        s.add(Absence(login=member.login, start=date(2026, 11, 25), end=date(2026, 11, 27),
                      reason="отпуск"))
        s.commit()
    clock = daemon.clock  # type: ignore[attr-defined]
    clock[0] = datetime(2026, 11, 25, 8, 40, tzinfo=MSK)
    morning_lists(daemon.rt, clock[0])
    daemon.drain()
    assert sent_to(daemon, email, "Мои обращения на 25 ноября") == []
    [covering] = sent_to(daemon, deputy.email, "Мои обращения на 25 ноября")
    body = text_of(covering)
    assert f"За отсутствующего коллегу: {member.name}" in body and request.number in body


def test_my_list_by_mail_at_any_time(daemon: Daemon) -> None:
    request, _, email = open_one(daemon)
    put(daemon, letter(email, "мои", "#мои"))
    [mine] = [m for m in sent_to(daemon, email, "Мои обращения")
              if "по состоянию на" in text_of(m)]  # the morning's list went at 08:30
    assert request.number in text_of(mine)
    assert mine["In-Reply-To"] and mine["Auto-Submitted"] == "auto-replied"


# --- the command line -------------------------------------------------------------------------


def test_show_and_find_from_the_command_line(daemon: Daemon, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    request, notice, email = open_one(daemon)
    put(daemon, letter(email, "", "#заметка проверить банк", reply_to=notice))
    config = str(tmp_path / "buhdesk.toml")
    assert cli_main(["--config", config, "show", request.number, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["number"] == request.number and shown["assignee"] == request.assignee
    assert {"at", "kind", "actor", "text"} <= set(shown["entries"][0])
    assert any(e["kind"] == "note" and "проверить банк" in e["text"] for e in shown["entries"])
    assert cli_main(["--config", config, "show", request.number]) == 0
    text = capsys.readouterr().out
    assert f"Обращение {request.number}" in text and "проверить банк" in text
    assert cli_main(["--config", config, "find", "справок", "--json"]) == 0
    [found] = json.loads(capsys.readouterr().out)
    assert found["number"] == request.number and found["matched_words"] == ["справок"]
    assert cli_main(["--config", config, "find", "--client", "nobody@"]) == 0
    assert "Найдено обращений: 0." in capsys.readouterr().out
    assert cli_main(["--config", config, "show", "БУХ-2026-999999"]) == 1
    assert "не найдено" in capsys.readouterr().err
