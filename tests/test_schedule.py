"""The schedule stage: reminders to accountants, the unit head's daily digest and weekly summary.

A store is prepared by hand, the clock is fixed, and the letters the scheduler queues in the outbox
are read back. Calendar facts used: 4 November 2026 (Wednesday) is a public holiday; 1 May 2026 is
a Friday holiday; 26 November 2026 is a Thursday, 30 November a Monday.
"""

from __future__ import annotations

import email
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from support import letter_text

from buhdesk.store.blobs import BlobStore
from buhdesk.config import load_config
from buhdesk.schedule.digest import collect_digest
from buhdesk.store.models import Message, Raw, Request
from buhdesk.rules.book import load_rulebook
from buhdesk.service.runtime import Runtime
from buhdesk.schedule.jobs import Scheduler, heads, run_due_jobs
from buhdesk.schedule.claims import run_once
from buhdesk.schedule.models import ScheduledRun
from buhdesk.schedule.settings import ScheduleSettingsError, load_schedule_settings
from buhdesk.trust.keys import THREAD, KeyRing
from buhdesk.store.engine import open_store
from buhdesk.reply.templating import Templates

MSK = ZoneInfo("Europe/Moscow")
ROOT = Path(__file__).resolve().parents[1]


def msk(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=MSK)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


RuntimeFactory = Callable[..., Runtime]


@pytest.fixture
def make_rt(tmp_path: Path, store_url: str) -> Iterator[RuntimeFactory]:
    """``make_rt(clock, schedule="")``: a Runtime on the test's store; disposed at the end."""
    opened: list[Runtime] = []

    def make(clock: Clock, schedule: str = "") -> Runtime:
        cfg = tmp_path / "buhdesk.toml"
        cfg.write_text(f"""
[service]
name = "Бухгалтерия Минфина"
address = "buh@minfin.example"
domain = "minfin.example"
[store]
url = "{store_url}"
[paths]
rules = "{ROOT / 'rules'}"
templates = "{ROOT / 'templates'}"
[outbox]
kind = "files"
path = "{tmp_path / 'outbox'}"
{schedule}
""", encoding="utf-8")
        config = load_config(cfg)
        engine = open_store(config.store.url)
        opened.append(Runtime(config=config, engine=engine,
                              keys=KeyRing.from_secrets(secrets.token_hex(32)),
                              blobs=BlobStore(tmp_path / "b"),
                              templates=Templates(ROOT / "templates", config.service.tz),
                              rules=load_rulebook(ROOT / "rules"), clock=clock))
        return opened[-1]

    yield make
    for rt in opened:
        rt.engine.dispose()


def accountants(rt: Runtime) -> list[str]:
    found = [m.login for m in rt.rules.staff.values() if m.role == "accountant"]
    assert len(found) >= 3, "the shipped staff file has at least three accountants"
    return found


def add_request(rt: Runtime, number: str, *, assignee: str | None, due: datetime | None,
                state: str = "assigned", created: datetime | None = None,
                subject: str = "Вопрос") -> int:
    with Session(rt.engine) as s:
        r = Request(number=number, state=state, assignee=assignee, due_at=due, subject=subject,
                    client_email="client@minfin.example", client_name="Клиентов К. К.",
                    process="payroll", need="information",
                    created_at=created or msk(2026, 11, 2, 10, 0))
        s.add(r)
        s.commit()
        return r.id  # type: ignore[return-value]


def add_held(rt: Runtime, subject: str, request_id: int | None, reason: str) -> None:
    with Session(rt.engine) as s:
        s.add(Message(direction="in", kind="request", status="held", subject=subject,
                      request_id=request_id, reason=reason, source="mail", source_key=subject))
        s.commit()


def letters(rt: Runtime) -> list[Message]:
    with Session(rt.engine) as s:
        rows = s.execute(select(Message).where(Message.direction == "out")
                         .order_by(Message.id)).scalars().all()
        s.expunge_all()
        return list(rows)


def raw_of(rt: Runtime, pk: int) -> email.message.EmailMessage:
    with Session(rt.engine) as s:
        raw = s.get(Raw, pk)
        assert raw is not None
        return email.message_from_bytes(raw.letter(), policy=default_policy)  # type: ignore[return-value]


