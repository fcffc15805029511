"""The hot path's cost must not grow with the store: every statement that intake, route, reply
and deliver run for a batch of letters is captured while the daemon really does that work, then
explained — on an empty store and on one filled with a few thousand requests and their letters,
on SQLite and on PostgreSQL. None may read a whole large table or sort one in a temporary B-tree.

The statements come from the real code path, so a new query on the hot path is checked without
anyone listing it here. On PostgreSQL the planner is told to avoid sequential scans: a statement
that still scans has no index that serves it. SQLite's plans are read as a store has them,
without the planner's statistics (nothing makes them), and a range of an index that names only
columns of few values (a source, a direction, a stage) counts as reading the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col
from test_agent_tools import PAYROLL, TRAVEL, letter

from buhdesk.feedback.invitations import InvitationScrub
from buhdesk.route.channels import register_offline
from buhdesk.service.runner import Daemon
from buhdesk.store.engine import table_of
from buhdesk.store.models import Counter, Event, Message, Request

LARGE = ("messages", "raws", "attachments", "events", "requests")
_TABLES = "|".join(LARGE)
SQLITE_SCAN = re.compile(rf"\bSCAN (?:TABLE )?({_TABLES})\b")
SQLITE_TEMP = re.compile(r"USE TEMP B-TREE FOR \w+")
# A range of an index that names only columns of few values reads a share of the table (every
# letter of the mailbox, every closed request), growing with the store: SQLite's plan calls it
# a SEARCH all the same.
SQLITE_RANGE = re.compile(rf"\bSEARCH ({_TABLES}) USING (?:COVERING )?INDEX \w+ \(([^)]*)\)")
FEW_VALUED = {"source", "direction", "kind", "status", "state", "stage", "action", "channel"}
# ...but for the letters of a status that no letter keeps for long (the outbox's pending and
# held letters, the letters taken in and not routed yet) and the requests of a state: the open
# ones (closed requests are read by when they closed)
FEW_BY_DESIGN = ({"direction", "status"}, {"state"})
# ...and on every turn of the worker's loop, read a page at a time: after a catch-up the outbox
# holds the backlog's acknowledgments and notices, and a statement that reads them all on every
# turn costs the square of the backlog
LIMITED = re.compile(r"\bLIMIT\b", re.IGNORECASE)
PG_SCAN = re.compile(rf"Seq Scan on ({_TABLES})\b")
EXPLAINED = ("SELECT", "UPDATE", "DELETE")
FILLED = 3_000  # requests in the filled store, each with its letter, acknowledgment and notice
CLIENTS = [f"client{n}@culture.example" for n in range(6)]

Captured = dict[str, Any]  # statement → the parameters of its first run


@contextmanager
def captured(engine: Engine) -> Iterator[Captured]:
    """Every statement run on ``engine`` meanwhile (once each), with its parameters."""
    seen: Captured = {}

    def before(conn: Connection, cursor: Any, statement: str, params: Any, context: Any,
               executemany: bool) -> None:
        if statement.lstrip().upper().startswith(EXPLAINED):
            seen.setdefault(statement, params[0] if executemany else params)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def problems_of(engine: Engine, statement: str, params: Any, *,
                per_turn: bool = False) -> list[str]:
    """What makes the statement's plan read a whole large table, with the plan; ``per_turn``:
    the statement runs on every turn of the worker's loop."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            found = SQLITE_SCAN.findall(plan) + SQLITE_TEMP.findall(plan) + [
                f"{table} by {columns}" for table, columns in SQLITE_RANGE.findall(plan)
                if _few_valued(columns, by_design=not per_turn or bool(LIMITED.search(statement)))]
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, params)
            plan = "\n".join(str(row[0]) for row in cursor.fetchall())
            found = PG_SCAN.findall(plan)
        cursor.close()
    return [f"{what}:\n  {statement}\n{plan}" for what in found]


def _few_valued(columns: str, *, by_design: bool) -> bool:
    named = set(re.findall(r"(\w+)\s*[=<>]", columns))
    return named <= FEW_VALUED and not (by_design and named in FEW_BY_DESIGN)


