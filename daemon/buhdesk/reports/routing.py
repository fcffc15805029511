"""`buhdesk report routing`: misroutes (corrections and transfers) and the terms that misled.

Each correction of process or need, and each transfer to another accountant, is listed with the
original decision. The matched terms of the rules behind the wrong process (or need) are counted
over distinct requests, so administrators see which terms to tune first.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.cli.reports import (
    ReportArgumentError,
    ReportCommands,
    parse_day,
    write_report_xlsx,
    write_text,
)
from buhdesk.config import Config
from buhdesk.reports.frame import chart, render_report, table
from buhdesk.reports.svgchart import bar_chart
from buhdesk.reports.tables import Chart, Sheet
from buhdesk.route.corrections import annotate_hits, original_hits
from buhdesk.rules.book import RuleBook
from buhdesk.store.models import Event, Request
from buhdesk.store.moments import as_utc, day_bounds

KIND_TEXT = {"correction": "исправление", "transfer": "передача"}
CLASS_TEXT = {"process": "процесс", "need": "потребность"}


@dataclass(frozen=True)
class Misroute:
    """One correction or transfer, with the decision it undid."""

    number: str
    at: datetime
    kind: str  # "correction" | "transfer"
    actor: str
    old_process: str | None
    new_process: str | None
    old_need: str | None
    new_need: str | None
    from_login: str | None = None
    to_login: str | None = None
    note: str = ""
    misleading: tuple[tuple[str, str, str, str], ...] = ()  # (class, wrong code, rule, term)


@dataclass
class TermCount:
    """How often a term of a rule led to a wrong process or need (distinct requests)."""

    klass: str  # "process" | "need"
    code: str  # the wrong code the term pushed towards
    rule: str
    term: str
    corrections: set[str] = field(default_factory=set)
    transfers: set[str] = field(default_factory=set)
    right: dict[str, int] = field(default_factory=dict)  # correct code -> corrections

    @property
    def requests(self) -> int:
        return len(self.corrections | self.transfers)


@dataclass(frozen=True)
class RoutingReport:
    start: date | None
    end: date | None
    misroutes: tuple[Misroute, ...]
    terms: tuple[TermCount, ...]


def _misleading(hits: list[dict[str, Any]], klass: str, wrong: str | None
                ) -> list[tuple[str, str, str, str]]:
    if wrong is None:
        return []
    return [(klass, wrong, str(h.get("rule")), str(term)) for h in hits
            if h.get("kind") == klass and h.get("code") == wrong for term in h.get("terms", [])]


def _correction(ev: Event, number: str, detail: dict[str, Any], rules: RuleBook) -> Misroute:
    hits = annotate_hits(rules, [h for h in detail.get("hits", []) if isinstance(h, dict)])
    old_p, new_p = detail.get("old_process"), detail.get("new_process")
    old_n, new_n = detail.get("old_need"), detail.get("new_need")
    wrong = (_misleading(hits, "process", old_p) if old_p != new_p else []) + (
        _misleading(hits, "need", old_n) if old_n != new_n else [])
    return Misroute(number, as_utc(ev.at), "correction", str(detail.get("who") or ev.actor),
                    old_p, new_p, old_n, new_n, note=str(detail.get("note") or ""),
                    misleading=tuple(wrong))


def _transfer(session: Session, ev: Event, request: Request, detail: dict[str, Any],
              rules: RuleBook, original: dict[int, tuple[str | None, str | None]]) -> Misroute:
    hits = annotate_hits(rules, original_hits(session, request.id or 0))
    process, need = original.get(request.id or 0, (request.process, request.need))
    return Misroute(request.number, as_utc(ev.at), "transfer", ev.actor, process, process, need,
                    need, from_login=detail.get("from"), to_login=detail.get("to"),
                    misleading=tuple(_misleading(hits, "process", process)))


def _original_decisions(session: Session,
                        ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    """The process and need the route stage decided, per request id."""
    found: dict[int, tuple[str | None, str | None]] = {}
    # `|| ''` keeps the stage out of the index choice: given it, a SQLite store (it keeps no
    # planner statistics) reads every routing decision ever made instead of these requests' own
    rows = session.execute(select(Event).where(
        col(Event.request_id).in_(ids), col(Event.stage) + "" == "route",
        col(Event.action) == "decided").order_by(col(Event.id))).scalars()
    for ev in rows:
        for rule in json.loads(ev.detail or "{}").get("rules", []):
            if (isinstance(rule, dict) and rule.get("stage") == "classify"
                    and ev.request_id is not None):
                found.setdefault(ev.request_id, (rule.get("process"), rule.get("need")))
    return found


def routing_report(engine: Engine, rules: RuleBook, start: date | None, end: date | None,
                   tz: ZoneInfo) -> RoutingReport:
    """Misroutes recorded between ``start`` and ``end`` (days in ``tz``, inclusive; open ends)."""
    stmt = select(Event, Request).join(Request, col(Event.request_id) == col(Request.id)).where(
        col(Event.stage) == "route", col(Event.action).in_(("corrected", "transferred")))
    if start is not None:
        stmt = stmt.where(col(Event.at) >= day_bounds(start, start, tz)[0])
    if end is not None:
        stmt = stmt.where(col(Event.at) < day_bounds(end, end, tz)[1])
    with Session(engine) as session:
        rows = list(session.execute(stmt.order_by(col(Event.at), col(Event.id))).all())
        original = _original_decisions(session, {r.id for _, r in rows if r.id is not None})
        misroutes = []
        for ev, request in rows:
            detail = json.loads(ev.detail or "{}")
            misroutes.append(_correction(ev, request.number, detail, rules)
                             if ev.action == "corrected"
                             else _transfer(session, ev, request, detail, rules, original))
    return RoutingReport(start, end, tuple(misroutes), tuple(_count_terms(misroutes)))


def _count_terms(misroutes: list[Misroute]) -> list[TermCount]:
    counts: dict[tuple[str, str, str, str], TermCount] = {}
    for m in misroutes:
        for key in dict.fromkeys(m.misleading):
            tc = counts.setdefault(key, TermCount(*key))
            if m.kind == "correction":
                tc.corrections.add(m.number)
                right = m.new_process if key[0] == "process" else m.new_need
                tc.right[str(right)] = tc.right.get(str(right), 0) + 1
            else:
                tc.transfers.add(m.number)
    return sorted(counts.values(), key=lambda t: (-t.requests, -len(t.corrections), t.klass,
                                                  t.code, t.term))


# --- rendering -------------------------------------------------------------------------------

def _period(report: RoutingReport) -> str:
    start = f"с {report.start:%d.%m.%Y}" if report.start else "с начала учёта"
    end = f"по {report.end:%d.%m.%Y}" if report.end else "по сегодняшний день"
    return f"{start} {end}"


def _label(rules: RuleBook, klass: str, code: str | None) -> str:
    return rules.process_label(code) if klass == "process" else rules.need_label(code)


def _change(rules: RuleBook, m: Misroute) -> str:
    if m.kind == "transfer":
        return (f"передано от {m.from_login or '—'} к {m.to_login or '—'}; процесс по решению "
                f"правил: {rules.process_label(m.old_process)}")
    parts = []
    if m.old_process != m.new_process:
        parts.append(f"процесс: {rules.process_label(m.old_process)} → "
                     f"{rules.process_label(m.new_process)}")
    if m.old_need != m.new_need:
        parts.append(f"потребность: {rules.need_label(m.old_need)} → "
                     f"{rules.need_label(m.new_need)}")
    return "; ".join(parts)


def _terms_text(m: Misroute) -> str:
    return ", ".join(f"«{term}» ({rule})" for _, _, rule, term in m.misleading) or "—"


def _right_text(rules: RuleBook, t: TermCount) -> str:
    return ", ".join(f"{_label(rules, t.klass, code)} ({n})" for code, n in
                     sorted(t.right.items(), key=lambda kv: -kv[1])) or "—"


def render_text(report: RoutingReport, rules: RuleBook, tz: ZoneInfo) -> str:
    lines = [f"Ошибки маршрутизации {_period(report)}", ""]
    if not report.misroutes:
        return "\n".join([*lines, "Исправлений и передач за период нет."]) + "\n"
    lines.append("Термины, чаще всего приводившие к неверному решению:")
    for t in report.terms:
        lines.append(f"  «{t.term}» (правило {t.rule}) → {CLASS_TEXT[t.klass]} "
                     f"«{_label(rules, t.klass, t.code)}»: обращений {t.requests} "
                     f"(исправлений {len(t.corrections)}, передач {len(t.transfers)}); "
                     f"верно: {_right_text(rules, t)}")
    if not report.terms:
        lines.append("  нет (решения приняты без совпавших терминов)")
    lines += ["", f"Исправления и передачи ({len(report.misroutes)}):"]
    for m in report.misroutes:
        note = f"; примечание: {m.note}" if m.note else ""
        lines.append(f"  {m.at.astimezone(tz):%d.%m.%Y %H:%M} {m.number} — {KIND_TEXT[m.kind]} "
                     f"({m.actor}): {_change(rules, m)}{note}")
        lines.append(f"      термины: {_terms_text(m)}")
    return "\n".join(lines) + "\n"


TERM_COLUMNS = ("Термин", "Правило", "Вид", "Неверное решение", "Обращений", "Исправлений",
                "Передач", "Верное решение")
MISROUTE_COLUMNS = ("Дата", "Обращение", "Вид", "Кто", "Изменение", "Термины", "Примечание")


def _term_row(rules: RuleBook, t: TermCount) -> list[str | int]:
    return [t.term, t.rule, CLASS_TEXT[t.klass], _label(rules, t.klass, t.code), t.requests,
            len(t.corrections), len(t.transfers), _right_text(rules, t)]


def _misroute_row(rules: RuleBook, m: Misroute, tz: ZoneInfo) -> list[str]:
    return [f"{m.at.astimezone(tz):%d.%m.%Y %H:%M}", m.number, KIND_TEXT[m.kind], m.actor,
            _change(rules, m), _terms_text(m), m.note]


def render_csv(report: RoutingReport, rules: RuleBook, tz: ZoneInfo) -> str:
    """Two tables separated by an empty line: the terms, then the misroutes (``;``, for Excel)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\n")
    w.writerow(TERM_COLUMNS)
    w.writerows(_term_row(rules, t) for t in report.terms)
    w.writerow([])
    w.writerow(MISROUTE_COLUMNS)
    w.writerows(_misroute_row(rules, m, tz) for m in report.misroutes)
    return buf.getvalue()


