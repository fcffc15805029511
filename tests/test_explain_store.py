"""`buhdesk explain` against a live store: it reads imported absences and the real workload, so it
names the accountant the daemon then assigns; its text names processes and people in Russian."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session
from test_pipeline import PAYROLL, letter

from buhdesk.route.explain import FIELDS, ExplainContext, explain_path
from buhdesk.cli.explain import _text
from buhdesk.store.models import Absence, Request
from buhdesk.service.runner import Daemon
from buhdesk.trust.keys import THREAD
from harness.memory import MemorySource


def context(d: Daemon, *, with_store: bool) -> ExplainContext:
    return ExplainContext(rules=d.rt.rules, own_address=d.rt.config.service.address,
                          thread_keys=d.rt.keys.keys(THREAD) if with_store else (),
                          engine=d.rt.engine if with_store else None,
                          duty_accountant=d.rt.config.service.duty_accountant)


def test_explain_names_the_assignee_the_daemon_assigns(daemon: Daemon, tmp_path: Path) -> None:
    path = tmp_path / "payroll.eml"
    path.write_bytes(letter("kovaleva@culture.example", *PAYROLL, mid="p1"))
    at = daemon.clock[0]  # type: ignore[attr-defined]
    alone = explain_path(context(daemon, with_store=False), path, at=at)["assignee"]
    assert alone
    others = [login for login in daemon.rt.rules.staff if login != alone]
    with Session(daemon.rt.engine) as s:  # the first choice is away, a colleague is loaded
        s.add(Absence(login=alone, start=at.date() - timedelta(days=3),
                      end=at.date() + timedelta(days=10), reason="отпуск", origin="import"))
        for n, login in enumerate(others[:1] * 4):
            s.add(Request(number=f"БУХ-2026-09000{n}", state="assigned", assignee=login,
                          process="payroll", created_at=at))
        s.commit()
    predicted = explain_path(context(daemon, with_store=True), path, at=at)
    assert predicted["assignee"] and predicted["assignee"] != alone
    source: MemorySource = daemon.sources[0]  # type: ignore[assignment]
    source.put(path.read_bytes())
    daemon.drain()
    with Session(daemon.rt.engine) as s:
        [made] = s.exec(select(Request).where(Request.client_email == "kovaleva@culture.example")
                        ).scalars().all()  # type: ignore[call-overload]
        assert made.assignee == predicted["assignee"]


def test_text_names_process_and_people_and_explains_rules_in_russian(
        daemon: Daemon, tmp_path: Path) -> None:
    path = tmp_path / "payroll.eml"
    path.write_bytes(letter("kovaleva@culture.example", *PAYROLL, mid="p2"))
    result = explain_path(context(daemon, with_store=True), path, at=daemon.clock[0])  # type: ignore[attr-defined]
    assert set(result) == set(FIELDS)  # the JSON contract is unchanged
    out = io.StringIO()
    _text(result, daemon.rt.rules, out)
    text = out.getvalue()
    rules = daemon.rt.rules
    assert f"процесс: {rules.process_label('payroll')} (payroll)" in text
    assert f"исполнитель: {rules.staff[result['assignee']].name} ({result['assignee']})" in text
    assert "почему: классификация: процесс «" in text and "почему: назначение: " in text
    assert "почему: срок: " in text
    assert '{"stage"' not in text and "правило: {" not in text
