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


def test_a_store_at_the_newest_revision_is_left_alone_and_an_older_one_migrated(
        store_url: str) -> None:
    # The daemon skips Alembic when the store is at the newest revision: the newest revisions as
    # buhdesk reads them from the migration files are Alembic's own heads.
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from buhdesk.store.engine import MIGRATIONS, at_head
    from buhdesk.store.revisions import head_revisions

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = frozenset(ScriptDirectory.from_config(cfg).get_heads())
    assert head_revisions(MIGRATIONS / "versions") == heads
    engine = make_engine(store_url)
    try:
        assert not at_head(engine)  # a fresh store
        migrate(engine)
        assert at_head(engine)
        with engine.begin() as conn:  # as if the store were one revision behind
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        assert not at_head(engine)
    finally:
        engine.dispose()
