"""The administrators' commands as they are run: `buhdesk list` (every request with its deadline),
`buhdesk absences import|list` (the HR time sheet, which routing then respects)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.cli import admin as cli_admin
from buhdesk.cli.admin import list_requests
from buhdesk.config import load_config
from buhdesk.store.models import Absence, Request
from buhdesk.service.runner import Daemon
from harness.memory import MemorySource

MOSCOW = ZoneInfo("Europe/Moscow")
PAYROLL = ("Справка 2-НДФЛ", "Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год для банка.")
FARE = ("Проезд до Москвы", "Прошу оплатить проезд до Москвы.")
BONUS = ("Премия", "Когда будет выплачена премия за квартал?")


def letter(sender: str, subject: str, body: str, name: str = "") -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"], msg["Subject"] = "buh@minfin.example", subject
    msg["Message-ID"] = f"<{abs(hash((sender, subject)))}@client.example>"
    msg["Date"] = "Tue, 24 Nov 2026 12:00:00 +0300"
    msg.set_content(body)
    return msg.as_bytes()


def feed(d: Daemon, *letters: bytes) -> list[Request]:
    source = d.sources[0]
    assert isinstance(source, MemorySource)
    for data in letters:
        source.put(data)
    d.drain()
    with Session(d.rt.engine) as s:
        return list(s.exec(select(Request).order_by(Request.id)).scalars())  # type: ignore[call-overload]


def run_cli(config: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="buhdesk")
    parser.add_argument("--config")
    cli_admin.register(parser.add_subparsers(dest="command", required=True),
                       lambda a: load_config(Path(a.config)))
    args = parser.parse_args(["--config", str(config), *argv])
    return int(args.func(args))


@pytest.fixture
def three(daemon: Daemon) -> list[Request]:
    """Three requests: one overdue (deadline yesterday), one closed, one due in future."""
    reqs = feed(daemon, letter("kovaleva@culture.admin-smolensk.ru", *PAYROLL,
                               name="Ковалева Мария Петровна"),
                letter("orlov@culture.admin-smolensk.ru", *FARE),
                letter("belov@minfin.example", *BONUS))
    with Session(daemon.rt.engine) as s:
        late = s.get(Request, reqs[0].id)
        closed = s.get(Request, reqs[1].id)
        future = s.get(Request, reqs[2].id)
        assert late is not None and closed is not None and future is not None
        now = datetime.now(UTC).replace(microsecond=0)
        late.due_at, future.due_at = now - timedelta(days=1), now + timedelta(days=3)
        closed.state = "closed"
        s.commit()
        return [s.get(Request, r.id) for r in reqs]  # type: ignore[misc]


def test_list_shows_every_open_request_with_its_deadline(
        daemon: Daemon, three: list[Request], capsys: pytest.CaptureFixture[str]) -> None:
    late, closed, future = three
    assert run_cli(daemon.rt.config.file, "list") == 0
    out = capsys.readouterr().out
    assert closed.number not in out
    for req in (late, future):
        assert req.due_at is not None and req.assignee
        due = req.due_at.replace(tzinfo=UTC).astimezone(MOSCOW) if req.due_at.tzinfo is None \
            else req.due_at.astimezone(MOSCOW)
        block = out[out.index(req.number):].split("\n\n")[0]
        assert f"срок: {due:%d.%m.%Y %H:%M}" in block.splitlines()[0]
        assert daemon.rt.rules.staff[req.assignee].name in block
        assert daemon.rt.rules.process_label(req.process) in block
        assert daemon.rt.rules.need_label(req.need) in block
    assert out.index(late.number) < out.index(future.number)  # soonest deadline first
    assert "ПРОСРОЧЕНО" in out.splitlines()[0] and "Ковалева Мария Петровна" in out
    assert "Всего: 2, из них просрочено: 1. Сроки — по времени Europe/Moscow." in out


def test_list_filters_and_json(daemon: Daemon, three: list[Request],
                               capsys: pytest.CaptureFixture[str]) -> None:
    late, closed, future = three
    config = daemon.rt.config.file
    assert run_cli(config, "list", "--overdue", "--json") == 0
    [item] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert item["number"] == late.number and item["overdue"] is True
    assert item["due_at"].endswith("+03:00") and item["state_label"] == "в работе"
    assert item["process"] == "payroll" and item["process_label"].startswith("Начисление")
    assert run_cli(config, "list", "--state", "closed", "--json") == 0
    assert [json.loads(x)["number"] for x in capsys.readouterr().out.splitlines()] == [
        closed.number]
    assert run_cli(config, "list", "--assignee", str(future.assignee), "--json") == 0
    numbers = {json.loads(x)["number"] for x in capsys.readouterr().out.splitlines()}
    assert future.number in numbers and closed.number not in numbers
    assert run_cli(config, "list", "--assignee", "nobody") == 2
    assert "«nobody» не найден" in capsys.readouterr().err


def test_request_without_deadline_says_so(daemon: Daemon, three: list[Request]) -> None:
    with Session(daemon.rt.engine) as s:
        req = s.get(Request, three[2].id)
        assert req is not None
        req.due_at = None
        s.commit()
    items = list_requests(daemon.rt.engine, daemon.rt.rules, MOSCOW,
                          now=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert [i.number for i in items][-1] == three[2].number
    assert items[-1].due_text == "срок не установлен" and not items[-1].overdue


TIMESHEET = ("Табельный номер;ФИО;Логин;Должность;Вид отсутствия;Код;Дата начала;Дата окончания\n"
             "000112;Иванова Ольга Петровна;ivanova;главный специалист;Ежегодный оплачиваемый "
             "отпуск;ОТ;23.11.2026;04.12.2026\n"
             "000121;Николаев Сергей Андреевич;nikolaev;главный специалист;;К;01.12.2026;"
             "03.12.2026\n")


def test_imported_absence_sends_the_request_to_the_deputy(
        daemon: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "tabel-2026-11.csv"
    sheet.write_text(TIMESHEET, encoding="utf-8-sig")
    config = daemon.rt.config.file
    assert run_cli(config, "absences", "import", str(sheet)) == 0
    out = capsys.readouterr().out
    assert "Из файла tabel-2026-11.csv загружено отсутствий: 2" in out
    assert ("ivanova (Иванова Ольга Петровна): Ежегодный оплачиваемый отпуск, "
            "23.11.2026–04.12.2026") in out
    assert "nikolaev (Николаев Сергей Андреевич): командировка, 01.12.2026–03.12.2026" in out
    assert run_cli(config, "absences", "import", str(sheet)) == 0  # the same file replaces
    with Session(daemon.rt.engine) as s:
        assert len(list(s.exec(select(Absence)).scalars())) == 2  # type: ignore[call-overload]
    # Минфин's payroll is ivanova's; she is on leave on 24.11.2026, her deputy is petrova
    [req] = feed(daemon, letter("belov@minfin.example", *PAYROLL))
    assert req.assignee == "petrova"


def test_absences_list(daemon: Daemon, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "tabel.csv"
    sheet.write_text(TIMESHEET, encoding="utf-8-sig")
    config = daemon.rt.config.file
    assert run_cli(config, "absences", "import", str(sheet)) == 0
    capsys.readouterr()
    assert run_cli(config, "absences", "list") == 0
    out = capsys.readouterr().out
    assert "23.11.2026–04.12.2026\tivanova (Иванова Ольга Петровна)" in out
    assert "из табеля tabel.csv" in out and "из правил" in out  # shipped rules/absences.csv
    assert run_cli(config, "absences", "list", "--json") == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {"login": "nikolaev", "start": "2026-12-01", "end": "2026-12-03",
            "reason": "командировка", "origin": "из табеля tabel.csv"} in rows


def test_broken_time_sheet_is_refused_with_file_and_line(
        daemon: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet = tmp_path / "tabel.csv"
    sheet.write_text(TIMESHEET.replace(";ivanova;", ";ivanoff;").replace("03.12.2026",
                                                                           "3 декабря"),
                     encoding="utf-8-sig")
    assert run_cli(daemon.rt.config.file, "absences", "import", str(sheet)) == 1
    err = capsys.readouterr().err
    assert f"Табель {sheet} не загружен, ошибок: 2." in err
    assert f"{sheet}, строка 2: неизвестный сотрудник «ivanoff»" in err
    assert f"{sheet}, строка 3: даты должны быть в виде ДД.ММ.ГГГГ" in err
    with Session(daemon.rt.engine) as s:
        assert list(s.exec(select(Absence)).scalars()) == []  # type: ignore[call-overload]
    assert run_cli(daemon.rt.config.file, "absences", "import", str(tmp_path / "none.csv")) == 2
    assert "не найден" in capsys.readouterr().err