def head_letters(rt: Runtime, kind_word: str) -> list[Message]:
    emails = {h.email for h in heads(rt)}
    return [m for m in letters(rt) if m.to_addrs in emails and kind_word in m.subject]


# --- the digest -----------------------------------------------------------------------------


@pytest.fixture
def digest_store(make_rt: RuntimeFactory) -> tuple[Runtime, list[str]]:
    rt = make_rt(Clock(msk(2026, 11, 26, 8, 45)))
    a, b, c = accountants(rt)[:3]
    r1 = add_request(rt, "БУХ-2026-000001", assignee=a, due=msk(2026, 11, 25, 18, 0),
                     subject="Расчётный лист за октябрь")
    add_request(rt, "БУХ-2026-000002", assignee=a, due=msk(2026, 11, 26, 18, 0),
                subject="Справка 2-НДФЛ <срочно>")
    add_request(rt, "БУХ-2026-000003", assignee=b, due=msk(2026, 11, 24, 18, 0),
                state="waiting", subject="Авансовый отчёт: нет чеков")
    add_request(rt, "БУХ-2026-000004", assignee=b, due=msk(2026, 11, 30, 18, 0),
                subject="Не срочный вопрос")
    add_request(rt, "БУХ-2026-000005", assignee=None, due=msk(2026, 11, 27, 16, 45),
                state="new", subject="Непонятное письмо")
    add_request(rt, "БУХ-2026-000006", assignee=a, due=msk(2026, 11, 20, 18, 0),
                state="closed", subject="Давно закрыто")
    add_request(rt, "БУХ-2026-000007", assignee=c, due=msk(2026, 11, 20, 18, 0),
                state="answered", subject="Уже отвечено")
    add_held(rt, "Письмо с вирусом", r1, "вложение не прошло проверку")
    add_held(rt, "Слишком большое письмо", None, "message too big")
    return rt, [a, b, c]


def test_digest_collects_sections_per_accountant(digest_store: tuple[Runtime, list[str]]) -> None:
    rt, (a, b, c) = digest_store
    d = collect_digest(rt, rt.now())
    by = {acc.login: acc for acc in d.accountants}
    assert [i.number for i in by[a].overdue] == ["БУХ-2026-000001"]
    assert [i.number for i in by[a].due_today] == ["БУХ-2026-000002"]
    assert [h.subject for h in by[a].held] == ["Письмо с вирусом"]
    assert [i.number for i in by[b].waiting] == ["БУХ-2026-000003"]
    assert not by[b].overdue and not by[b].due_today  # 000004 is due next week
    assert c not in by  # an answered request needs no control
    assert [i.number for i in d.unsorted] == ["БУХ-2026-000005"]
    assert [h.subject for h in d.held_unassigned] == ["Слишком большое письмо"]
    assert d.total("overdue") == 1 and d.total("due_today") == 1


def test_digest_letter_to_each_head(digest_store: tuple[Runtime, list[str]]) -> None:
    rt, (a, b, _) = digest_store
    run_due_jobs(rt)
    sent = head_letters(rt, "Сводка")
    assert sorted(m.to_addrs for m in sent) == sorted(h.email for h in heads(rt))
    text = sent[0].body_text or ""
    name_a, name_b = rt.rules.staff[a].name, rt.rules.staff[b].name
    block_a = text[text.index(f"== {name_a} =="):]
    overdue = block_a[block_a.index("Просрочено (1)"):block_a.index("Срок истекает сегодня")]
    assert "БУХ-2026-000001" in overdue and "25 ноября 2026 г. 18:00" in overdue
    assert "БУХ-2026-000002" in block_a[block_a.index("Срок истекает сегодня (1)"):]
    block_b = text[text.index(f"== {name_b} =="):]
    assert "Ждут сведений от заявителя (1)" in block_b and "Авансовый отчёт" in block_b
    assert "БУХ-2026-000004" not in text and "БУХ-2026-000006" not in text
    assert "без исполнителя — 1." in text  # the summary counts what the section lists
    unsorted = text[text.index("== Без исполнителя (1) =="):]
    held = text[text.index("== Задержанные сообщения, не закреплённые за сотрудником (1) =="):]
    unsorted = unsorted[:len(unsorted) - len(held)]
    assert "БУХ-2026-000005" in unsorted and "Слишком большое письмо" not in unsorted
    assert "Слишком большое письмо" in held
    assert "на 26 ноября 2026 г." in sent[0].subject and "просрочено 1" in sent[0].subject


