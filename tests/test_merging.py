"""Merging a duplicate request and splitting letters off again, by mail («#объединить») and from
the command line (``buhdesk merge`` / ``buhdesk split``), on SQLite and PostgreSQL.

Letters go through the real route stage with in-memory mail; the clock is the daemon's.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session
from test_agent_tools import CLIENT, PAYROLL, TRAVEL, letter, open_one, put, sent_to, text_of

from buhdesk.agent.story import build_story
from buhdesk.cli.command import main as cli_main
from buhdesk.reports.sla import load_times
from buhdesk.service.runner import Daemon
from buhdesk.store.models import Absence, Event, Message, Request

OTHER_CLIENT = "smirnova@sport.example"


def fresh(d: Daemon, number: str) -> Request:
    with Session(d.rt.engine) as s:
        return s.execute(select(Request).where(Request.number == number)).scalars().one()


def letters_of(d: Daemon, request: Request) -> list[Message]:
    with Session(d.rt.engine) as s:
        return list(s.execute(select(Message).where(
            Message.request_id == request.id, Message.direction == "in")
            .order_by(Message.id)).scalars())  # type: ignore[arg-type]


def requests(d: Daemon) -> list[Request]:
    with Session(d.rt.engine) as s:
        return list(s.execute(select(Request).order_by(Request.id)).scalars())  # type: ignore[arg-type]


def two_of_the_same(d: Daemon, second_client: str = CLIENT) -> tuple[Request, Request, str]:
    """The client writes the same question twice: two requests; the survivor's notice address."""
    first, notice, email = open_one(d)
    put(d, letter(second_client, PAYROLL[0], PAYROLL[1] + " Повторно."))
    second = requests(d)[-1]
    assert second.id != first.id
    return first, second, email


def test_merge_by_mail_moves_letters_tells_the_client_once_and_counts_once(
        daemon: Daemon) -> None:
    first, second, email = two_of_the_same(daemon)
    notice = [m for m in sent_to(daemon, email, "Новое обращение")
              if first.number in str(m["Subject"])][-1]
    before = len(sent_to(daemon, CLIENT))
    put(daemon, letter(email, "", f"#объединить {second.number}", reply_to=notice))

    merged, survivor = fresh(daemon, second.number), fresh(daemon, first.number)
    assert (merged.state, merged.merged_into) == ("merged", survivor.id)
    assert survivor.state == "assigned"
    assert [m.kind for m in letters_of(daemon, survivor)].count("request") == 2
    assert letters_of(daemon, merged) == []
    told = sent_to(daemon, CLIENT)[before:]
    assert len(told) == 1  # one letter about the merge, nothing else
    assert "объединено" in str(told[0]["Subject"]) and survivor.number in text_of(told[0])
    # the story of each side says what happened
    with Session(daemon.rt.engine) as s:
        texts = [e.text for e in build_story(s, daemon.rt.rules, survivor).entries]
        merged_texts = [e.text for e in build_story(
            s, daemon.rt.rules, s.get(Request, merged.id)).entries]  # type: ignore[arg-type]
    assert any(f"Присоединено обращение {merged.number}" in t for t in texts)
    assert any(f"присоединено к {survivor.number}" in t for t in merged_texts)

    # the client replies to the duplicate's acknowledgment: the letter joins the survivor
    ack = sent_to(daemon, CLIENT, f"[{merged.number}]")[0]
    put(daemon, letter(CLIENT, "", "Справка нужна к пятнице.", reply_to=ack))
    assert len(requests(daemon)) == 2
    assert letters_of(daemon, survivor)[-1].kind == "followup"

    # one answer closes the matter; the SLA report sees one request
    put(daemon, letter(email, "", "Справка готова, её можно получить в кабинете 215.\n#закрыть",
                       reply_to=notice))
    assert fresh(daemon, first.number).state == "closed"
    assert fresh(daemon, second.number).state == "merged"
    day = date(2026, 11, 24)
    times = load_times(daemon.rt.engine, day - timedelta(days=1), day + timedelta(days=1),
                       daemon.rt.config.service.tz)
    assert [t.number for t in times] == [first.number]


