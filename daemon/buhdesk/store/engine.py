"""Opening the store: the engine (SQLite in WAL mode, or PostgreSQL by URL), migrations, sessions,
and the request-number sequence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, make_url, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, create_engine

from buhdesk.store.models import Counter

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT = 60.0  # seconds a writer waits for another's lock


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, full sync, foreign keys and immediate transactions,
    and waits for another writer's lock up to ``?timeout=`` seconds of the URL (60 by default)
    before failing with "database is locked" (the daemon then retries with back-off)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Bound values are letters' addresses and texts: kept out of error messages, hence logs.
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10,
                             hide_parameters=True)
    busy = float(make_url(url).query.get("timeout", SQLITE_BUSY_TIMEOUT))  # type: ignore[arg-type]
    engine = create_engine(url, connect_args={"timeout": busy, "check_same_thread": False},
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front: no deadlock when a reader later writes.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


# The PostgreSQL advisory lock that serialises migrations: any fixed 64-bit number, the same in
# every buhdesk instance (the bytes of "buhdesk" plus "M").
MIGRATION_LOCK = int.from_bytes(b"buhdeskM", "big") & 0x7FFF_FFFF_FFFF_FFFF


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic), under the store's lock.

    Any number of instances may start together: the first takes the lock and migrates, the
    others wait for its commit and then find the schema at the newest revision. PostgreSQL: a
    transaction-scoped advisory lock taken before Alembic reads ``alembic_version``; SQLite: the
    write lock that ``BEGIN IMMEDIATE`` (see ``make_engine``) takes at the start of the
    transaction, waited for up to the busy timeout.
    """
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if is_postgres(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_store(url: str) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    return engine


@contextmanager
def opened_store(url: str) -> Iterator[Engine]:
    """The store for one command: migrated, and its connections closed when the block ends."""
    engine = open_store(url)
    try:
        yield engine
    finally:
        engine.dispose()


def next_number(session: Session, prefix: str, year: int) -> str:
    """The next request number, e.g. ``БУХ-2026-000123``; gap-free within a committed history."""
    name = f"{prefix}-{year}"
    stmt = select(Counter).where(Counter.name == name).with_for_update()
    counter = session.exec(stmt).scalars().first()  # type: ignore[call-overload]
    if counter is None:
        counter = Counter(name=name, value=0)
        try:
            with session.begin_nested():
                session.add(counter)
        except IntegrityError:
            counter = session.exec(stmt).scalars().one()  # type: ignore[call-overload]
    counter.value += 1
    session.add(counter)
    return f"{name}-{counter.value:06d}"


class RequestIds:
    """Ids for the new requests of one transaction, known before their rows are written, so
    that the rows go in together at the next flush. On PostgreSQL they come from the table's
    sequence; on SQLite the transaction holds the store's write lock (BEGIN IMMEDIATE), so the
    ids after the highest one are free until it commits. The highest is read again after each
    flush of the session: another path of the same transaction may have written a request."""

    def __init__(self, session: Session, expected: int = 1) -> None:
        self.session, self.expected = session, max(expected, 1)
        self.postgres = is_postgres(session.get_bind())  # type: ignore[arg-type]
        self.last: int | None = None
        self.ahead: list[int] = []  # PostgreSQL: taken from the sequence, not used yet
        self.stale = True  # SQLite: the highest id must be read (again) before the next take
        if not self.postgres:
            event.listen(session, "after_flush", self._flushed)

    def _flushed(self, *_args: object) -> None:
        self.stale = True

    def take(self) -> int:
        conn = self.session.connection()  # no autoflush: the batch's own rows wait in the session
        if self.postgres:
            if not self.ahead:  # one round trip for the batch; unused ids are merely skipped
                self.ahead = list(conn.execute(text(
                    "SELECT nextval(pg_get_serial_sequence('requests', 'id')) "
                    "FROM generate_series(1, :n)"), {"n": self.expected}).scalars())
                self.ahead.reverse()
            return int(self.ahead.pop())
        if self.stale:
            highest = conn.exec_driver_sql("SELECT max(id) FROM requests").scalar() or 0
            self.last, self.stale = max(self.last or 0, highest), False
        self.last = (self.last or 0) + 1
        return self.last