def test_digest_is_multipart_with_escaped_html(digest_store: tuple[Runtime, list[str]]) -> None:
    rt, _ = digest_store
    run_due_jobs(rt)
    msg = raw_of(rt, head_letters(rt, "Сводка")[0].id)  # type: ignore[arg-type]
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Buhdesk-Loop"] == "minfin.example"
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Справка 2-НДФЛ &lt;срочно&gt;" in html and "<срочно>" not in html
    assert "Справка 2-НДФЛ <срочно>" in plain
    assert "БУХ-2026-000001" in html and "Не распределены" in html


def test_no_digest_before_time_or_on_a_day_off(make_rt: RuntimeFactory) -> None:
    clock = Clock(msk(2026, 11, 26, 8, 29))
    rt = make_rt(clock)
    assert run_due_jobs(rt) == 0
    clock.at = msk(2026, 11, 28, 12, 0)  # Saturday
    assert run_due_jobs(rt) == 0
    clock.at = msk(2026, 11, 4, 12, 0)  # National Unity Day
    assert run_due_jobs(rt) == 0
    clock.at = msk(2026, 11, 26, 8, 30)
    assert len(head_letters(rt, "Сводка")) == 0
    run_due_jobs(rt)
    assert len(head_letters(rt, "Сводка")) == len(heads(rt))


def test_digest_time_is_configurable(make_rt: RuntimeFactory) -> None:
    clock = Clock(msk(2026, 11, 26, 9, 0))
    rt = make_rt(clock, '[schedule]\ndigest_time = "10:15"')
    run_due_jobs(rt)
    assert head_letters(rt, "Сводка") == []
    clock.at = msk(2026, 11, 26, 10, 15)
    run_due_jobs(rt)
    assert len(head_letters(rt, "Сводка")) == len(heads(rt))


# --- restarts -------------------------------------------------------------------------------


def test_restart_sends_each_letter_once_and_next_day_digest(make_rt: RuntimeFactory) -> None:
    clock = Clock(msk(2026, 11, 26, 9, 5))
    rt = make_rt(clock)
    a, b = accountants(rt)[:2]
    add_request(rt, "БУХ-2026-000010", assignee=a, due=msk(2026, 11, 27, 16, 45))  # before: today
    add_request(rt, "БУХ-2026-000011", assignee=b, due=msk(2026, 11, 25, 18, 0))  # overdue
    first = run_due_jobs(rt)
    # two reminders, per head today's digest and last week's summary (missed on Monday), and
    # the morning list of each of the two accountants with open requests
    assert first == 2 + 2 * len(heads(rt)) + 2
    assert Scheduler(rt).run() == 0  # as after a restart
    clock.at = msk(2026, 11, 26, 15, 0)
    assert Scheduler(rt).run() == 0
    assert len(letters(rt)) == first
    clock.at = msk(2026, 11, 27, 8, 31)
    assert Scheduler(rt).run() == len(heads(rt)) + 2  # Friday's digest and morning lists
    clock.at = msk(2026, 11, 27, 16, 45)
    assert Scheduler(rt).run() == 1  # 000010 is now overdue
    assert Scheduler(rt).run() == 0
    subjects = [m.subject for m in letters(rt) if "БУХ-2026-000010" in m.subject]
    assert len(subjects) == 2 and "истёк" in subjects[1]


