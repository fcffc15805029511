"""The letters taken in per source (/metrics' ``buhdesk_messages_taken_in_total``) are running
totals the writers keep, read from a few rows however many letters the store holds: each letter
counted once, by every way a letter comes in, and a store of letters from before the totals
starts from them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from support import migrate_store
from test_agent_tools import PAYROLL, TRAVEL, letter

from buhdesk.intake.take import take_in
from buhdesk.interfaces import RawItem
from buhdesk.route.channels import register_offline
from buhdesk.service.metrics import collect
from buhdesk.service.runner import Daemon
from buhdesk.store.engine import make_engine
from buhdesk.store.tallies import taken_totals

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _totals(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return taken_totals(session)


def test_each_letter_is_counted_once_whichever_way_it_came(daemon: Daemon) -> None:
    source = daemon.sources[0]
    for client, topic in (("a@culture.example", PAYROLL), ("b@culture.example", TRAVEL)):
        source.put(letter(client, *topic))  # type: ignore[attr-defined]
    daemon.drain()
    data = letter("c@culture.example", *PAYROLL)
    again = [RawItem(source="minfin", key=f"x:{n}", data=data, received_at=T0)
             for n in range(2)]  # the same bytes under two keys: one letter
    take_in(daemon.rt.engine, again, max_bytes=1 << 20)
    take_in(daemon.rt.engine, again, max_bytes=1 << 20)  # re-delivered: nothing new
    with Session(daemon.rt.engine) as session:
        register_offline(session, daemon.rt, "phone", "d@culture.example", "Клиент", "Справка",
                         "Прошу справку 2-НДФЛ.", sorted(daemon.rt.rules.staff)[0])
        session.commit()
    assert _totals(daemon.rt.engine) == {"minfin": 3, "phone": 1}
    assert collect(daemon.rt.engine, now=T0).taken_in == {"minfin": 3, "phone": 1}


@pytest.mark.integration
def test_a_store_of_letters_from_before_the_totals_starts_from_them(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        migrate_store(engine, "0015_spliced_raws")
        rows = [("in", "minfin"), ("in", "minfin"), ("in", "delopro"), ("in", None),
                ("out", None)]
        with engine.begin() as conn:
            for n, (direction, source) in enumerate(rows, start=1):
                conn.execute(text(
                    "INSERT INTO messages (direction, kind, status, source, source_key, "
                    "to_addrs, subject, raw_sha256, size, attempts, created_at) VALUES "
                    "(:direction, '', 'routed', :source, :key, '', '', '', 0, 0, :at)"),
                    {"direction": direction, "source": source, "key": f"k{n}",
                     "at": T0})
        migrate_store(engine, "head")
        assert _totals(engine) == {"minfin": 2, "delopro": 1, "": 1}
        take_in(engine, [RawItem(source="minfin", key="k9", data=b"Subject: new\r\n\r\n",
                                 received_at=T0)], max_bytes=1 << 20)
        assert _totals(engine)["minfin"] == 3
        migrate_store(engine, "0015_spliced_raws", down=True)
        with engine.connect() as conn:
            left = conn.execute(text("SELECT name FROM counters")).scalars().all()
        assert not [name for name in left if name.startswith("taken:")]
    finally:
        engine.dispose()