def _terms_chart(report: RoutingReport) -> str:
    """Requests each term misled (the ten most frequent), in one neutral colour."""
    top = report.terms[:10]
    if not top:
        return ""
    return chart(bar_chart([(t.term, float(t.requests)) for t in top],
                           title="Обращений с неверным решением по термину",
                           max_value=float(max(t.requests for t in top)), unit="",
                           scale="neutral"))


def render_html(report: RoutingReport, rules: RuleBook, tz: ZoneInfo,
                templates_dir: Path | None = None) -> str:
    """The page of ``templates/reports/routing.html.j2``: the chart and the two tables."""
    terms = [_term_row(rules, t) for t in report.terms]
    misroutes = [_misroute_row(rules, m, tz) for m in report.misroutes]
    return render_report(
        "routing", templates_dir, title=f"Ошибки маршрутизации {_period(report)}",
        chart=_terms_chart(report), terms=table(TERM_COLUMNS, terms) if terms else None,
        misroutes=table(MISROUTE_COLUMNS, misroutes) if misroutes else None,
        misroute_count=len(misroutes))


def _misroute_xlsx_row(rules: RuleBook, m: Misroute, tz: ZoneInfo) -> list[str | datetime]:
    """The CSV row with the real moment (an Excel date) in place of its text."""
    return [m.at.astimezone(tz), *_misroute_row(rules, m, tz)[1:]]


