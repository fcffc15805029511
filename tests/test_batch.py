"""The unit of work that opens requests: what a batch holds is written when it is written and
commits with the transaction; a batch dropped with its rollback leaves nothing behind; numbers
stay gap-free across batches and channels; the daily cap counts the batch's own letters."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from buhdesk.agent.story import build_story, first_line
from buhdesk.reply import outbox
from buhdesk.reply.compose import text_of
from buhdesk.route.channels import Intake, open_from_intake
from buhdesk.route.opening import Batch
from buhdesk.service.runner import Daemon
from buhdesk.store.models import Event, Message, Request
from buhdesk.store.raw import read_raw

AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def intake(n: int, email: str | None = None) -> Intake:
    return Intake(channel="phone", source="phone", client_email=email or f"c{n}@culture.example",
                  client_name=f"Клиент {n}", subject="Справка 2-НДФЛ",
                  text="Прошу выдать справку 2-НДФЛ за 2025 год.", at=AT)


def count(session: Session, model: type, *where: object) -> int:
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_letters_and_events_are_written_with_the_batch_and_commit(daemon: Daemon) -> None:
    rt = daemon.rt
    with Session(rt.engine) as s:
        batch = Batch(s, rt)
        ids = [open_from_intake(batch, intake(n)).id for n in range(3)]
        assert count(s, Message, Message.direction == "out") == 0  # held by the batch
        batch.write()
        s.commit()
    with Session(rt.engine) as s:
        for rid in ids:
            kinds = sorted(m.kind for m in s.execute(
                select(Message).where(Message.request_id == rid)).scalars())
            assert kinds == ["ack", "notice", "request"]
            actions = [e.action for e in s.execute(
                select(Event).where(Event.request_id == rid).order_by(Event.id)).scalars()]
            assert actions[:2] == ["registered", "decided"]


def test_a_batch_dropped_with_its_rollback_leaves_nothing_and_numbers_no_gap(
        daemon: Daemon) -> None:
    rt = daemon.rt
    with Session(rt.engine) as s:
        batch = Batch(s, rt)
        open_from_intake(batch, intake(1))
        batch.write()
        s.rollback()  # the caller's transaction fails: the batch is simply dropped
    with Session(rt.engine) as s:
        assert count(s, Request) == 0 and count(s, Message) == 0 and count(s, Event) == 0
        first = Batch(s, rt)
        got = [open_from_intake(first, intake(n)).number for n in (2, 3)]
        first.write()
        s.commit()
    with Session(rt.engine) as s:
        second = Batch(s, rt)
        got.append(open_from_intake(second, intake(4)).number)
        second.write()
        s.commit()
    numbers = [int(n.rsplit("-", 1)[1]) for n in got]
    assert numbers == [1, 2, 3]


def test_the_daily_cap_counts_the_batchs_own_acknowledgments(daemon: Daemon) -> None:
    rt = daemon.rt
    cap = rt.config.service.auto_reply_daily_cap
    with Session(rt.engine) as s:
        batch = Batch(s, rt)
        for n in range(cap + 2):
            open_from_intake(batch, intake(n, email="same@culture.example"))
        batch.write()
        s.commit()
        acks = count(s, Message, Message.kind == "ack", Message.to_addrs == "same@culture.example")
        capped = count(s, Event, Event.action == "ack-capped")
    assert (acks, capped) == (cap, 2)


def test_an_outgoing_letters_text_is_kept_once_in_its_bytes(daemon: Daemon) -> None:
    rt = daemon.rt
    with Session(rt.engine) as s:
        batch = Batch(s, rt)
        rid = open_from_intake(batch, intake(1)).id
        batch.write()
        s.commit()
    with Session(rt.engine) as s:
        request = s.get(Request, rid)
        assert request is not None
        ack, notice = (s.execute(select(Message).where(
            Message.request_id == rid, Message.kind == kind)).scalars().one()  # type: ignore[arg-type]
            for kind in ("ack", "notice"))
        for letter in (ack, notice):
            assert letter.body_text is None  # not beside the letter's bytes
            assert request.number in text_of(read_raw(s, letter.id))
        # the story still quotes each letter's first line, read from its bytes
        lines = {e.letter: e.text for e in build_story(s, rt.rules, request).entries}
        first = first_line(text_of(read_raw(s, ack.id)))
        assert first and f"«{first}»" in lines[ack.id]


def test_open_requests_per_accountant_are_kept_current_within_a_batch(daemon: Daemon) -> None:
    rt = daemon.rt
    with Session(rt.engine) as s:
        batch = Batch(s, rt)
        before = dict(batch.counts)
        opened = [open_from_intake(batch, intake(n)) for n in range(4)]
        for login in {r.assignee for r in opened if r.assignee}:
            mine = sum(r.assignee == login for r in opened)
            assert batch.counts[login] == before.get(login, 0) + mine
        assert outbox.Letters().rows == []
