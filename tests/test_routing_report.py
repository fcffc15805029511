"""`buhdesk report routing`: corrections and transfers with the decision they undid, and the terms
that most often led the rules to a wrong process or need."""

from __future__ import annotations

import argparse
import csv
import io
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.cli import reports as cli_reports
from buhdesk.reply.answers import transfer
from buhdesk.config import load_config
from buhdesk.route.corrections import correct_request
from buhdesk.store.models import Event, Request
from buhdesk.reports.routing import register_routing_report, render_text, routing_report
from buhdesk.service.runner import Daemon
from harness.memory import MemorySource

LETTERS = {
    "vacation-1": ("Вопрос по отпуску",
                   "Как учитывается отпуск при расчёте за декабрь? Прошу разъяснить."),
    "vacation-2": ("Отпуск в декабре", "Добрый день! Прошу учесть мой отпуск с 1 по 14 декабря."),
    "fare": ("Проезд до Москвы", "Прошу оплатить проезд до Москвы."),
    "bonus": ("Премия", "Когда будет выплачена премия за квартал?"),
}


def letter(mid: str, subject: str, body: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = (f"{mid}@culture.admin-smolensk.ru",
                                              "buh@minfin.example", subject)
    msg["Message-ID"] = f"<{mid}@client.example>"
    msg["Date"] = "Tue, 24 Nov 2026 12:00:00 +0300"
    msg.set_content(body)
    return msg.as_bytes()


@pytest.fixture
def misrouted(daemon: Daemon) -> dict[str, Request]:
    """Four letters routed, then three corrected and one transferred by people."""
    source = daemon.sources[0]
    assert isinstance(source, MemorySource)
    for mid, (subject, body) in LETTERS.items():
        source.put(letter(mid, subject, body))
    daemon.drain()
    rt = daemon.rt
    with Session(rt.engine) as s:
        reqs = {r.client_email.split("@")[0]: r  # type: ignore[union-attr]
                for r in s.exec(select(Request)).scalars()}  # type: ignore[call-overload]
        assert {k: r.process for k, r in reqs.items()} == {
            "vacation-1": "payroll", "vacation-2": "payroll", "fare": "travel",
            "bonus": "payroll"}
        for key in ("vacation-1", "vacation-2"):
            correct_request(s, rt.rules, reqs[key].number, process="timesheet", actor="ivanova")
        correct_request(s, rt.rules, reqs["fare"].number, need="information", actor="nikolaev",
                        note="спрашивают порядок")
        target = "tarasova" if reqs["bonus"].assignee != "tarasova" else "ivanova"
        transfer(s, rt, reqs["bonus"], target, actor=reqs["bonus"].assignee or "admin")
        s.commit()
        for r in reqs.values():
            s.refresh(r)
        s.expunge_all()
    return reqs


def run_report(config: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="buhdesk")
    parser.add_argument("--config")
    commands = cli_reports.register(parser.add_subparsers(dest="command", required=True),
                                    lambda a: load_config(Path(a.config)))
    register_routing_report(commands)
    args = parser.parse_args(["--config", str(config), "report", "routing", *argv])
    return int(args.func(args))


def test_terms_that_misled_most_come_first(daemon: Daemon,
                                           misrouted: dict[str, Request]) -> None:
    rt = daemon.rt
    report = routing_report(rt.engine, rt.rules, None, None, rt.config.service.tz)
    assert len(report.misroutes) == 4
    assert [m.kind for m in report.misroutes].count("transfer") == 1
    top = report.terms[0]
    assert (top.term, top.rule, top.klass, top.code) == ("отпуск", "зарплата-сопутствующее",
                                                         "process", "payroll")
    assert top.requests == 2 and len(top.corrections) == 2 and top.right == {"timesheet": 2}
    need = next(t for t in report.terms if t.klass == "need")
    assert (need.code, need.term, need.right) == ("submission", "прошу оплатить",
                                                  {"information": 1})
    bonus = next(t for t in report.terms if t.term == "премия")
    assert bonus.transfers == {misrouted["bonus"].number} and not bonus.corrections
    fare = next(m for m in report.misroutes if m.number == misrouted["fare"].number)
    assert (fare.old_need, fare.new_need, fare.old_process) == ("submission", "information",
                                                                "travel")
    # the need correction does not blame the process terms («проезд» decided travel rightly)
    assert all(klass == "need" for klass, *_ in fare.misleading)


def test_text_report_in_russian(daemon: Daemon, misrouted: dict[str, Request],
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run_report(daemon.rt.config.file) == 0
    out = capsys.readouterr().out
    assert out.startswith("Ошибки маршрутизации с начала учёта по сегодняшний день")
    assert ("«отпуск» (правило зарплата-сопутствующее) → процесс «Начисление и выплата "
            "заработной платы»: обращений 2 (исправлений 2, передач 0); верно: Учёт рабочего "
            "времени (2)") in out
    assert (f"{misrouted['fare'].number} — исправление (nikolaev): потребность: Представление "
            "заявления, обращения, документов → Получение информации; примечание: спрашивают "
            "порядок") in out
    assert f"{misrouted['bonus'].number} — передача" in out


def test_csv_and_html(daemon: Daemon, misrouted: dict[str, Request], tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    assert run_report(daemon.rt.config.file, "--format", "csv") == 0
    terms_part, misroutes_part = capsys.readouterr().out.split("\n\n")
    terms = list(csv.DictReader(io.StringIO(terms_part), delimiter=";"))
    assert terms[0]["Термин"] == "отпуск" and terms[0]["Обращений"] == "2"
    assert terms[0]["Неверное решение"] == "Начисление и выплата заработной платы"
    rows = list(csv.DictReader(io.StringIO(misroutes_part), delimiter=";"))
    assert sorted(r["Обращение"] for r in rows) == sorted(r.number for r in misrouted.values())
    output = tmp_path / "routing.html"
    assert run_report(daemon.rt.config.file, "--format", "html", "-o", str(output)) == 0
    html = output.read_text(encoding="utf-8")
    assert "<h1>Ошибки маршрутизации" in html and "<td>отпуск</td>" in html


def test_period_limits_the_report(daemon: Daemon, misrouted: dict[str, Request],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    first = misrouted["vacation-1"]
    with Session(daemon.rt.engine) as s:
        ev = s.exec(select(Event).where(Event.request_id == first.id,  # type: ignore[call-overload]
                                        Event.action == "corrected")).scalars().one()
        ev.at = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
        s.commit()
    rt = daemon.rt
    report = routing_report(rt.engine, rt.rules, date(2026, 2, 1), None, rt.config.service.tz)
    assert first.number not in {m.number for m in report.misroutes}
    assert report.terms[0].term != "отпуск" or report.terms[0].requests == 1
    january = routing_report(rt.engine, rt.rules, date(2026, 1, 1), date(2026, 1, 31),
                             rt.config.service.tz)
    assert [m.number for m in january.misroutes] == [first.number]
    assert "с 01.01.2026 по 31.01.2026" in render_text(january, rt.rules, rt.config.service.tz)
    assert run_report(rt.config.file, "--from", "2026-02-01", "--to", "2026-01-01") == 2
    assert "конец периода (01.01.2026) раньше начала (01.02.2026)" in capsys.readouterr().err


def test_no_misroutes(daemon: Daemon, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_report(daemon.rt.config.file, "--from", "01.11.2026", "--to", "30.11.2026") == 0
    assert "Исправлений и передач за период нет." in capsys.readouterr().out
