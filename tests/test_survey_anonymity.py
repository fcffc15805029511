"""The survey is anonymous by construction: after a real request is answered, closed, invited and
the survey answered, nothing in the store joins the answer to the request or the person."""

from __future__ import annotations

import hashlib
import re
import warnings
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import DateTime, inspect, select, text
from sqlmodel import Session, SQLModel

from buhdesk.reply.closure import close_by_number
from buhdesk.route.document_snapshot import SNAPSHOT_ACTION, SNAPSHOT_STAGE
from buhdesk.feedback.invitations import batch_moment, scrub_sent_invitations, send_invitations
from buhdesk.store.models import Event, Message, Raw, Request
from buhdesk.service.runner import Daemon
from buhdesk.feedback.models import (
    SURVEY_TABLES,
    SurveyAnswer,
    SurveyInvited,
    SurveyPending,
    SurveyRate,
    SurveyToken,
)
from buhdesk.feedback.settings import survey_settings
from buhdesk.web.app import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from starlette.testclient import TestClient

CLIENT = "kovaleva@minfin.example"
CLEAN = ("Справка 2-НДФЛ за 2025 год готова. Её можно получить в кабинете 215 "
         "с 9:00 до 18:00, при себе необходимо иметь паспорт.")
LINK = re.compile(r"/survey/([A-Za-z0-9_\-]{32})")


@pytest.fixture
def rt(daemon: Daemon):  # type: ignore[no-untyped-def]
    SQLModel.metadata.create_all(daemon.rt.engine)
    return daemon.rt


def letter(sender: str, subject: str, body: str, **headers: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = sender, "buh@minfin.example", subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def closed_by_accountant(daemon: Daemon) -> Request:
    """A client's letter, answered by the accountant, then closed with `buhdesk close`
    (#закрыть stamps closed_at with the wall clock, not the runtime's, so tests cannot move it)."""
    daemon.sources[0].put(letter(f"Ковалева Мария Петровна <{CLIENT}>", "Справка 2-НДФЛ",  # type: ignore[attr-defined]
                                 "Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год.",
                                 Message_ID="<q1@minfin.example>"))
    daemon.drain()
    with Session(daemon.rt.engine) as s:
        request = s.execute(select(Request)).scalars().one()
    staff = daemon.rt.rules.staff[request.assignee]  # type: ignore[index]
    [notice] = [m for m in daemon.transport.to(staff.email)  # type: ignore[attr-defined]
                if "Новое обращение" in m["Subject"]]
    daemon.sources[0].put(letter(staff.email, "Re: " + notice["Subject"],  # type: ignore[attr-defined]
                                 CLEAN, Message_ID="<a1@minfin.example>",
                                 In_Reply_To=notice["Message-ID"],
                                 References=notice["Message-ID"]))
    daemon.drain()
    return close_by_number(daemon.rt, request.number, actor=staff.login)


def next_batch(daemon: Daemon) -> None:
    """Move the clock to just after tomorrow's batch moment."""
    rt = daemon.rt
    day = daemon.clock[0].astimezone(rt.config.service.tz).date() + timedelta(days=1)  # type: ignore[attr-defined]
    daemon.clock[0] = batch_moment(rt, day, survey_settings(rt.config)) + timedelta(minutes=1)  # type: ignore[attr-defined]


def test_answer_cannot_be_joined_to_the_request_or_the_person(daemon: Daemon, rt) -> None:  # type: ignore[no-untyped-def]
    request = closed_by_accountant(daemon)
    assert send_invitations(rt) == 0, "closed today: invited in tomorrow's batch"
    next_batch(daemon)
    assert send_invitations(rt) == 1
    assert send_invitations(rt) == 0, "one batch a day"
    daemon.drain()
    [invitation] = [m for m in daemon.transport.to(CLIENT)  # type: ignore[attr-defined]
                    if "Оцените" in m["Subject"]]
    body = invitation.get_content()
    token = LINK.search(body)[1]  # type: ignore[index]
    assert request.number not in body and request.subject not in body
    assert scrub_sent_invitations(rt) == 0  # the daemon scrubbed the sent copy already
    client = TestClient(create_app(rt))
    page = client.get(f"/survey/{token}").text
    form = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page))
    done = client.post("/survey", data={**form, "q_overall": "2", "q_deadline": "no",
                                         "q_clarity": "3", "q_politeness": "5", "q_ease": "4"},
                       follow_redirects=False)
    assert done.status_code == 303
    assert_unlinkable(rt, request, token)