def test_a_different_clients_duplicate_gets_the_answer_too(daemon: Daemon) -> None:
    first, second, email = two_of_the_same(daemon, second_client=OTHER_CLIENT)
    notice = [m for m in sent_to(daemon, email, "Новое обращение")
              if first.number in str(m["Subject"])][-1]
    put(daemon, letter(email, "", f"Справка готова.\n#объединить {second.number}",
                       reply_to=notice))
    [answer] = [m for m in sent_to(daemon, CLIENT) if "Справка готова" in text_of(m)]
    assert OTHER_CLIENT in str(answer["Cc"])
    assert len([m for m in sent_to(daemon, OTHER_CLIENT) if "объединено" in str(m["Subject"])]) == 1


def test_a_reply_to_the_duplicates_old_notice_answers_the_survivor(daemon: Daemon,
                                                                   tmp_path: Path) -> None:
    first, second, email = two_of_the_same(daemon)
    if second.assignee != first.assignee:  # the accountant of both
        assert cli_main(["--config", str(tmp_path / "buhdesk.toml"), "transfer", second.number,
                         str(first.assignee), "--actor", str(second.assignee)]) == 0
        daemon.drain()  # the notice of the transfer goes out
    [kept] = [m for m in sent_to(daemon, email, first.number)][-1:]
    [old] = [m for m in sent_to(daemon, email, second.number)][-1:]
    put(daemon, letter(email, "", f"#объединить {second.number}", reply_to=kept))
    before = len(sent_to(daemon, CLIENT))
    # the accountant answers on the notice they had for the duplicate, not the survivor's
    put(daemon, letter(email, "", "Справка готова, её можно получить в кабинете 215.",
                       reply_to=old))
    answers = [m for m in sent_to(daemon, CLIENT)[before:] if "кабинете 215" in text_of(m)]
    assert len(answers) == 1 and first.number in str(answers[0]["Subject"])
    assert fresh(daemon, first.number).state == "answered"
    assert fresh(daemon, second.number).state == "merged"
    with Session(daemon.rt.engine) as s:
        notes = s.execute(select(Event).where(Event.action == "staff-note")).scalars().all()
        allowed = [json.loads(e.detail)["why"] for e in s.execute(select(Event).where(
            Event.action == "authorised")).scalars()]
    assert notes == []
    assert any(f"обращению {second.number}, объединённому с этим" in why for why in allowed)


def test_the_duplicates_old_notice_gives_no_right_over_the_survivor(daemon: Daemon) -> None:
    first, second, email = two_of_the_same(daemon)
    assert second.assignee != first.assignee  # the balancing gives the duplicate to another
    other = daemon.rt.rules.staff[str(second.assignee)].email
    [old] = [m for m in sent_to(daemon, other, second.number)][-1:]
    [kept] = [m for m in sent_to(daemon, email, first.number)][-1:]
    put(daemon, letter(email, "", f"#объединить {second.number}", reply_to=kept))
    before = len(sent_to(daemon, CLIENT))
    # the duplicate's accountant answers on their old notice: the survivor is not theirs
    put(daemon, letter(other, "", "Справка готова, её можно получить в кабинете 215.",
                       reply_to=old))
    assert [m for m in sent_to(daemon, CLIENT)[before:] if "кабинете 215" in text_of(m)] == []
    assert fresh(daemon, first.number).state == "assigned"
    with Session(daemon.rt.engine) as s:
        [note] = s.execute(select(Event).where(Event.action == "staff-note")).scalars().all()
    assert note.request_id == first.id
    assert f"обращению {second.number}, объединённому с этим" in json.loads(note.detail)["why"]


def test_merge_refusals_return_the_letter_and_change_nothing(daemon: Daemon) -> None:
    first, notice, email = open_one(daemon)
    with Session(daemon.rt.engine) as s:  # nobody's yet: an accountant may not take it in
        s.add(Request(number="БУХ-2026-900001", state="new", subject="Справка о зарплате",
                      client_email="x@culture.example"))
        s.commit()
    cases = [("#объединить БУХ-2026-999999", "не найдено"),
             ("#объединить БУХ-2026-900001", "никому не назначено"),
             (f"#объединить {first.number}", "с самим собой"),
             ("#объединить", "нужно указать номер обращения")]
    for line, why in cases:
        put(daemon, letter(email, "", line, reply_to=notice))
        returned = sent_to(daemon, email, "не отправлен")[-1]
        assert why in text_of(returned), (line, text_of(returned))
        # a command that cannot run is not a text-check finding: the letter says which it is
        assert "команда не выполнена" in str(returned["Subject"])
        assert "проверка нашла" not in text_of(returned) and "#слово" not in text_of(returned)
    assert [r.state for r in requests(daemon)] == ["assigned", "new"]
    with Session(daemon.rt.engine) as s:
        assert s.execute(select(Event).where(Event.action == "merged")).first() is None


