"""Staff records carry a unit: each unit's head gets the digest and the weekly summary of that unit
only; staff.toml names a unit without a head as a problem. On day one nothing is reported for
the weeks before the service started work (its first request or letter in the store).

Calendar facts: 30 November 2026 is a Monday, 1 December a Tuesday (working days)."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.config import load_config
from buhdesk.reply.templating import Templates
from buhdesk.rules.book import load_rulebook
from buhdesk.rules.ruleset import RuleSetError, load_ruleset
from buhdesk.schedule.jobs import run_due_jobs
from buhdesk.service.runtime import Runtime
from buhdesk.store.blobs import BlobStore
from buhdesk.store.engine import open_store
from buhdesk.store.models import Message, Request
from buhdesk.trust.keys import KeyRing

MSK = ZoneInfo("Europe/Moscow")
ROOT = Path(__file__).resolve().parents[1]
PAYROLL, ACCOUNTING = "Расчёты с персоналом", "Учёт и отчётность"
PAYROLL_STAFF = ("ivanova", "petrova")
NEW_HEAD = '''
[[staff]]
login = "kuznetsova"
name = "Кузнецова Ирина Павловна"
position = "начальник сектора расчётов с персоналом"
email = "kuznetsova@minfin.example"
role = "head"
unit = "Расчёты с персоналом"
'''


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def with_units(rules: Path, *, new_head: bool = True) -> None:
    """The shipped staff split in two units; the payroll unit gets its own head."""
    staff = rules / "staff.toml"
    lines = []
    for line in staff.read_text(encoding="utf-8").splitlines():
        lines.append(line)
        if line.startswith("login = "):
            login = line.split('"')[1]
            lines.append(f'unit = "{PAYROLL if login in PAYROLL_STAFF else ACCOUNTING}"')
    staff.write_text("\n".join(lines) + "\n" + (NEW_HEAD if new_head else ""), encoding="utf-8")


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def make_rt(tmp_path: Path, store_url: str) -> Iterator[Callable[[Clock, Path], Runtime]]:
    opened: list[Runtime] = []

    def make(clock: Clock, rules: Path) -> Runtime:
        cfg = tmp_path / "buhdesk.toml"
        cfg.write_text(f"""
