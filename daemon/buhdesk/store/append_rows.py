"""Rows the hot paths (intake, route, deliver) write many of: new rows built without the
per-attribute cost of SQLModel's constructor, and append-only rows (audit-trail events, raw
bytes) written with Core inserts, several in one statement: nobody reads them back as objects in
the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from pydantic.fields import FieldInfo
from sqlalchemy import event, insert
from sqlmodel import Session, SQLModel

from buhdesk.store.models import Event, Raw, utcnow

RowT = TypeVar("RowT", bound=SQLModel)


def new_row(cls: type[RowT], **values: Any) -> RowT:
    """A new table row equal to ``cls(**values)`` — every field given or defaulted, the same
    ``model_fields_set`` — at a tenth of the cost. The values go straight into the instance
    dictionary, which is what the ORM reads when it inserts a pending object; the models define
    no validators and no attribute events that this would skip."""
    obj: RowT = cls._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    data = obj.__dict__
    for name, field, factory in _fields(cls):
        if name in values:
            data[name] = values[name]
        elif factory is not None:
            data[name] = factory()
        elif not field.is_required():
            data[name] = field.get_default()
        else:
            raise TypeError(f"{cls.__name__}: {name} is required")
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


@cache
def _fields(cls: type[SQLModel]) -> tuple[tuple[str, FieldInfo, Callable[[], Any] | None], ...]:
    """Each field with its default factory (pydantic would look at the factory's signature on
    every call to learn whether it takes the validated data; ours never do)."""
    fields = []
    for name, field in cls.model_fields.items():
        factory = field.default_factory
        if factory is not None and field.default_factory_takes_validated_data:
            raise TypeError(f"{cls.__name__}.{name}: a default factory with arguments")
        fields.append((name, field, factory))
    return tuple(fields)


def insert_new(session: Session, rows: Sequence[SQLModel]) -> None:
    """New rows of one table made by :func:`new_row`, in one ``INSERT … RETURNING id``; their
    ids are set. The rows stay outside the session: a change made to them afterwards is not
    stored (read them again to change them)."""
    if not rows:
        return
    table = type(rows[0]).__table__  # type: ignore[attr-defined]
    columns = [c.name for c in table.columns if c.name != "id"]
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.connection().execute(
        stmt, [{c: row.__dict__[c] for c in columns} for row in rows]).scalars().all()
    for row, pk in zip(rows, ids, strict=True):
        row.__dict__["id"] = pk


_BEFORE_FLUSH = "buhdesk.insert-before-flush"


def insert_before_flush(session: Session, row: SQLModel) -> None:
    """A new row made by :func:`new_row`, its id already set, inserted together with the other
    rows given so just before the session's next flush (``session.flush()`` forces it), so
    that the rows which the flush writes may refer to it. Like :func:`insert_new`, the row
    stays outside the session."""
    pending = session.info.get(_BEFORE_FLUSH)
    if pending is None:
        pending = session.info[_BEFORE_FLUSH] = []
        event.listen(session, "before_flush", _insert_pending)
    pending.append(row)


def _insert_pending(session: Session, _context: Any, _instances: Any) -> None:
    pending = session.info.get(_BEFORE_FLUSH)
    if not pending:
        return
    rows, pending[:] = list(pending), []
    for table, group in _by_table(rows).items():
        session.connection().execute(insert(table), [
            {c.name: row.__dict__[c.name] for c in table.columns} for row in group])


def _by_table(rows: Sequence[SQLModel]) -> dict[Any, list[SQLModel]]:
    tables: dict[Any, list[SQLModel]] = {}
    for row in rows:
        tables.setdefault(type(row).__table__, []).append(row)  # type: ignore[attr-defined]
    return tables


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