def xlsx_sheets(report: RoutingReport, rules: RuleBook, tz: ZoneInfo) -> list[Sheet]:
    """The terms with a chart of the requests each misled, and the corrections with real times."""
    terms: list[list[str | int]] = [list(TERM_COLUMNS),
                                    *(_term_row(rules, t) for t in report.terms)]
    misroutes: list[list[str | datetime]] = [list(MISROUTE_COLUMNS),
                                             *(_misroute_xlsx_row(rules, m, tz)
                                               for m in report.misroutes)]
    return [Sheet("Термины", terms, Chart("Обращений с неверным решением", 1, (5,))),
            Sheet("Исправления", misroutes)]


def cmd_routing(args: argparse.Namespace, config: Config) -> int:
    from buhdesk.rules.book import load_rulebook
    from buhdesk.store.engine import open_store

    if args.start and args.end and args.end < args.start:
        raise ReportArgumentError(f"конец периода ({args.end:%d.%m.%Y}) раньше начала "
                                  f"({args.start:%d.%m.%Y})")
    rules, tz = load_rulebook(config.rules_dir), config.service.tz
    engine = open_store(config.store.url)
    try:
        report = routing_report(engine, rules, args.start, args.end, tz)
    finally:
        engine.dispose()
    if args.format == "xlsx":
        write_report_xlsx(xlsx_sheets(report, rules, tz), args.output or Path(
            f"routing_{args.start or 'начало'}_{args.end or 'конец'}.xlsx"))
        return 0
    if args.format == "html":
        write_text(render_html(report, rules, tz, config.templates_dir), args.output)
        return 0
    render = {"text": render_text, "csv": render_csv}[args.format]
    write_text(render(report, rules, tz), args.output)
    return 0


def register_routing_report(commands: ReportCommands) -> argparse.ArgumentParser:
    """Add ``buhdesk report routing`` to the report kinds."""
    parser = commands.add_report_kind(
        "routing", cmd_routing,
        "ошибки маршрутизации: исправления и передачи и термины, которые к ним привели")
    parser.add_argument("--from", dest="start", type=parse_day, help="первый день (ГГГГ-ММ-ДД)")
    parser.add_argument("--to", dest="end", type=parse_day,
                        help="последний день включительно (ГГГГ-ММ-ДД)")
    parser.add_argument("--format", choices=("text", "csv", "html", "xlsx"), default="text",
                        help="формат отчёта")
    parser.add_argument("-o", "--output", type=Path,
                        help="файл отчёта (по умолчанию — стандартный вывод)")
    return parser

