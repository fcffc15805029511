"""`buhdesk report kb`: offered and inserted counts from the audit trail, requests closed without
a follow-up, and frequent questions that have no article yet."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from buhdesk.cli import reports as cli_reports
from buhdesk.config import package_data_dir
from buhdesk.kb.library import KnowledgeBase
from buhdesk.kb.report import kb_report, register_kb_report, render_csv, render_html
from buhdesk.store.models import Event, Request

DAY = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def _request(session: Session, n: int, process: str, need: str, state: str = "new",
             at: datetime = DAY) -> Request:
    r = Request(number=f"БУХ-2026-{n:06d}", process=process, need=need, state=state,
                created_at=at)
    session.add(r)
    session.flush()
    return r


def _event(session: Session, request: Request, action: str, at: datetime, **detail: object) -> None:
    session.add(Event(request_id=request.id, stage="reply", action=action, at=at,
                      detail=json.dumps(detail, ensure_ascii=False)))


@pytest.fixture
def engine(daemon):  # type: ignore[no-untyped-def]
    """A store with requests and knowledge-base events in November 2026 (and one in October)."""
    with Session(daemon.rt.engine) as s:
        helped = _request(s, 1, "payroll", "result", "closed")
        _event(s, helped, "kb-offered", DAY, articles=["spravka-2-ndfl", "vychet-na-detej"])
        came_back = _request(s, 2, "payroll", "result", "closed")
        _event(s, came_back, "followup", DAY - timedelta(hours=1))  # before the offer: no matter
        _event(s, came_back, "kb-offered", DAY, articles=["spravka-2-ndfl"])
        _event(s, came_back, "followup", DAY + timedelta(hours=2))
        open_one = _request(s, 3, "travel", "submission")
        _event(s, open_one, "kb-inserted", DAY, articles=["avansovyj-otchet"])
        for n in (4, 5, 6):
            _request(s, n, "reporting", "information")
        _request(s, 7, "external_reporting", "information")
        old = _request(s, 8, "payroll", "result", "closed", at=DAY - timedelta(days=40))
        _event(s, old, "kb-offered", DAY - timedelta(days=40), articles=["spravka-2-ndfl"])
        s.commit()
    return daemon.rt.engine


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(package_data_dir("rules"))


def test_figures_per_article(engine, kb: KnowledgeBase, shipped_rules) -> None:  # type: ignore[no-untyped-def]
    report = kb_report(engine, kb, shipped_rules, date(2026, 11, 1), date(2026, 11, 30))
    by_slug = {a.slug: a for a in report.articles}
    spravka = by_slug["spravka-2-ndfl"]
    assert (spravka.offered, spravka.inserted, spravka.requests, spravka.closed,
            spravka.closed_without_followup) == (2, 0, 2, 2, 1)
    assert spravka.success == pytest.approx(50.0)
    assert by_slug["vychet-na-detej"].success == pytest.approx(100.0)
    advance = by_slug["avansovyj-otchet"]
    assert (advance.offered, advance.inserted, advance.requests, advance.closed) == (0, 1, 1, 0)
    assert by_slug["otpusknye"].requests == 0 and by_slug["otpusknye"].success is None
    assert report.articles[0].slug == "spravka-2-ndfl"  # most used first


def test_questions_without_an_article(engine, kb: KnowledgeBase, shipped_rules) -> None:  # type: ignore[no-untyped-def]
    report = kb_report(engine, kb, shipped_rules, date(2026, 11, 1), date(2026, 11, 30))
    gaps = [(q.process, q.need, q.requests) for q in report.gaps]
    assert gaps == [("reporting", "information", 3)]  # external_reporting has only one request
    payroll = next(q for q in report.questions if q.process == "payroll")
    assert (payroll.requests, payroll.with_article) == (2, 2)
    assert "spravka-2-ndfl" in payroll.covering


def test_renderers(engine, kb: KnowledgeBase, shipped_rules) -> None:  # type: ignore[no-untyped-def]
    report = kb_report(engine, kb, shipped_rules, date(2026, 11, 1), date(2026, 11, 30))
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    spravka = next(r for r in rows if r[1] == "spravka-2-ndfl")
    assert spravka[4:10] == ["2", "0", "2", "2", "1", "50.0"]
    assert ["вопросы", "", shipped_rules.process_label("reporting"),
            shipped_rules.need_label("information"), "", "", "3", "", "", "", "0"] in rows
    html = render_html(report)
    assert '<html lang="ru">' in html and html.count("<h1>") == 1
    assert "<svg" in html and "<script" not in html
    assert "Частые вопросы без статьи" in html and shipped_rules.process_label("reporting") in html


def test_report_command(engine, daemon, capsys) -> None:  # type: ignore[no-untyped-def]
    config = daemon.rt.config
    parser = argparse.ArgumentParser()
    commands = cli_reports.register(parser.add_subparsers(dest="command"), lambda _: config)
    register_kb_report(commands)
    args = parser.parse_args(["report", "kb", "--from", "2026-11-01", "--to", "30.11.2026",
                              "--format", "csv", "--min-requests", "1"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "spravka-2-ndfl" in out and "Отчётность в контролирующие органы" in out
    bad = parser.parse_args(["report", "kb", "--from", "2026-11-30", "--to", "2026-11-01"])
    assert bad.func(bad) == 2
    assert "раньше начала" in capsys.readouterr().err
