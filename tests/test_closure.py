"""Closure: automatic after N working days without a reply, by the CLI, and what a follow-up
does after closure (reopen within the period, a new linked request after it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.route.opening import Batch
from buhdesk.reply.closure import (
    CloseError,
    auto_close,
    close_by_number,
    followup_policy,
    open_linked,
)
from buhdesk.store.models import Event, Message, Request
from buhdesk.service.runner import Daemon
from buhdesk.store.engine import next_number
from buhdesk.feedback.settings import ClosureSettings, SurveySettingsError, closure_settings

FRIDAY = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def answered(rt, at: datetime, state: str = "answered") -> int:  # type: ignore[no-untyped-def]
    with Session(rt.engine) as s:
        r = Request(number=next_number(s, "БУХ", 2026), state=state, client_email="a@minfin.example",
                    answered_at=at, created_at=at - timedelta(days=1))
        s.add(r)
        s.flush()
        s.add(Event(request_id=r.id, stage="reply", action="answered", at=at))
        s.commit()
        return r.id  # type: ignore[return-value]


def state_of(rt, rid: int) -> Request:  # type: ignore[no-untyped-def]
    with Session(rt.engine) as s:
        return s.get(Request, rid)  # type: ignore[return-value]


def test_auto_close_after_working_days_without_reply(daemon: Daemon) -> None:
    rt = daemon.rt
    rid = answered(rt, FRIDAY)
    replied = answered(rt, FRIDAY, state="assigned")  # the client wrote back: not closed
    settings = ClosureSettings(auto_close_days=3)
    daemon.clock[0] = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # type: ignore[attr-defined]  # Tue: 2 working days
    assert auto_close(rt, settings) == 0
    daemon.clock[0] = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # type: ignore[attr-defined]  # Wed: 3rd working day
    assert auto_close(rt, settings) == 1
    closed = state_of(rt, rid)
    assert closed.state == "closed" and closed.closed_at is not None
    assert state_of(rt, replied).state == "assigned"
    with Session(rt.engine) as s:
        ev = s.execute(select(Event).where(Event.request_id == rid,
                                           Event.action == "closed")).scalars().one()
    assert json.loads(ev.detail) == {"rule": "auto-close"}


def test_a_later_answer_restarts_the_count(daemon: Daemon) -> None:
    rt = daemon.rt
    rid = answered(rt, FRIDAY - timedelta(days=14))
    with Session(rt.engine) as s:
        s.add(Event(request_id=rid, stage="reply", action="answered", at=FRIDAY))
        s.commit()
    daemon.clock[0] = FRIDAY + timedelta(days=3)  # type: ignore[attr-defined]
    assert auto_close(rt, ClosureSettings(auto_close_days=5)) == 0


def test_close_by_number(daemon: Daemon) -> None:
    rt = daemon.rt
    rid = answered(rt, FRIDAY)
    number = state_of(rt, rid).number
    assert close_by_number(rt, number.lower(), actor="ivanova").state == "closed"
    with pytest.raises(CloseError, match="закрыть нельзя"):
        close_by_number(rt, number, actor="ivanova")
    with pytest.raises(CloseError, match="не найдено"):
        close_by_number(rt, "БУХ-2026-999999", actor="ivanova")


def test_followup_policy_by_period() -> None:
    closed = Request(number="x", state="closed", closed_at=FRIDAY)
    assert followup_policy(closed, FRIDAY + timedelta(days=3), reopen_days=10) == "reopen"
    assert followup_policy(closed, FRIDAY + timedelta(days=11), reopen_days=10) == "new-linked"
    assert followup_policy(Request(number="y", state="answered"), FRIDAY) == "reopen"


def test_open_linked_creates_a_new_request_pointing_to_the_old(daemon: Daemon) -> None:
    rt = daemon.rt
    parent_id = answered(rt, FRIDAY)
    with Session(rt.engine) as s:
        parent = s.get(Request, parent_id)
        msg = Message(direction="in", kind="", status="received", source="minfin",
                      source_key="k1", from_addr="a@minfin.example", created_at=rt.now())
        s.add(msg)
        s.flush()
        batch = Batch(s, rt)
        new = open_linked(batch, parent, msg, subject="Снова о справке",  # type: ignore[arg-type]
                          text="Справку так и не получила, прошу выдать справку 2-НДФЛ.")
        batch.write()
        s.commit()
        assert new.parent_id == parent_id and new.number != parent.number  # type: ignore[union-attr]
        assert msg.request_id == new.id and msg.kind == "request"
        acks = s.execute(select(Message).where(Message.request_id == new.id,
                                               Message.kind == "ack")).scalars().all()
        assert len(acks) == 1


def test_settings_errors_are_russian(daemon: Daemon) -> None:
    from dataclasses import replace

    cfg = replace(daemon.rt.config, extra={"closure": {"auto_close_days": 0}})
    with pytest.raises(SurveySettingsError, match="auto_close_days: нужно целое число"):
        closure_settings(cfg)