def test_a_crash_in_a_run_leaves_neither_claim_nor_letter(make_rt: RuntimeFactory) -> None:
    clock = Clock(msk(2026, 11, 26, 9, 5))
    rt = make_rt(clock)

    def crash(session: Session) -> int:
        session.add(Message(direction="out", kind="info", status="pending", subject="x"))
        session.flush()
        raise RuntimeError("power failure")

    with pytest.raises(RuntimeError):
        run_once(rt.engine, "digest", "2026-11-26:x", rt.now(), crash)
    assert letters(rt) == []
    with Session(rt.engine) as s:
        assert s.execute(select(ScheduledRun)).first() is None
    assert run_once(rt.engine, "digest", "2026-11-26:x", rt.now(), lambda s: 0) == 0
    with Session(rt.engine) as s:
        assert s.execute(select(ScheduledRun.period)).scalars().all() == ["2026-11-26:x"]


def test_poll_is_throttled(make_rt: RuntimeFactory) -> None:
    clock = Clock(msk(2026, 11, 26, 8, 0))
    rt = make_rt(clock)
    scheduler = Scheduler(rt, every=timedelta(minutes=5))
    assert scheduler.poll() == 0
    clock.at = msk(2026, 11, 26, 8, 31)
    # the digest only: the store is new, so last week was before the service started work
    assert scheduler.poll() == len(heads(rt))
    add_request(rt, "БУХ-2026-000020", assignee=accountants(rt)[0], due=msk(2026, 11, 25, 18),
                created=clock.at)
    clock.at = msk(2026, 11, 26, 8, 32)
    assert scheduler.poll() == 0  # checked a minute ago
    clock.at = msk(2026, 11, 26, 8, 37)
    assert scheduler.poll() == 1


# --- reminders ------------------------------------------------------------------------------


def reminders_for(rt: Runtime, number: str) -> list[Message]:
    return [m for m in letters(rt) if number in m.subject]


def test_reminder_on_the_working_day_before_a_holiday(make_rt: RuntimeFactory) -> None:
    # Due Thursday 5 November; 4 November is a holiday, so the day before is Tuesday 3 November.
    clock = Clock(msk(2026, 11, 2, 9, 30))
    rt = make_rt(clock)
    login = accountants(rt)[0]
    add_request(rt, "БУХ-2026-000030", assignee=login, due=msk(2026, 11, 5, 18, 0),
                created=msk(2026, 10, 29, 11, 0))
    run_due_jobs(rt)
    clock.at = msk(2026, 11, 3, 8, 59)
    run_due_jobs(rt)
    assert reminders_for(rt, "БУХ-2026-000030") == []
    clock.at = msk(2026, 11, 3, 9, 0)
    run_due_jobs(rt)
    sent = reminders_for(rt, "БУХ-2026-000030")
    assert len(sent) == 1 and sent[0].to_addrs == rt.rules.staff[login].email
    assert "5 ноября 2026 г. 18:00" in sent[0].subject
    assert "истекает 5 ноября 2026 г. 18:00" in letter_text(rt.engine, sent[0])
    clock.at = msk(2026, 11, 4, 12, 0)
    run_due_jobs(rt)
    assert len(reminders_for(rt, "БУХ-2026-000030")) == 1
    clock.at = msk(2026, 11, 5, 18, 1)
    run_due_jobs(rt)
    run_due_jobs(rt)
    sent = reminders_for(rt, "БУХ-2026-000030")
    assert len(sent) == 2 and "Срок ответа истёк" in sent[1].subject