def assert_unlinkable(rt, request: Request, token: str) -> None:  # type: ignore[no-untyped-def]
    digest = hashlib.sha256(token.encode()).hexdigest()
    personal = {str(request.id), request.number, CLIENT, request.client_name, request.assignee}
    # no survey table has a time finer than a date (the rate table's week is a date)
    for table in SURVEY_TABLES:
        cols = inspect(rt.engine).get_columns(table)
        assert not [c for c in cols if isinstance(c["type"], DateTime)], table
    with Session(rt.engine) as s:
        assert s.execute(select(SurveyAnswer)).first() is None, "one answer is not a group"
        [waiting] = s.execute(select(SurveyPending)).scalars().all()
        assert set(SurveyAnswer.model_fields) == {"id", "process", "period", "answers", "comment"}
        assert set(SurveyPending.model_fields) == {"id", "sealed", "answers", "comment"}
        assert not personal & {waiting.id, waiting.sealed}
        assert waiting.sealed not in {request.process, "2026-H2", "email"}
        assert set(SurveyInvited.model_fields) == {"request_id"}
        assert s.execute(select(SurveyToken)).first() is None, "a used token leaves no labels"
        [rate] = s.execute(select(SurveyRate)).scalars().all()
        assert rate.person != CLIENT and rate.person != hashlib.sha256(CLIENT.encode()).hexdigest()
        assert rate.week.weekday() == 0
        # the token is nowhere; its hash only in survey_spent
        for table in SQLModel.metadata.sorted_tables:
            for row in s.execute(text(f"SELECT * FROM {table.name}")).all():
                flat = " ".join(_as_text(v) for v in row)
                assert token not in flat, table.name
                if table.name != "survey_spent":
                    assert digest not in flat, table.name
        # the letter's stored copy says the token was removed
        sent = s.execute(select(Message).where(Message.kind == "survey")).scalars().one()
        assert sent.request_id is None and "[удалено]" in (sent.body_text or "")
        raw = s.get(Raw, sent.id)
        assert "[удалено]" in _decoded(bytes(raw.letter()))  # type: ignore[union-attr]
        # nothing in the audit trail ties the survey to the request
        events = s.execute(select(Event).where(Event.action.like("survey%"))).scalars().all()
        assert all(e.request_id is None for e in events)


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return _decoded(value)
    return str(value)


def _decoded(data: bytes) -> str:
    from email import message_from_bytes

    msg = message_from_bytes(data)
    parts = [p.get_payload(decode=True) for p in msg.walk() if not p.is_multipart()]
    return data.decode("latin-1") + " ".join(
        p.decode("utf-8", "replace") for p in parts if isinstance(p, bytes))


def closed_request(rt, *, email: str | None, channel: str = "email",  # type: ignore[no-untyped-def]
                   days_ago: int = 1, correspondent: str | None = None) -> int:
    now = rt.now()
    with Session(rt.engine) as s:
        from buhdesk.store.engine import next_number

        r = Request(number=next_number(s, "БУХ", 2026), state="closed", channel=channel,
                    client_email=email, process="payroll", need="information",
                    closed_at=now - timedelta(days=days_ago), created_at=now - timedelta(days=5))
        s.add(r)
        s.flush()
        if correspondent is not None:
            s.add(Event(request_id=r.id, stage=SNAPSHOT_STAGE, action=SNAPSHOT_ACTION,
                        detail=f'{{"correspondent": "{correspondent}"}}'))
        s.commit()
        return r.id  # type: ignore[return-value]


def invited_to(daemon: Daemon) -> list[str]:
    with Session(daemon.rt.engine) as s:
        return sorted(m.to_addrs for m in s.execute(
            select(Message).where(Message.kind == "survey")).scalars())


def test_only_internal_people_are_invited_once_per_period(daemon: Daemon, rt) -> None:  # type: ignore[no-untyped-def]
    next_batch(daemon)
    ids = [closed_request(rt, email="petrov@minfin.example"),
           closed_request(rt, email="petrov@minfin.example"),  # the same person again
           closed_request(rt, email="buh@external.example"),  # external body
           closed_request(rt, email="noreply@minfin.example"),  # automated sender
           closed_request(rt, email=None),
           closed_request(rt, email="sidorov@minfin.example", channel="delopro",
                          correspondent="ОСФР по Смоленской области"),
           closed_request(rt, email="old@minfin.example", days_ago=40),  # long ago: not at all
           closed_request(rt, email="orlova@minfin.example")]
    assert send_invitations(rt) == 2
    assert invited_to(daemon) == ["orlova@minfin.example", "petrov@minfin.example"]
    with Session(rt.engine) as s:
        decided = set(s.execute(select(SurveyInvited.request_id)).scalars())
        assert decided == set(ids) - {ids[6]}
        assert len(s.execute(select(SurveyToken)).scalars().all()) == 2
    # a week later petrov asks again: still within the per-person period
    daemon.clock[0] += timedelta(days=7)  # type: ignore[attr-defined]
    closed_request(rt, email="petrov@minfin.example")
    next_batch(daemon)
    assert send_invitations(rt) == 0


def test_batch_moment_is_random_within_the_window_and_stable(rt) -> None:  # type: ignore[no-untyped-def]
    settings = survey_settings(rt.config)
    tz = rt.config.service.tz
    days = [datetime(2026, 11, d, tzinfo=UTC).date() for d in range(1, 29)]
    moments = [batch_moment(rt, d, settings) for d in days]
    assert all(settings.window_start <= m.astimezone(tz).time() < settings.window_end
               for m in moments)
    assert len({m.astimezone(tz).time() for m in moments}) > 20  # not one fixed hour
    assert moments == [batch_moment(rt, d, settings) for d in days]


def test_nothing_is_sent_before_the_moment(daemon: Daemon, rt) -> None:  # type: ignore[no-untyped-def]
    next_batch(daemon)
    closed_request(rt, email="orlova@minfin.example")
    daemon.clock[0] -= timedelta(minutes=2)  # type: ignore[attr-defined]
    assert send_invitations(rt) == 0
    daemon.clock[0] += timedelta(minutes=2)  # type: ignore[attr-defined]
    assert send_invitations(rt) == 1
