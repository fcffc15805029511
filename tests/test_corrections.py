"""Correcting a request's process or need by hand: the request changes and the audit trail keeps
the old and new decision, who corrected it and the classification hits that had decided."""

from __future__ import annotations

import argparse
import json
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.cli import admin as cli_admin
from buhdesk.config import load_config
from buhdesk.route.corrections import CorrectionError, correct_request
from buhdesk.store.models import Event, Request
from buhdesk.service.runner import Daemon
from harness.memory import MemorySource

VACATION = ("Вопрос по отпуску",
            "Добрый день! Как учитывается отпуск при расчёте за декабрь? Прошу разъяснить.")


def letter(sender: str, subject: str, body: str, mid: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = sender, "buh@minfin.example", subject
    msg["Message-ID"] = f"<{mid}@client.example>"
    msg["Date"] = "Tue, 24 Nov 2026 12:00:00 +0300"
    msg.set_content(body)
    return msg.as_bytes()


def registered(d: Daemon, subject: str, body: str, mid: str = "one") -> Request:
    source = d.sources[0]
    assert isinstance(source, MemorySource)
    source.put(letter("orlova@culture.admin-smolensk.ru", subject, body, mid))
    d.drain()
    with Session(d.rt.engine) as s:
        return s.exec(select(Request).order_by(Request.id.desc())).scalars().first()  # type: ignore[call-overload, union-attr]


def corrected_events(d: Daemon) -> list[Event]:
    with Session(d.rt.engine) as s:
        return list(s.exec(select(Event).where(Event.action == "corrected")).scalars())  # type: ignore[call-overload]


def run_cli(config: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="buhdesk")
    parser.add_argument("--config")
    cli_admin.register(parser.add_subparsers(dest="command", required=True),
                       lambda a: load_config(Path(a.config)))
    args = parser.parse_args(["--config", str(config), *argv])
    return int(args.func(args))


def test_process_correction_is_recorded_with_the_hits_that_decided(daemon: Daemon) -> None:
    req = registered(daemon, *VACATION)
    assert req.process == "payroll"  # «отпуск» pulled it to payroll; the accountant says time sheet
    with Session(daemon.rt.engine) as s:
        c = correct_request(s, daemon.rt.rules, req.number, process="timesheet", actor="ivanova",
                            note="вопрос о табеле")
        s.commit()
    assert (c.old_process, c.new_process) == ("payroll", "timesheet")
    assert c.old_need == c.new_need == req.need
    with Session(daemon.rt.engine) as s:
        fresh = s.get(Request, req.id)
        assert fresh is not None and (fresh.process, fresh.need) == ("timesheet", req.need)
    [ev] = corrected_events(daemon)
    assert (ev.stage, ev.actor, ev.request_id) == ("route", "ivanova", req.id)
    detail = json.loads(ev.detail)
    assert detail["old_process"] == "payroll" and detail["new_process"] == "timesheet"
    assert detail["who"] == "ivanova" and detail["note"] == "вопрос о табеле"
    wrong = [h for h in detail["hits"] if h["kind"] == "process" and h["code"] == "payroll"]
    assert wrong and "отпуск" in wrong[0]["terms"] and wrong[0]["rule"] == "зарплата-сопутствующее"


def test_need_only_correction_keeps_the_process(daemon: Daemon) -> None:
    req = registered(daemon, "Проезд до Москвы", "Прошу оплатить проезд до Москвы.")
    assert (req.process, req.need) == ("travel", "submission")
    with Session(daemon.rt.engine) as s:
        c = correct_request(s, daemon.rt.rules, req.number, need="information")
        s.commit()
    assert c.old_process == c.new_process == "travel"
    assert (c.old_need, c.new_need, c.actor) == ("submission", "information", "admin")


@pytest.mark.parametrize(("options", "words"), [
    ({"process": "salary"}, "неизвестный код процесса «salary»"),
    ({"need": "misc"}, "неизвестный код потребности «misc»"),
    ({}, "укажите новый процесс"),
    ({"process": "payroll"}, "исправлять нечего"),
])
def test_refused_corrections_change_nothing(daemon: Daemon, options: dict[str, str],
                                            words: str) -> None:
    req = registered(daemon, *VACATION)
    with Session(daemon.rt.engine) as s, pytest.raises(CorrectionError, match=words) as caught:
        correct_request(s, daemon.rt.rules, req.number, **options)
    if "salary" in words:
        assert "payroll (Начисление и выплата заработной платы)" in str(caught.value)
    assert corrected_events(daemon) == []
    with Session(daemon.rt.engine) as s:
        fresh = s.get(Request, req.id)
        assert fresh is not None and fresh.process == "payroll"


def test_unknown_request_number(daemon: Daemon) -> None:
    with Session(daemon.rt.engine) as s, pytest.raises(CorrectionError,
                                                       match="БУХ-2026-999999 не найдено"):
        correct_request(s, daemon.rt.rules, "БУХ-2026-999999", process="travel")


def test_correct_command(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    req = registered(daemon, *VACATION)
    config = daemon.rt.config.file
    assert run_cli(config, "correct", req.number, "--process", "timesheet", "--as", "petrova",
                   "--note", "табель") == 0
    out = capsys.readouterr().out
    assert f"Обращение {req.number} исправлено" in out
    assert "Начисление и выплата заработной платы → Учёт рабочего времени" in out
    [ev] = corrected_events(daemon)
    assert ev.actor == "petrova"
    assert run_cli(config, "correct", req.number, "--need", "forms", "--as", "nobody") == 2
    assert "«nobody» не найден" in capsys.readouterr().err
    assert run_cli(config, "correct", req.number, "--process", "zarplata") == 2
    assert "неизвестный код процесса «zarplata»" in capsys.readouterr().err
    assert len(corrected_events(daemon)) == 1
