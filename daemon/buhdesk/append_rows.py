"""Append-only rows (audit-trail events, raw bytes) written with Core inserts: the route stage
writes several per message, and building ORM objects for rows nobody reads back in the same
transaction costs more than the insert itself."""

from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session

from buhdesk.models import Event, Raw, utcnow


def insert_event(session: Session, *, stage: str, action: str, detail: str,
                 request_id: int | None = None, message_pk: int | None = None,
                 actor: str = "buhdesk") -> None:
    """One audit-trail row, at once. Events still pending in the session are flushed first so
    that the trail keeps the order in which things happened."""
    if any(isinstance(o, Event) for o in session.new):
        session.flush()
    session.connection().execute(insert(Event.__table__), {  # type: ignore[attr-defined]
        "at": utcnow(), "request_id": request_id, "message_pk": message_pk, "stage": stage,
        "action": action, "actor": actor, "detail": detail,
    })


def insert_raw(session: Session, message_pk: int, data: bytes) -> None:
    """The bytes of a message row that is already flushed."""
    session.connection().execute(insert(Raw.__table__), {  # type: ignore[attr-defined]
        "message_pk": message_pk, "data": data,
    })
