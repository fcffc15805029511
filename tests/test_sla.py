"""The SLA report: figures on a prepared store (expected values worked out by hand below) and
each output format.

The store, times in Moscow time, period 2–8 November 2026, report made on 10 November 12:00:

    no  process/need         channel  who       created     due          first answer   closed
    R1  payroll/information  email    A         02 10:00    03 17:00     02 14:00 (4 h)  03 10:00 (24 h)
    R2  payroll/consultation email    A         02 12:00    05 18:00     06 12:00 (96 h, outgoing answer)
    R3  travel/information   delopro  B         03 09:00    06 16:45     03 10:00 (1 h, outgoing answer
                                                                         before answered_at 11:00)
                                                                                        05 09:00 (48 h)
    R4  travel/submission    phone    B         05 10:00    12 18:00     —  (pending: due later)
    R5  payroll/information  email    nobody    06 10:00    09 18:00     —  (late: due passed)
    R6  payroll/information  email    A         05 10:00    none         05 16:00 (6 h)
    R8  travel/information   delopro  B (waiting) 04 10:00  06 16:45     —  (pending: waits on client)
    R9  facts/other          office   A         04 10:00    05 18:00     —              05 12:00 (26 h)
    R7  received 9 November: outside the period.

On time R1, R3, R9 (closed before the deadline) = 3; late R2, R5 = 2; pending R4, R8; R6 has no
deadline. Share 3/5 = 60 %. Answer hours [1, 4, 6, 96]: median 5, p90 at rank 2.7 → 6 + 0.7·90 = 69.
Closure hours [24, 26, 48]: median 26, p90 at rank 1.8 → 26 + 0.8·22 = 43.6.
Accountant A: R1, R2, R6, R9 → 2 on time of 3, answers [4, 6, 96]: median 6, p90 6 + 0.8·90 = 78.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from buhdesk.cli.reports import register
from buhdesk.config import load_config
from buhdesk.store.models import Message, Request
from buhdesk.rules.book import RuleBook, load_rulebook
from buhdesk.reports.sla import render_csv, render_html, render_xlsx, sla_report
from buhdesk.reports.sla_figures import (
    DIMENSIONS,
    GroupFigures,
    RequestTimes,
    SlaReport,
    percentile,
    report_figures,
)
from buhdesk.store.engine import open_store

MSK = ZoneInfo("Europe/Moscow")
ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=MSK)


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=MSK)


@pytest.fixture(scope="module")
def rules() -> RuleBook:
    return load_rulebook(ROOT / "rules")


@pytest.fixture
def people(rules: RuleBook) -> tuple[str, str]:
    found = [m.login for m in rules.staff.values() if m.role == "accountant"]
    return found[0], found[1]


@pytest.fixture
def store(store_url: str, people: tuple[str, str]):  # type: ignore[no-untyped-def]
    a, b = people
    engine = open_store(store_url)
    rows = [
        ("R1", "payroll", "information", "email", a, "closed", msk(2, 10), msk(3, 17), msk(2, 14),
         msk(3, 10)),
        ("R2", "payroll", "consultation", "email", a, "answered", msk(2, 12), msk(5, 18), None,
         None),
        ("R3", "travel", "information", "delopro", b, "closed", msk(3, 9), msk(6, 16, 45),
         msk(3, 11), msk(5, 9)),
        ("R4", "travel", "submission", "phone", b, "assigned", msk(5, 10), msk(12, 18), None, None),
        ("R5", "payroll", "information", "email", None, "new", msk(6, 10), msk(9, 18), None, None),
        ("R6", "payroll", "information", "email", a, "answered", msk(5, 10), None, msk(5, 16),
         None),
        ("R7", "payroll", "information", "email", a, "assigned", msk(9, 10), msk(12, 18), None,
         None),
        ("R8", "travel", "information", "delopro", b, "waiting", msk(4, 10), msk(6, 16, 45), None,
         None),
        ("R9", "facts", "other", "office", a, "closed", msk(4, 10), msk(5, 18), None, msk(5, 12)),
    ]
    with Session(engine) as s:
        ids = {}
        for number, process, need, channel, who, state, created, due, answered, closed in rows:
            r = Request(number=number, process=process, need=need, channel=channel, assignee=who,
                        state=state, created_at=created, due_at=due, answered_at=answered,
                        closed_at=closed)
            s.add(r)
            s.flush()
            ids[number] = r.id
        for number, at in (("R2", msk(6, 12)), ("R3", msk(3, 10)), ("R3", msk(4, 10))):
            s.add(Message(direction="out", kind="answer", status="sent", request_id=ids[number],
                          created_at=at))
        s.add(Message(direction="out", kind="notice", status="sent", request_id=ids["R4"],
                      created_at=msk(5, 10, 1)))  # a notice is not an answer
        s.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def report(store, rules: RuleBook) -> SlaReport:  # type: ignore[no-untyped-def]
    return sla_report(store, rules, date(2026, 11, 2), date(2026, 11, 8), now=NOW)


def row(report: SlaReport, dimension: str, label: str):  # type: ignore[no-untyped-def]
    dim = next(d for d in report.dimensions if d.name == dimension)
    return next(g for g in dim.rows if g.label == label)


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1, 4, 6, 96], 0.5) == 5
    assert percentile([1, 4, 6, 96], 0.9) == pytest.approx(69.0)


def test_figures_of_many_requests_match_each_group_counted_alone() -> None:
    """The report scores a quarter of a large store in buckets of groupings; every group's
    figures must be those of its own requests counted and sorted alone (seeded, 3,000 rows,
    missing processes, assignees and moments included)."""
    rnd = random.Random(21)
    now = 1_790_000_000.0

    def moment(base: float) -> float | None:
        return None if rnd.random() < 0.3 else base + rnd.uniform(-3600, 400_000)

    rows = []
    for n in range(3000):
        created = now - rnd.uniform(0, 8_000_000)
        rows.append(RequestTimes(
            f"БУХ-2026-{n:06d}", rnd.choice(["payroll", "travel", None]),
            rnd.choice(["information", "consultation"]), rnd.choice(["email", "phone"]),
            rnd.choice(["assigned", "waiting", "closed"]), rnd.choice(["a", "b", "", None]),
            created, moment(created), moment(created), moment(created)))
    total, dimensions = report_figures(rows, now, {name: lambda k: k or "—" for name, _ in
                                                   DIMENSIONS})

    def alone(group: list[RequestTimes]) -> tuple[object, ...]:
        outcomes = [r.outcome(now) for r in group]
        answers = sorted((r.first_answer_at - r.created_at) / 3600 for r in group
                         if r.first_answer_at is not None)
        closes = sorted((r.closed_at - r.created_at) / 3600 for r in group
                        if r.closed_at is not None)
        return (len(group), *(outcomes.count(o) for o in ("on_time", "late", "pending",
                                                           "no_deadline")),
                len(answers), percentile(answers, 0.5), percentile(answers, 0.9),
                len(closes), percentile(closes, 0.5), percentile(closes, 0.9))

    def got(g: GroupFigures) -> tuple[object, ...]:
        return (g.total, g.on_time, g.late, g.pending, g.no_deadline, g.answered,
                g.answer_median_h, g.answer_p90_h, g.closed, g.close_median_h, g.close_p90_h)

    assert got(total) == alone(rows)
    for dimension in dimensions:
        keys = {getattr(r, dimension.name) or "" for r in rows}
        assert sorted(g.key for g in dimension.rows) == sorted(keys)
        for g in dimension.rows:
            assert got(g) == alone([r for r in rows if (getattr(r, dimension.name) or "") == g.key])
        assert [g.total for g in dimension.rows] == sorted((g.total for g in dimension.rows),
                                                           reverse=True)


def test_totals(report: SlaReport) -> None:
    t = report.total
    assert (t.total, t.on_time, t.late, t.pending, t.no_deadline) == (8, 3, 2, 2, 1)
    assert t.share == pytest.approx(0.6)
    assert (t.answered, t.answer_median_h, t.answer_p90_h) == (4, pytest.approx(5.0),
                                                              pytest.approx(69.0))
    assert (t.closed, t.close_median_h, t.close_p90_h) == (3, pytest.approx(26.0),
                                                          pytest.approx(43.6))


def test_per_accountant_process_channel_need(report: SlaReport, rules: RuleBook,
                                             people: tuple[str, str]) -> None:
    a, b = people
    ra = row(report, "assignee", rules.staff[a].name)
    assert (ra.total, ra.on_time, ra.late, ra.no_deadline) == (4, 2, 1, 1)
    assert ra.share == pytest.approx(2 / 3)
    assert ra.answer_median_h == pytest.approx(6.0) and ra.answer_p90_h == pytest.approx(78.0)
    rb = row(report, "assignee", rules.staff[b].name)
    assert (rb.total, rb.on_time, rb.late, rb.pending, rb.share) == (3, 1, 0, 2, 1.0)
    nobody = row(report, "assignee", "не назначен")
    assert (nobody.total, nobody.late, nobody.share) == (1, 1, 0.0)
    payroll = row(report, "process", rules.process_label("payroll"))
    assert (payroll.total, payroll.on_time, payroll.late) == (4, 1, 2)
    travel = row(report, "process", rules.process_label("travel"))
    assert (travel.total, travel.on_time, travel.pending) == (3, 1, 2)
    assert row(report, "channel", "телефон").share is None  # only a pending request
    assert row(report, "channel", "СЭД «ДелоПро»").on_time == 1
    info = row(report, "need", rules.need_label("information"))
    assert (info.total, info.on_time, info.late, info.pending) == (5, 2, 1, 1)


def test_basis_due_counts_deadlines_in_the_period(store, rules: RuleBook) -> None:  # type: ignore[no-untyped-def]
    r = sla_report(store, rules, date(2026, 11, 9), date(2026, 11, 15), now=NOW, basis="due")
    assert r.total.total == 3  # R4, R5, R7 fall due 9–12 November
    with pytest.raises(ValueError):
        sla_report(store, rules, date(2026, 11, 9), date(2026, 11, 1))


def test_html_has_russian_headings_and_charts(report: SlaReport, rules: RuleBook) -> None:
    html = render_html(report)
    assert html.startswith("<!DOCTYPE html>") and 'lang="ru"' in html
    assert "Соблюдение сроков ответа на обращения с 02.11.2026 по 08.11.2026" in html
    assert html.count("<svg") == 4 and "<script" not in html
    for heading in ("Процесс", "Потребность", "Канал поступления", "Сотрудник",
                    "Первый ответ: медиана, ч", "Закрытие: 90-й процентиль, ч"):
        assert f"<th scope=\"col\">{heading}</th>" in html
    assert rules.process_label("travel") in html and "60,0" in html and "69,0" in html
    assert "СЭД «ДелоПро»" in html


def test_csv_rows(report: SlaReport) -> None:
    table = list(csv.reader(io.StringIO(render_csv(report))))
    header = table[0]
    assert header[:3] == ["Разрез", "Группа", "Обращений"]
    total = dict(zip(header, table[1], strict=True))
    assert total["Группа"] == "Всего" and total["Доля в срок, %"] == "60.0"
    assert total["Первый ответ: 90-й процентиль, ч"] == "69.0"
    phone = next(r for r in table if r[1] == "телефон")
    assert phone[0] == "Канал поступления" and phone[header.index("Доля в срок, %")] == ""


def test_xlsx_workbook(report: SlaReport, tmp_path: Path) -> None:
    path = tmp_path / "sla.xlsx"
    render_xlsx(report, path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Итого", "Процесс", "Потребность", "Канал поступления", "Сотрудник"]
    summary = [list(r) for r in wb["Итого"].iter_rows(values_only=True)]
    header = next(r for r in summary if r[0] == "Итого" and r[1] == "Обращений")
    values = dict(zip(header, summary[summary.index(header) + 1], strict=True))
    assert values["Обращений"] == 8 and values["Доля в срок, %"] == 60.0
    assert values["Закрытие: медиана, ч"] == 26.0


def test_cli_report_sla(store, store_url: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "buhdesk.toml"
    cfg.write_text(f'[store]\nurl = "{store_url}"\n[paths]\nrules = "{ROOT / "rules"}"\n'
                   f'templates = "{ROOT / "templates"}"\n[outbox]\nkind = "files"\npath = "out"\n',
                   encoding="utf-8")
    parser = argparse.ArgumentParser(prog="buhdesk")
    commands = register(parser.add_subparsers(dest="command", required=True),
                        lambda args: load_config(cfg))
    args = parser.parse_args(["report", "sla", "--from", "02.11.2026", "--to", "2026-11-08",
                              "--format", "csv"])
    assert args.func(args) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("Итого,Всего,8,")
    out = tmp_path / "r.xlsx"
    args = parser.parse_args(["report", "sla", "--from", "2026-11-02", "--to", "2026-11-08",
                              "--format", "xlsx", "-o", str(out)])
    assert args.func(args) == 0 and out.stat().st_size > 0
    args = parser.parse_args(["report", "sla", "--from", "2026-11-08", "--to", "2026-11-02"])
    assert args.func(args) == 2 and "раньше начала" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "sla", "--from", "вчера", "--to", "2026-11-08"])
    seen = []
    commands.add_report_kind("painmap", lambda a, c: seen.append(c.file) or 0, "карта болей")
    args = parser.parse_args(["report", "painmap"])
    assert args.func(args) == 0 and seen == [cfg.resolve()]
