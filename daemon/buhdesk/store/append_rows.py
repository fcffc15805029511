"""Rows the hot paths (intake, route, reply, deliver) write many of, written with Core inserts,
several in one statement: new messages from plain values (their ids come back), and append-only
rows (audit-trail events, raw bytes) that nobody reads back as objects in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from buhdesk.store import compress
from buhdesk.store.engine import table_of
from buhdesk.store.models import Event, Raw, utcnow


def insert_rows(session: Session, model: type[SQLModel],
                rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """New rows of ``model``'s table from their values, in one ``INSERT … RETURNING id``; their
    ids in the order of ``rows``. The values name every column but the id."""
    if not rows:
        return []
    table = table_of(model)
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(session.connection().execute(stmt, [dict(r) for r in rows]).scalars().all())


def event_values(*, stage: str, action: str, detail: str, request_id: int | None = None,
                 message_pk: int | None = None, actor: str = "buhdesk") -> dict[str, Any]:
    return {"at": utcnow(), "request_id": request_id, "message_pk": message_pk, "stage": stage,
            "action": action, "actor": actor, "detail": detail}


def insert_event(session: Session, *, stage: str, action: str, detail: str,
                 request_id: int | None = None, message_pk: int | None = None,
                 actor: str = "buhdesk") -> None:
    """One audit-trail row, at once. Events still pending in the session are flushed first so
    that the trail keeps the order in which things happened."""
    insert_events(session, [event_values(stage=stage, action=action, detail=detail,
                                         request_id=request_id, message_pk=message_pk,
                                         actor=actor)])


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Audit-trail rows made by :func:`event_values`, in one statement."""
    if not rows:
        return
    if any(isinstance(o, Event) for o in session.new):
        session.flush()
    session.connection().execute(insert(table_of(Event)), list(rows))


def insert_raws(session: Session, rows: Sequence[tuple[int, bytes]]) -> None:
    """The bytes of message rows that are already written, ``(message id, bytes)`` each,
    compressed where it pays."""
    if not rows:
        return
    session.connection().execute(insert(table_of(Raw)), [raw_values(pk, data)
                                                         for pk, data in rows])


def raw_values(message_pk: int, letter: bytes | bytearray) -> dict[str, Any]:
    """The values of the ``raws`` row keeping ``letter``, compressed where it pays."""
    codec, data = compress.encode(letter)
    return {"message_pk": message_pk, "data": data, "codec": codec}


def insert_stored_raws(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """``raws`` rows made by :func:`raw_values`, in one statement."""
    if rows:
        session.connection().execute(insert(table_of(Raw)), [dict(r) for r in rows])
