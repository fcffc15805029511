"""Migrations under the store's lock: instances started together on a fresh store all come up.

Before the lock, two daemons started at once on a fresh PostgreSQL database raced in Alembic and
one died with ``UniqueViolation alembic_version``. Here several threads (each its own engine, as
separate processes would have) open and migrate one fresh store at the same moment.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect, text

from buhdesk.store.engine import make_engine, migrate

pytestmark = pytest.mark.integration

INSTANCES = 4


def test_instances_migrating_a_fresh_store_at_once_all_succeed(store_url: str) -> None:
    start = threading.Barrier(INSTANCES)
    engines = [make_engine(store_url) for _ in range(INSTANCES)]

    def open_and_migrate(index: int) -> str:
        with engines[index].connect():  # connected before the start, as a started process is
            pass
        start.wait(timeout=30)
        migrate(engines[index])
        with engines[index].connect() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())

    try:
        with ThreadPoolExecutor(INSTANCES) as pool:
            versions = list(pool.map(open_and_migrate, range(INSTANCES)))  # re-raises a failure
        with engines[0].connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
            tables = set(inspect(conn).get_table_names())
    finally:
        for engine in engines:
            engine.dispose()
    assert len(set(versions)) == 1, versions  # every instance sees the same newest revision
    assert rows == 1
    assert {"messages", "requests", "events"} <= tables
