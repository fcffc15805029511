"""Rows the hot paths (intake, route, deliver) write many of: new rows built without the
per-attribute cost of SQLModel's constructor, and append-only rows (audit-trail events, raw
bytes) written with Core inserts, several in one statement: nobody reads them back as objects in
the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from buhdesk.models import Event, Raw, utcnow

RowT = TypeVar("RowT", bound=SQLModel)


def new_row(cls: type[RowT], **values: Any) -> RowT:
    """A new table row equal to ``cls(**values)`` — every field given or defaulted, the same
    ``model_fields_set`` — at a tenth of the cost. The values go straight into the instance
    dictionary, which is what the ORM reads when it inserts a pending object; the models define
    no validators and no attribute events that this would skip."""
    obj: RowT = cls._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    data = obj.__dict__
    for name, field in cls.model_fields.items():
        if name in values:
            data[name] = values[name]
        elif not field.is_required():
            data[name] = field.get_default(call_default_factory=True)
        else:
            raise TypeError(f"{cls.__name__}: {name} is required")
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


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
    session.connection().execute(insert(Event.__table__), list(rows))  # type: ignore[attr-defined]


def insert_raws(session: Session, rows: Sequence[tuple[int, bytes]]) -> None:
    """The bytes of message rows that are already flushed, ``(message id, bytes)`` each."""
    if not rows:
        return
    session.connection().execute(insert(Raw.__table__),  # type: ignore[attr-defined]
                                 [{"message_pk": pk, "data": data} for pk, data in rows])
