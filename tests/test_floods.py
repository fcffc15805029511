"""Hourly counts: one row per key and hour, bumped by its primary key (so a letter never scans the
store), separate per hour and per key, forgotten after two days; and the lookup of a held letter's
release uses the index on events.message_pk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import write_config
from sqlalchemy import select, text
from sqlmodel import Session

from buhdesk.config import load_config
from buhdesk.trust.floods import bump, purge_counts
from buhdesk.store.models import Event, Message, RateCount
from buhdesk.store.engine import open_store
from buhdesk.trust.holds import HELD_ACTION, released

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_counts_per_key_and_hour(tmp_path: Path, store_url: str) -> None:
    engine = open_store(load_config(write_config(tmp_path, store=store_url)).store.url)
    try:
        with Session(engine) as s:
            steps = [bump(s, "registrations:a@x.example", NOW, 2) for _ in range(4)]
            assert [(st.count, st.within, st.first_over) for st in steps] == [
                (1, True, False), (2, True, False), (3, False, True), (4, False, False)]
            assert bump(s, "registrations:b@x.example", NOW, 2).count == 1
            assert bump(s, "registrations:a@x.example", NOW + timedelta(hours=1), 2).count == 1
            assert bump(s, "registrations:a@x.example", NOW - timedelta(days=3), 2).count == 1
            s.commit()
        assert purge_counts(engine, NOW) == 1
        with Session(engine) as s:
            assert len(s.execute(select(RateCount)).scalars().all()) == 3
    finally:
        engine.dispose()


def test_a_release_is_found_by_the_index(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path}/b.db")
    try:
        with Session(engine) as s:
            msg = Message(direction="in", status="held", source="m", source_key="1")
            s.add(msg)
            s.flush()
            s.add(Event(message_pk=msg.id, stage="route", action=HELD_ACTION))
            s.flush()
            assert not released(s, msg)
            s.add(Event(message_pk=msg.id, stage="intake", action="requeued"))
            s.flush()
            assert released(s, msg)
            s.add(Event(message_pk=msg.id, stage="route", action=HELD_ACTION))
            s.flush()
            assert not released(s, msg)  # held again after the release: a new decision
            plan = " ".join(str(r[-1]) for r in s.execute(text(
                "EXPLAIN QUERY PLAN SELECT action FROM events WHERE message_pk = 1 "
                "AND action IN ('a', 'b') ORDER BY id")))
            assert "ix_events_message_pk" in plan and "SCAN events" not in plan
    finally:
        engine.dispose()