def test_a_client_cannot_merge(daemon: Daemon) -> None:
    first, second, _email = two_of_the_same(daemon)
    ack = sent_to(daemon, CLIENT, f"[{first.number}]")[0]
    put(daemon, letter(CLIENT, "", f"#объединить {second.number}", reply_to=ack))
    assert fresh(daemon, second.number).state == "assigned"
    assert fresh(daemon, second.number).merged_into is None


def test_merge_and_split_from_the_command_line(daemon: Daemon, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    first, second, _email = two_of_the_same(daemon)
    config = str(tmp_path / "buhdesk.toml")
    assert cli_main(["--config", config, "merge", first.number, second.number.lower(),
                     "--as", "buhanceva"]) == 0
    assert f"К обращению {first.number} присоединено: {second.number}" in capsys.readouterr().out
    assert fresh(daemon, second.number).state == "merged"
    # merging it again, or into the merged one, is refused with the reason
    assert cli_main(["--config", config, "merge", second.number, first.number]) == 1
    assert "уже присоединено" in capsys.readouterr().err

    assert cli_main(["--config", config, "show", first.number, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    letter_ids = [e["letter"] for e in shown["entries"] if e["kind"] == "letter-in"]
    assert len(letter_ids) == 2
    # the letter the merge brought goes back: the duplicate is restored
    assert cli_main(["--config", config, "split", first.number, str(letter_ids[1])]) == 0
    assert second.number in capsys.readouterr().out
    restored = fresh(daemon, second.number)
    assert (restored.state, restored.merged_into) == ("assigned", None)
    assert [m.id for m in letters_of(daemon, restored)] == [letter_ids[1]]
    # the last client letter cannot leave; a letter that is not the client's cannot either
    assert cli_main(["--config", config, "split", first.number, str(letter_ids[0])]) == 1
    assert "хотя бы одно письмо" in capsys.readouterr().err
    assert cli_main(["--config", config, "split", first.number, str(letter_ids[1])]) == 1
    assert "не являются письмами клиента" in capsys.readouterr().err

    # a follow-up about another matter becomes a request of its own, acknowledged to the client
    ack = sent_to(daemon, CLIENT, f"[{first.number}]")[0]
    put(daemon, letter(CLIENT, "", TRAVEL[1], reply_to=ack))
    followup = letters_of(daemon, fresh(daemon, first.number))[-1]
    assert cli_main(["--config", config, "split", first.number, str(followup.id)]) == 0
    capsys.readouterr()
    new = requests(daemon)[-1]
    assert new.id not in (first.id, second.id) and new.parent_id == first.id
    assert new.process == "travel"
    assert [m.id for m in letters_of(daemon, new)] == [followup.id]
    daemon.drain()  # the command queued the acknowledgment; the daemon delivers it
    assert sent_to(daemon, CLIENT, f"[{new.number}]")
    with Session(daemon.rt.engine) as s:
        split = s.execute(select(Event).where(Event.action == "split")).scalars().all()
    assert [json.loads(e.detail)["new"] for e in split] == [second.number, new.number]



def test_an_absent_accountants_deputy_merges(daemon: Daemon) -> None:
    first, _notice, _email = open_one(daemon)
    member = daemon.rt.rules.staff[first.assignee or ""]
    deputy = daemon.rt.rules.staff[member.deputy or ""]
    with Session(daemon.rt.engine) as s:
        s.add(Absence(login=member.login, start=date(2026, 11, 24), end=date(2026, 11, 27),
                      reason="отпуск"))
        s.commit()
    put(daemon, letter(CLIENT, PAYROLL[0], PAYROLL[1] + " Повторно."))
    second = requests(daemon)[-1]
    ack = sent_to(daemon, CLIENT, f"[{first.number}]")[0]
    put(daemon, letter(CLIENT, "", "Справка нужна к пятнице.", reply_to=ack))
    [followup] = [m for m in sent_to(daemon, deputy.email, "Новое письмо клиента")
                  if first.number in str(m["Subject"])]
    put(daemon, letter(deputy.email, "", f"#объединить {second.number}", reply_to=followup))
    merged = fresh(daemon, second.number)
    assert (merged.state, merged.merged_into) == ("merged", first.id)
    with Session(daemon.rt.engine) as s:
        [event] = s.execute(select(Event).where(Event.action == "merged")).scalars().all()
    assert event.actor == deputy.login