def fill(d: Daemon, count: int) -> None:
    """``count`` requests over the past year, one in ten still open, each with the client's
    letter, the acknowledgment and the notice and two events; the batch's clients have had an
    acknowledgment today already. Then, on PostgreSQL, the planner's statistics (what its
    autovacuum keeps); a SQLite store has none, and its plans are explained as they are."""
    now, logins = d.rt.now(), sorted(d.rt.rules.staff)
    source = d.sources[0].name  # one mailbox: every letter came through it
    requests, messages, events = [], [], []
    for i in range(1, count + 1):
        at = now - timedelta(days=365) + timedelta(seconds=365 * 86400 * i / count)
        client = CLIENTS[i % len(CLIENTS)] if i > count - 12 else f"old{i}@culture.example"
        state = "assigned" if i % 10 == 0 else "closed"
        requests.append(dict(
            id=i, number=f"БУХ-{at.year}-{i:06d}", state=state, channel="email",
            source="minfin", client_email=client, client_name="", client_department="",
            subject="Справка", process="payroll", need="information",
            assignee=logins[i % len(logins)], due_at=None, due_rule="", external_uid=None,
            external_number=None, external_date=None, parent_id=None, created_at=at,
            updated_at=at, answered_at=None, closed_at=None if state != "closed" else at,
            participants="", merged_into=None))
        for n, (direction, kind, to) in enumerate((("in", "request", "buh@minfin.example"),
                                                   ("out", "ack", client),
                                                   ("out", "notice", "acc@minfin.example"))):
            pk = 3 * i + n
            messages.append(dict(
                id=pk, direction=direction, kind=kind, status="routed" if n == 0 else "sent",
                source=source if n == 0 else None, source_key=f"old:{pk}" if n == 0 else None,
                request_id=i, message_id=f"<fill-{pk}@example>", from_addr=client,
                to_addrs=to, subject="Справка", body_text="Прошу справку.", automated=None,
                raw_sha256=f"{pk:064x}", size=100, attempts=0, next_attempt_at=None,
                reason=None, created_at=at if i <= count - 12 else now - timedelta(hours=1),
                done_at=at))
            events.append(dict(at=at, request_id=i, message_pk=pk, stage="route",
                               action="registered", actor="buhdesk", detail="{}"))
    with d.rt.engine.begin() as conn:
        for model, rows in ((Request, requests), (Message, messages), (Event, events)):
            conn.execute(insert(table_of(model)), rows)
        conn.execute(insert(table_of(Counter)), [{"name": f"БУХ-{y}", "value": count}
                                                 for y in {now.year, now.year - 1}])
        if d.rt.engine.dialect.name == "postgresql":
            for table in ("requests", "messages", "events"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    if d.rt.engine.dialect.name == "postgresql":  # autovacuum keeps them there; SQLite: none
        with d.rt.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


def route_a_batch(d: Daemon) -> Captured:
    """New letters taken in, routed, acknowledged and delivered, a request taken by phone, and
    the sent invitations' scrub that every turn of the loop runs."""
    source = d.sources[0]
    # the stages run for every turn of the worker's loop (the others by the clock)
    d.STAGES = tuple(s for s in d.STAGES if s[0] in ("route", "deliver", "scrub"))
    d.drain()  # the daemon's start: the scrub's first pass reads every sent invitation, once
    with captured(d.rt.engine) as seen:
        for n, client in enumerate(CLIENTS):
            source.put(letter(client, *(PAYROLL if n % 2 else TRAVEL)))  # type: ignore[attr-defined]
        d.drain()
        with Session(d.rt.engine) as session:  # a request taken by phone opens the same way
            register_offline(session, d.rt, "phone", "phone@culture.example", "Клиент", "Справка",
                             "Прошу справку 2-НДФЛ.", sorted(d.rt.rules.staff)[0])
            session.commit()
        d.clock[0] += timedelta(minutes=5)  # type: ignore[attr-defined]
        d.drain()
    assert any("requests" in s for s in seen) and any("UPDATE" in s for s in seen)
    return seen


@pytest.mark.parametrize("filled", [0, FILLED], ids=["empty", "filled"])
def test_the_hot_path_reads_no_large_table_whole(daemon: Daemon, filled: int) -> None:
    if filled:
        fill(daemon, filled)
    seen = route_a_batch(daemon)
    problems = [p for statement, params in seen.items()
                for p in problems_of(daemon.rt.engine, statement, params, per_turn=True)]
    assert not problems, "\n\n".join(problems)


def test_the_daily_cap_counts_the_acknowledgments_already_stored_today(daemon: Daemon) -> None:
    """Read per address, the cap still sees today's stored acknowledgments (two each, by
    :func:`fill`): the batch's letters get the third, the next letter none (the cap is 3)."""
    fill(daemon, FILLED)
    route_a_batch(daemon)
    daemon.sources[0].put(letter(CLIENTS[0], *PAYROLL))  # type: ignore[attr-defined]
    daemon.drain()
    since = daemon.rt.now() - timedelta(hours=2)
    with Session(daemon.rt.engine) as s:
        acks = s.execute(select(func.count()).select_from(Message).where(
            col(Message.kind) == "ack", col(Message.to_addrs) == CLIENTS[0],
            col(Message.created_at) >= since)).scalar_one()
        capped = s.execute(select(func.count()).select_from(Event).where(
            col(Event.action) == "ack-capped")).scalar_one()
    assert (acks, capped) == (3, 1)


def test_the_scrub_reads_only_the_invitations_since_its_last_pass(daemon: Daemon) -> None:
    """The first pass (at start) reads every sent invitation; the next ones a range of the
    index from the oldest invitation still pending at the previous pass."""
    scrub = InvitationScrub(daemon.rt)
    with captured(daemon.rt.engine) as first:
        scrub()
    with captured(daemon.rt.engine) as later:
        scrub()
    def invitations(seen: Captured) -> list[str]:
        return [s for s in seen if "body_text LIKE" in s]
    [first_read], [later_read] = invitations(first), invitations(later)
    assert "created_at >=" not in first_read and "created_at >=" in later_read
