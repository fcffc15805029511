"""Rows the hot paths (intake, route, reply, deliver) write many of, written with Core inserts,
several in one statement: new messages from plain values (their ids come back), requests whose
ids were taken ahead (:class:`RowIds`), and append-only rows (audit-trail events, raw bytes) that
nobody reads back as objects in the same transaction; and the upserts of small counting rows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, func, insert, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql.expression import ColumnElement, Executable
from sqlmodel import Session, SQLModel

from buhdesk.store import compress
from buhdesk.store.engine import is_postgres, table_of
from buhdesk.store.models import Event, Raw, utcnow


def insert_rows(session: Session, model: type[SQLModel],
                rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """New rows of ``model``'s table from their values, in one statement; their ids in the
    order of ``rows``. The values name every column but the id.

    PostgreSQL: ``INSERT … RETURNING id`` in the order of the values. SQLite cannot tie its
    RETURNING rows to the values, so SQLAlchemy would send one statement a row: there the ids
    are taken ahead (:class:`RowIds`) and the rows go in with them."""
    if not rows:
        return []
    table = table_of(model)
    connection = session.connection()
    if is_postgres(connection):
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(connection.execute(stmt, [dict(r) for r in rows]).scalars().all())
    row_ids = RowIds(session, model)
    ids = [row_ids.take() for _ in rows]
    connection.execute(insert(table), [{**r, "id": pk} for r, pk in zip(rows, ids, strict=True)])
    return ids


def upserts(table: Table, values: Mapping[str, Any], *, key: Sequence[str],
            on_conflict: Mapping[str, Any],
            returning: Sequence[ColumnElement[Any]] = ()) -> dict[str, Executable]:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` for each kind of store, by dialect name. Build
    them once, at import: making such a statement costs several times running it."""
    made: dict[str, Executable] = {}
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert)):
        stmt = dialect_insert(table).values(dict(values)).on_conflict_do_update(
            index_elements=list(key), set_=dict(on_conflict))
        made[name] = stmt.returning(*returning) if returning else stmt
    return made


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


M = TypeVar("M", bound=SQLModel)


def as_loaded(model: type[M], values: Mapping[str, Any]) -> M:
    """An object of a row written (or about to be written) with Core, as if the session had
    loaded it: made the way the ORM makes loaded objects, without the model's ``__init__``
    (a tenth of its cost). Columns missing from ``values`` are None. Add it to the session."""
    mapper = inspect(model)
    row: M = mapper.class_manager.new_instance()
    row.__dict__.update({attr.key: values.get(attr.key) for attr in mapper.column_attrs})
    make_transient_to_detached(row)
    return row


class RowIds:
    """Ids for new rows of one table, taken ahead so that the rows can be inserted together
    later. PostgreSQL draws them from the table's sequence, in growing blocks (an id drawn and
    not used is a gap, as after any rollback); SQLite counts on from the largest id, which
    holds because the transaction has the write lock from its start (``BEGIN IMMEDIATE``)."""

    def __init__(self, session: Session, model: type[SQLModel]) -> None:
        self.session, self.table = session, table_of(model)
        self._free: deque[int] = deque()
        self._taken = 0
        self._last: int | None = None  # SQLite: the last id handed out

    def take(self) -> int:
        self._taken += 1
        conn = self.session.connection()
        if not is_postgres(conn):
            if self._last is None:
                self._last = conn.execute(select(func.max(self.table.c.id))).scalar() or 0
            self._last += 1
            return self._last
        if not self._free:
            self._free.extend(conn.execute(text(
                "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                {"t": self.table.name, "n": min(64, self._taken)}).scalars())
        return self._free.popleft()