def test_overdue_reminders_reach_every_open_request_however_many(
        make_rt: RuntimeFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # The open requests are read a page at a time; a page of two makes seven requests span four.
    monkeypatch.setattr("buhdesk.schedule.reminders.PAGE", 2)
    clock = Clock(msk(2026, 11, 10, 12, 0))
    rt = make_rt(clock)
    login = accountants(rt)[0]
    numbers = [f"БУХ-2026-00090{n}" for n in range(7)]
    for n, number in enumerate(numbers):
        add_request(rt, number, assignee=login, due=msk(2026, 11, 9, 18, 0),
                    state="answered" if n == 3 else "assigned")
    run_due_jobs(rt)
    run_due_jobs(rt)
    owed = [number for n, number in enumerate(numbers) if n != 3]
    assert {number: len(reminders_for(rt, number)) for number in numbers} == {
        number: int(number in owed) for number in numbers}


def test_reminder_before_may_holidays_and_configured_time(make_rt: RuntimeFactory) -> None:
    # Due Monday 4 May 2026; 1–3 May are days off, so the reminder goes on Thursday 30 April.
    clock = Clock(msk(2026, 4, 30, 10, 59))
    rt = make_rt(clock, '[schedule]\nreminder_time = "11:00"')
    add_request(rt, "БУХ-2026-000031", assignee=accountants(rt)[1], due=msk(2026, 5, 4, 18, 0),
                created=msk(2026, 4, 27, 11, 0))
    run_due_jobs(rt)
    assert reminders_for(rt, "БУХ-2026-000031") == []
    clock.at = msk(2026, 4, 30, 11, 0)
    run_due_jobs(rt)
    assert len(reminders_for(rt, "БУХ-2026-000031")) == 1


def test_changed_deadline_reminds_again_and_answered_does_not(make_rt: RuntimeFactory) -> None:
    clock = Clock(msk(2026, 11, 25, 9, 10))
    rt = make_rt(clock)
    a, b = accountants(rt)[:2]
    rid = add_request(rt, "БУХ-2026-000040", assignee=a, due=msk(2026, 11, 26, 18, 0))
    add_request(rt, "БУХ-2026-000041", assignee=b, due=msk(2026, 11, 24, 18, 0),
                state="answered")
    add_request(rt, "БУХ-2026-000042", assignee=b, due=msk(2026, 11, 24, 18, 0),
                state="waiting")
    run_due_jobs(rt)
    assert len(reminders_for(rt, "БУХ-2026-000040")) == 1
    assert reminders_for(rt, "БУХ-2026-000041") == reminders_for(rt, "БУХ-2026-000042") == []
    with Session(rt.engine) as s:
        r = s.get(Request, rid)
        assert r is not None
        r.due_at = msk(2026, 11, 30, 18, 0)  # extended to Monday
        s.commit()
    run_due_jobs(rt)
    assert len(reminders_for(rt, "БУХ-2026-000040")) == 1
    clock.at = msk(2026, 11, 27, 9, 0)
    run_due_jobs(rt)
    sent = reminders_for(rt, "БУХ-2026-000040")
    assert len(sent) == 2 and "30 ноября 2026 г. 18:00" in sent[1].subject


def test_no_advance_reminder_for_a_request_received_after_its_moment(make_rt: RuntimeFactory) -> None:
    clock = Clock(msk(2026, 11, 25, 14, 0))
    rt = make_rt(clock)
    add_request(rt, "БУХ-2026-000050", assignee=accountants(rt)[0], due=msk(2026, 11, 26, 18),
                created=msk(2026, 11, 25, 13, 0))
    run_due_jobs(rt)
    assert reminders_for(rt, "БУХ-2026-000050") == []


# --- the weekly summary ---------------------------------------------------------------------


def test_weekly_summary_on_monday(make_rt: RuntimeFactory) -> None:
    clock = Clock(msk(2026, 11, 30, 8, 40))
    rt = make_rt(clock)
    a, b = accountants(rt)[:2]
    with Session(rt.engine) as s:
        for n, who, due, answered in (
            (1, a, msk(2026, 11, 24, 18), msk(2026, 11, 24, 12)),  # on time
            (2, a, msk(2026, 11, 25, 18), msk(2026, 11, 26, 10)),  # late
            (3, b, msk(2026, 11, 27, 16, 45), None),  # never answered: late
            (4, b, msk(2026, 11, 17, 18), msk(2026, 11, 17, 10)),  # the week before: not counted
        ):
            s.add(Request(number=f"БУХ-2026-00010{n}", state="answered" if answered else "assigned",
                          assignee=who, process="payroll", due_at=due, answered_at=answered,
                          created_at=msk(2026, 11, 16, 10)))
        s.commit()
    run_due_jobs(rt)
    weekly = head_letters(rt, "Соблюдение сроков")
    assert len(weekly) == len(heads(rt))
    text = weekly[0].body_text or ""
    assert "с 23 ноября 2026 г. по 29 ноября 2026 г." in text
    assert "Всего: в срок 1 из 3 (33,3 %)" in text
    assert f"{rt.rules.staff[a].name}: в срок 1 из 2 (50,0 %)" in text
    assert f"{rt.rules.staff[b].name}: в срок 0 из 1 (0,0 %)" in text
    assert f"{rt.rules.process_label('payroll')}: в срок 1 из 3" in text
    clock.at = msk(2026, 12, 1, 9, 0)
    run_due_jobs(rt)
    assert len(head_letters(rt, "Соблюдение сроков")) == len(heads(rt))
    assert weekly[0].subject.endswith("по 29.11.2026: в срок 33,3 % (1 из 3)")


def test_weekly_subject_of_a_week_without_deadlines_is_a_whole_sentence(
        make_rt: RuntimeFactory) -> None:
    rt = make_rt(Clock(msk(2026, 11, 30, 8, 40)))
    with Session(rt.engine) as s:  # due next week: nothing fell due in the week summarised
        s.add(Request(number="БУХ-2026-000201", state="assigned", assignee=accountants(rt)[0],
                      process="payroll", due_at=msk(2026, 12, 2, 18), created_at=msk(2026, 11, 27, 10)))
        s.commit()
    run_due_jobs(rt)
    subject = head_letters(rt, "Соблюдение сроков")[0].subject
    assert subject.endswith("по 29.11.2026: сроков ответа не было"), subject
    assert "—" not in subject


# --- settings -------------------------------------------------------------------------------


def test_settings_defaults_and_validation() -> None:
    s = load_schedule_settings({})
    assert (s.digest_time.isoformat(), s.reminder_time.isoformat(), s.weekly_day) == (
        "08:30:00", "09:00:00", 0)
    s = load_schedule_settings({"schedule": {"weekly_day": "пятница", "digest_time": "7:05"}})
    assert s.weekly_day == 4 and s.digest_time.isoformat() == "07:05:00"
    assert load_schedule_settings({"schedule": {"weekly_day": 3}}).weekly_day == 2
    for bad in ({"digest_time": "25:00"}, {"reminder_time": 900}, {"weekly_day": 8},
                {"weekly_day": "someday"}, {"digest": "08:30"}):
        with pytest.raises(ScheduleSettingsError, match=r"\[schedule\]"):
            load_schedule_settings({"schedule": bad})


def test_a_reply_to_a_reminder_threads_as_an_answer(make_rt: RuntimeFactory) -> None:
    from buhdesk.trust.tokens import read_token

    rt = make_rt(Clock(msk(2026, 11, 26, 7, 0)))
    rid = add_request(rt, "БУХ-2026-000060", assignee=accountants(rt)[0],
                      due=msk(2026, 11, 25, 18, 0))
    run_due_jobs(rt)
    (sent,) = reminders_for(rt, "БУХ-2026-000060")
    assert sent.kind == "reminder" and sent.status == "pending"
    token = read_token(rt.keys.keys(THREAD), sent.message_id or "")
    assert token is not None and (token.kind, token.request_id) == ("notice", rid)


def test_reminder_reaches_the_acting_deputy_while_the_accountant_is_away(
        make_rt: RuntimeFactory) -> None:
    from datetime import date

    from buhdesk.store.models import Absence

    clock = Clock(msk(2026, 11, 25, 9, 10))
    rt = make_rt(clock)
    login = accountants(rt)[0]
    deputy = rt.rules.staff[login].deputy
    assert deputy, "the shipped staff file names deputies"
    with Session(rt.engine) as s:
        s.add(Absence(login=login, start=date(2026, 11, 23), end=date(2026, 11, 27),
                      reason="отпуск"))
        s.commit()
    add_request(rt, "БУХ-2026-000050", assignee=login, due=msk(2026, 11, 26, 18, 0))
    run_due_jobs(rt)
    sent = sorted(m.to_addrs for m in reminders_for(rt, "БУХ-2026-000050"))
    assert sent == sorted([rt.rules.staff[login].email, rt.rules.staff[deputy].email])