[service]
name = "Бухгалтерия Минфина"
address = "buh@minfin.example"
domain = "minfin.example"
[store]
url = "{store_url}"
[paths]
rules = "{rules}"
templates = "{ROOT / 'templates'}"
[outbox]
kind = "files"
path = "{tmp_path / 'outbox'}"
""", encoding="utf-8")
        config = load_config(cfg)
        opened.append(Runtime(config=config, engine=open_store(config.store.url),
                              keys=KeyRing.from_secrets(secrets.token_hex(32)),
                              blobs=BlobStore(tmp_path / "b"),
                              templates=Templates(ROOT / "templates", config.service.tz),
                              rules=load_rulebook(rules), clock=clock))
        return opened[-1]

    yield make
    for rt in opened:
        rt.engine.dispose()


@pytest.fixture
def unit_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    with_units(rules)
    return rules


def add_request(rt: Runtime, number: str, assignee: str, due: datetime, *,
                answered: datetime | None = None, created: datetime) -> None:
    with Session(rt.engine) as s:
        s.add(Request(number=number, state="answered" if answered else "assigned",
                      assignee=assignee, due_at=due, answered_at=answered, subject="Вопрос",
                      client_email="client@minfin.example", process="payroll", need="information",
                      created_at=created))
        s.commit()


def letters_to(rt: Runtime, address: str, word: str) -> list[Message]:
    with Session(rt.engine) as s:
        rows = s.execute(select(Message).where(col(Message.direction) == "out",
                                               col(Message.to_addrs) == address)).scalars().all()
        s.expunge_all()
    return [m for m in rows if word in m.subject]


def test_each_unit_head_gets_the_digest_and_summary_of_the_unit(
        make_rt: Callable[[Clock, Path], Runtime], unit_rules: Path) -> None:
    rt = make_rt(Clock(msk(2026, 11, 30, 8, 40)), unit_rules)
    started = msk(2026, 11, 16, 10)
    # overdue now (digest) and due last week (summary), one per unit
    add_request(rt, "БУХ-2026-000001", "ivanova", msk(2026, 11, 27, 18), created=started)
    add_request(rt, "БУХ-2026-000002", "nikolaev", msk(2026, 11, 26, 18), created=started)
    add_request(rt, "БУХ-2026-000003", "nikolaev", msk(2026, 11, 25, 18),
                answered=msk(2026, 11, 25, 12), created=started)
    run_due_jobs(rt)
    chief, payroll_head = "buhanceva@minfin.example", "kuznetsova@minfin.example"
    chief_digest = letters_to(rt, chief, "Сводка по обращениям")[0].body_text or ""
    payroll_digest = letters_to(rt, payroll_head, "Сводка по обращениям")[0].body_text or ""
    assert "БУХ-2026-000002" in chief_digest and "БУХ-2026-000001" not in chief_digest
    assert "БУХ-2026-000001" in payroll_digest and "БУХ-2026-000002" not in payroll_digest
    assert f"подразделения «{PAYROLL}»" in payroll_digest
    chief_week = letters_to(rt, chief, "Соблюдение сроков")[0]
    payroll_week = letters_to(rt, payroll_head, "Соблюдение сроков")[0]
    assert chief_week.subject.endswith("в срок 50,0 % (1 из 2)"), chief_week.subject
    assert payroll_week.subject.endswith("в срок 0,0 % (0 из 1)"), payroll_week.subject
    assert "Николаев" not in (payroll_week.body_text or "")
    assert f"в подразделении «{ACCOUNTING}»" in (chief_week.body_text or "")


def test_no_weekly_summary_for_the_week_before_installation(
        make_rt: Callable[[Clock, Path], Runtime]) -> None:
    """Installed on Monday morning: that day's digest, but no summary of last week, which the
    service did not see; the next Monday's summary of its first week comes."""
    clock = Clock(msk(2026, 11, 30, 8, 40))
    rt = make_rt(clock, ROOT / "rules")
    head = "buhanceva@minfin.example"
    add_request(rt, "БУХ-2026-000001", "ivanova", msk(2026, 12, 2, 18),
                created=msk(2026, 11, 30, 8, 5))  # the first letter, just after installation
    run_due_jobs(rt)
    assert len(letters_to(rt, head, "Сводка по обращениям")) == 1
    assert letters_to(rt, head, "Соблюдение сроков") == []
    clock.at = msk(2026, 12, 7, 8, 40)
    run_due_jobs(rt)
    weekly = letters_to(rt, head, "Соблюдение сроков")
    assert len(weekly) == 1 and "с 30.11.2026 по 06.12.2026" in weekly[0].subject


def test_empty_store_reports_no_week(make_rt: Callable[[Clock, Path], Runtime]) -> None:
    rt = make_rt(Clock(msk(2026, 11, 30, 8, 40)), ROOT / "rules")
    run_due_jobs(rt)
    assert letters_to(rt, "buhanceva@minfin.example", "Соблюдение сроков") == []


def test_unit_without_a_head_is_a_problem(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    with_units(rules, new_head=False)
    with pytest.raises(RuleSetError) as found:
        load_ruleset(rules)
    message = str(found.value)
    assert f"в подразделении «{PAYROLL}» нет руководителя" in message
    assert ACCOUNTING not in message  # the chief accountant heads that one
    line = int(message.split("staff.toml:")[1].split(":")[0])
    assert 'login = "ivanova"' in (rules / "staff.toml").read_text(
        encoding="utf-8").splitlines()[line]


def test_empty_unit_is_a_problem(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    staff = rules / "staff.toml"
    staff.write_text(staff.read_text(encoding="utf-8").replace(
        'login = "ivanova"\n', 'login = "ivanova"\nunit = " "\n', 1), encoding="utf-8")
    with pytest.raises(RuleSetError, match="ivanova: unit — название подразделения"):
        load_ruleset(rules)
