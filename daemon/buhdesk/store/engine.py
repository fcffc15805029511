"""Opening the store: the engine (SQLite in WAL mode, or PostgreSQL by URL), migrations, sessions,
and the request-number sequence.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Table, event, make_url, select, text
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, create_engine

from buhdesk.store.models import Counter
from buhdesk.store.revisions import head_revisions, stored_revisions

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
    timeout = make_url(url).query.get("timeout")
    busy = float(timeout if isinstance(timeout, str) else SQLITE_BUSY_TIMEOUT)
    engine = create_engine(url, connect_args={"timeout": busy, "check_same_thread": False},
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: no deadlock when a reader later writes.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def affected_rows(result: object) -> int:
    """How many rows an UPDATE or DELETE changed (``session.execute`` types its result loosely)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model (SQLModel sets ``__table__`` without declaring it)."""
    table = getattr(model, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def is_postgres(engine: Engine | Connection) -> bool:
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

    A store already at the newest revision is left alone without importing Alembic (about 11 MB
    of memory for the daemon's life, see ``revisions.py``).
    """
    if at_head(engine):
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if is_postgres(engine):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def at_head(engine: Engine) -> bool:
    """The store records exactly the newest revisions of the migration files. Read without the
    migration lock: a store at the newest revision stays there (a store another instance is
    migrating is not at it yet, and ``migrate`` then waits for the lock)."""
    heads = head_revisions(MIGRATIONS / "versions")
    if heads is None:
        return False
    with engine.connect() as conn:
        return stored_revisions(conn) == heads


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
    stmt = select(Counter).where(col(Counter.name) == name).with_for_update()
    counter = session.execute(stmt).scalars().first()
    if counter is None:
        counter = Counter(name=name, value=0)
        try:
            with session.begin_nested():
                session.add(counter)
        except IntegrityError:
            counter = session.execute(stmt).scalars().one()
    counter.value += 1
    session.add(counter)
    return f"{name}-{counter.value:06d}"
