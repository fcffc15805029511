"""Rows written together with Core (``store.append_rows.insert_rows``) get ids that name exactly
their own values, on SQLite and on PostgreSQL, beside rows the ORM writes in the same transaction:
intake, acknowledgments and events are tied to their letters by these ids."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.reply.outbox import outgoing_row
from buhdesk.store.append_rows import insert_rows
from buhdesk.store.engine import open_store
from buhdesk.store.models import Message

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _row(n: int) -> dict[str, object]:
    return outgoing_row(kind="ack", request_id=None, message_id=f"<m{n}@buh.example>",
                        from_addr="buh@minfin.example", to_addrs=f"c{n}@culture.example",
                        subject=f"письмо {n}", body_text=None, size=n, created_at=T0)


def test_each_id_names_the_row_of_its_values_beside_the_orms_rows(store_url: str) -> None:
    engine = open_store(store_url)
    try:
        with Session(engine) as session:
            first = insert_rows(session, Message, [_row(n) for n in range(3)])
            early = Message(direction="in", kind="request", status="received", source="minfin",
                            source_key="1:1", subject="от ORM", created_at=T0)
            session.add(early)
            session.flush()  # the ORM's row between two batches
            second = insert_rows(session, Message, [_row(n) for n in range(3, 250)])
            late = Message(direction="in", kind="request", status="received", source="minfin",
                           source_key="1:2", subject="от ORM позже", created_at=T0)
            session.add(late)
            session.flush()
            orm_ids = early.id, late.id
            session.commit()
            ids = first + second
            subjects = dict(session.execute(select(col(Message.id), col(Message.subject))).all())

        assert len(set(ids)) == len(ids) == 250
        assert {pk: subjects[pk] for pk in ids} == {pk: f"письмо {n}" for n, pk in enumerate(ids)}
        assert [subjects[pk] for pk in orm_ids] == ["от ORM", "от ORM позже"]
        assert len(subjects) == 252
    finally:
        engine.dispose()


def test_a_rolled_back_batch_leaves_nothing_and_its_ids_are_given_again(store_url: str) -> None:
    engine = open_store(store_url)
    try:
        with Session(engine) as session:
            kept = insert_rows(session, Message, [_row(0)])
            session.commit()
        with Session(engine) as session:
            insert_rows(session, Message, [_row(n) for n in range(1, 5)])
            session.rollback()
        with Session(engine) as session:
            again = insert_rows(session, Message, [_row(n) for n in range(5, 8)])
            session.commit()
            subjects = dict(session.execute(select(col(Message.id), col(Message.subject))).all())

        assert sorted(subjects.values()) == sorted(f"письмо {n}" for n in (0, 5, 6, 7))
        assert [subjects[pk] for pk in kept + again] == [f"письмо {n}" for n in (0, 5, 6, 7)]
    finally:
        engine.dispose()
