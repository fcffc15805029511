"""Queries whose cost must not grow with the years of mail in the store: the statements the
reports, the overdue list, the purge plan and the route stage's per-batch counts actually run
are captured and explained, on SQLite and on PostgreSQL; none may read a whole large table.

On PostgreSQL the planner is told to avoid sequential scans: a statement that still scans has no
index that serves it (on the test's few rows a scan would otherwise be the cheaper plan).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session
from test_agent_tools import PAYROLL, TRAVEL, letter, put

from buhdesk.cli.admin import list_requests
from buhdesk.reply.outbox import AcksToday
from buhdesk.reports.sla import sla_report
from buhdesk.route.opening import open_counts
from buhdesk.schedule.retention import plan_purge
from buhdesk.service.runner import Daemon

LARGE = ("messages", "raws", "attachments", "events", "requests")
SQLITE_SCAN = re.compile(rf"\bSCAN (?:TABLE )?({'|'.join(LARGE)})\b(?! USING)")
PG_SCAN = re.compile(rf"Seq Scan on ({'|'.join(LARGE)})\b")


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run on ``engine`` meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def before(conn: Connection, cursor: Any, statement: str, params: Any, context: Any,
               executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def full_scans(engine: Engine, statement: str, params: Any) -> list[str]:
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            found = SQLITE_SCAN.findall(plan)
        else:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, params)
            plan = "\n".join(str(row[0]) for row in cursor.fetchall())
            found = PG_SCAN.findall(plan)
        cursor.close()
    return [f"{table}: {plan}" for table in found]


def test_report_and_batch_queries_use_indexes(daemon: Daemon) -> None:
    for n in range(6):
        put(daemon, letter(f"client{n}@culture.example", *(PAYROLL if n % 2 else TRAVEL)))
    rt = daemon.rt
    engine, rules, tz, now = rt.engine, rt.rules, rt.config.service.tz, rt.now()

    def in_session(run: Callable[[Session], object]) -> Callable[[], object]:
        def go() -> object:
            with Session(engine) as session:
                return run(session)
        return go

    work: list[tuple[str, Callable[[], object]]] = [
        ("SLA report", lambda: sla_report(engine, rules, date(2026, 9, 1), date(2026, 11, 30),
                                          now=now, tz=tz)),
        ("list --overdue", lambda: list_requests(engine, rules, tz, overdue=True, now=now)),
        ("purge plan", lambda: plan_purge(engine, timedelta(days=182), now)),
        ("daily cap on acknowledgments",
         in_session(lambda s: AcksToday().today(s, rt, "x@culture.example"))),
        ("open requests per assignee", in_session(open_counts)),
    ]
    problems = []
    for what, run in work:
        with captured(engine) as seen:
            run()
        assert seen, f"{what}: no statement captured"
        for statement, params in seen:
            problems += [f"{what}: {p}" for p in full_scans(engine, statement, params)]
    assert not problems, "\n\n".join(problems)
