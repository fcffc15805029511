"""Queries whose cost must not grow with the years of mail in the store, off the hot path: the
statements the SLA report, the overdue list, the purge plan, the digest, the held list, the routing and knowledge-base reports and the per-batch counts run
are captured and explained (with the tools of ``test_hot_path_plans``), on SQLite and on
PostgreSQL; none may read a whole large table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlmodel import Session
from test_agent_tools import PAYROLL, TRAVEL, letter, put
from test_hot_path_plans import captured, problems_of

from buhdesk.cli.admin import list_requests
from buhdesk.intake.quarantine import held_items
from buhdesk.kb.report import kb_report
from buhdesk.reply.outbox import AcksToday
from buhdesk.reports.routing import routing_report
from buhdesk.reports.sla import sla_report
from buhdesk.route.opening import open_counts
from buhdesk.schedule.digest import collect_digest
from buhdesk.schedule.retention import plan_purge
from buhdesk.service.runner import Daemon


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
        ("held letters: buhdesk held", lambda: held_items(engine)),
        ("the daily digest (overdue, unsorted, held)", lambda: collect_digest(rt, now)),
        ("routing report", lambda: routing_report(engine, rules, date(2026, 9, 1),
                                                  date(2026, 11, 30), tz)),
        ("knowledge-base report", lambda: kb_report(engine, rt.kb.get(), rules,
                                                    date(2026, 9, 1), date(2026, 11, 30))),
    ]
    problems = []
    for what, run in work:
        with captured(engine) as seen:
            run()
        assert seen, f"{what}: no statement captured"
        for statement, params in seen.items():
            # a report may sort its own result; what it may not do is read a whole table
            problems += [f"{what}: {p}" for p in problems_of(engine, statement, params)
                         if not p.startswith("USE TEMP B-TREE")]
    assert not problems, "\n\n".join(problems)
