"""`buhdesk report kb`: which knowledge-base articles work, and which questions still lack one.

Per article: how often it was offered in an acknowledgment and inserted into an answer (from the
audit trail), and how many of the requests that received it were closed without the client
writing again. Per process and need: how many requests came in and whether any article covers
them — frequent questions without an article are the next ones to write.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.cli.reports import (
    ReportArgumentError,
    ReportCommands,
    add_period,
    write_report_xlsx,
    write_text,
)
from buhdesk.config import Config
from buhdesk.kb.library import KnowledgeBase
from buhdesk.kb.mail import INSERTED, KB_STAGE, OFFERED
from buhdesk.reports.frame import chart, render_report, table
from buhdesk.reports.svgchart import bar_chart
from buhdesk.rules.book import RuleBook
from buhdesk.store.models import Event, Request

KB_ACTIONS = (OFFERED, INSERTED)
MIN_GAP_REQUESTS = 3


@dataclass
class ArticleFigures:
    slug: str
    title: str
    offered: int = 0
    inserted: int = 0
    requests: int = 0
    closed: int = 0
    closed_without_followup: int = 0

    @property
    def success(self) -> float | None:
        """Share (%) of the requests that received the article closed without a follow-up."""
        return 100.0 * self.closed_without_followup / self.requests if self.requests else None


@dataclass
class Question:
    process: str | None
    need: str | None
    process_label: str
    need_label: str
    requests: int
    with_article: int  # requests of this kind that received some article
    covering: tuple[str, ...]  # slugs of articles written for this process and need

    @property
    def gap(self) -> bool:
        return not self.covering


@dataclass
class KbReport:
    start: date
    end: date
    articles: list[ArticleFigures] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    min_gap_requests: int = MIN_GAP_REQUESTS

    @property
    def gaps(self) -> list[Question]:
        return [q for q in self.questions if q.gap and q.requests >= self.min_gap_requests]


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(), tzinfo=UTC),
            datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def kb_report(engine: Engine, kb: KnowledgeBase, rules: RuleBook, start: date, end: date, *,
              min_gap_requests: int = MIN_GAP_REQUESTS) -> KbReport:
    """Figures for articles offered or inserted, and requests created, within the period."""
    lo, hi = _bounds(start, end)
    with Session(engine) as session:
        events = session.execute(select(Event).where(
            col(Event.stage) == KB_STAGE, col(Event.action).in_(KB_ACTIONS), col(Event.at) >= lo,
            col(Event.at) < hi)).scalars().all()
        request_ids = {e.request_id for e in events if e.request_id is not None}
        requests = {r.id: r for r in session.execute(select(Request).where(
            col(Request.id).in_(request_ids))).scalars()} if request_ids else {}
        followups = _followups(session, request_ids)
        created = session.execute(select(Request).where(
            col(Request.created_at) >= lo, col(Request.created_at) < hi)).scalars().all()
        report = KbReport(start, end, min_gap_requests=min_gap_requests)
        report.articles = _article_figures(kb, list(events), requests, followups)
        got_article = {e.request_id for e in events}
        report.questions = _questions(kb, rules, list(created), got_article)
    return report


def _followups(session: Session, request_ids: set[int]) -> dict[int, list[datetime]]:
    found: dict[int, list[datetime]] = defaultdict(list)
    if request_ids:
        for e in session.execute(select(Event).where(
                col(Event.action) == "followup", col(Event.request_id).in_(request_ids))).scalars():
            if e.request_id is not None:
                found[e.request_id].append(_aware(e.at))
    return found


def _slugs(event: Event) -> list[str]:
    try:
        detail = json.loads(event.detail or "{}")
    except ValueError:
        return []
    articles = detail.get("articles") if isinstance(detail, dict) else None
    return [str(s) for s in articles] if isinstance(articles, list) else []


def _article_figures(kb: KnowledgeBase, events: list[Event], requests: dict[int | None, Request],
                     followups: dict[int, list[datetime]]) -> list[ArticleFigures]:
    figures = {a.slug: ArticleFigures(a.slug, a.title) for a in kb.articles}
    first_seen: dict[tuple[str, int], datetime] = {}
    for e in events:
        for slug in _slugs(e):
            fig = figures.setdefault(slug, ArticleFigures(slug, "(статья удалена)"))
            if e.action == OFFERED:
                fig.offered += 1
            else:
                fig.inserted += 1
            if e.request_id is not None:
                key = (slug, e.request_id)
                first_seen[key] = min(first_seen.get(key, _aware(e.at)), _aware(e.at))
    for (slug, request_id), at in first_seen.items():
        fig, request = figures[slug], requests.get(request_id)
        fig.requests += 1
        if request is not None and request.state == "closed":
            fig.closed += 1
            if not any(f > at for f in followups.get(request_id, ())):
                fig.closed_without_followup += 1
    return sorted(figures.values(), key=lambda f: (-(f.offered + f.inserted), f.title))


def _questions(kb: KnowledgeBase, rules: RuleBook, created: list[Request],
               got_article: set[int | None]) -> list[Question]:
    counts: Counter[tuple[str | None, str | None]] = Counter()
    helped: Counter[tuple[str | None, str | None]] = Counter()
    for r in created:
        counts[(r.process, r.need)] += 1
        helped[(r.process, r.need)] += r.id in got_article
    questions = []
    for (process, need), n in counts.items():
        covering = tuple(a.slug for a in kb.articles if process in a.processes
                         and (not a.needs or need in a.needs))
        questions.append(Question(process, need, rules.process_label(process),
                                  rules.need_label(need), n, helped[(process, need)], covering))
    return sorted(questions, key=lambda q: (-q.requests, q.process_label, q.need_label))


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


CSV_HEADER = ["Раздел", "Статья", "Название или процесс", "Потребность", "Предложена",
              "Вставлена в ответ", "Обращений", "Закрыто", "Закрыто без повторного обращения",
              "Доля закрытых без повторного обращения, %", "Статей по теме"]


def render_csv(report: KbReport) -> str:
    """One table: article rows, then a row per process and need (dot decimals)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for a in report.articles:
        writer.writerow(["статьи", a.slug, a.title, "", a.offered, a.inserted, a.requests,
                         a.closed, a.closed_without_followup, _pct(a.success), ""])
    for q in report.questions:
        writer.writerow(["вопросы", "", q.process_label, q.need_label, "", "", q.requests, "",
                         "", "", len(q.covering)])
    return out.getvalue()


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def render_html(report: KbReport, templates_dir: Path | None = None) -> str:
    """A self-contained page (``templates/reports/kb.html.j2``): a chart of the articles'
    success, then the tables."""
    period = f"{report.start:%d.%m.%Y} — {report.end:%d.%m.%Y}"
    used = [a for a in report.articles if a.requests]
    success = chart(bar_chart([(a.title, a.success) for a in used],
                              title="Закрыто без повторного обращения, % обращений со статьёй",
                              scale="neutral")) if used else None
    articles = table(["Статья", "Предложена", "Вставлена в ответ", "Обращений", "Закрыто",
                      "Закрыто без повторного обращения", "Доля, %"],
                     [[a.title, a.offered, a.inserted, a.requests, a.closed,
                       a.closed_without_followup, "—" if a.success is None else a.success]
                      for a in report.articles], caption="Статьи базы знаний", show=_shown)
    gaps = table(["Процесс", "Потребность", "Обращений"],
                 [[q.process_label, q.need_label, q.requests] for q in report.gaps],
                 caption=f"Частые вопросы без статьи (от {report.min_gap_requests} обращений)",
                 show=_shown) if report.gaps else None
    questions = table(["Процесс", "Потребность", "Обращений", "Получили статью", "Статей по теме"],
                      [[q.process_label, q.need_label, q.requests, q.with_article,
                        len(q.covering)] for q in report.questions],
                      caption="Обращения по процессам и потребностям", show=_shown)
    return render_report("kb", templates_dir, title="База знаний: какие статьи помогают",
                         period=period, chart=success, articles=articles, gaps=gaps,
                         min_gap_requests=report.min_gap_requests, questions=questions)


def xlsx_sheets(report: KbReport) -> list[Any]:
    """Articles with the success chart, and the questions by process and need."""
    from buhdesk.reports.tables import Chart, Sheet

    articles: list[list[object]] = [
        ["Статья", "Название", "Предложена", "Вставлена в ответ", "Обращений", "Закрыто",
         "Закрыто без повторного обращения", "Доля закрытых без повторного обращения, %"]]
    articles += ([a.slug, a.title, a.offered, a.inserted, a.requests, a.closed,
                  a.closed_without_followup, a.success] for a in report.articles)
    questions: list[list[object]] = [
        ["Процесс", "Потребность", "Обращений", "Получили статью", "Статей по теме"]]
    questions += ([q.process_label, q.need_label, q.requests, q.with_article, len(q.covering)]
                  for q in report.questions)
    return [Sheet("Статьи", articles, Chart("Закрыто без повторного обращения, %", 2, (8,), "%")),
            Sheet("Вопросы", questions)]


def cmd_kb(args: argparse.Namespace, config: Config) -> int:
    from buhdesk.rules.book import load_rulebook
    from buhdesk.store.engine import open_store

    if args.end < args.start:
        raise ReportArgumentError(f"конец периода ({args.end:%d.%m.%Y}) раньше начала "
                                  f"({args.start:%d.%m.%Y})")
    rules = load_rulebook(config.rules_dir)
    kb = KnowledgeBase.load(config.rules_dir, staff=rules.staff)
    engine = open_store(config.store.url)
    try:
        report = kb_report(engine, kb, rules, args.start, args.end,
                           min_gap_requests=args.min_requests)
    finally:
        engine.dispose()
    if args.format == "xlsx":
        write_report_xlsx(xlsx_sheets(report), args.output
                          or Path(f"kb_{args.start}_{args.end}.xlsx"))
        return 0
    write_text(render_html(report, config.templates_dir) if args.format == "html"
               else render_csv(report), args.output)
    return 0


def register_kb_report(commands: ReportCommands) -> argparse.ArgumentParser:
    """Add ``buhdesk report kb`` to the report commands."""
    parser = commands.add_report_kind(
        "kb", cmd_kb, "база знаний: как часто статьи предлагаются и вставляются в ответы, "
                      "помогают ли они, каких статей не хватает")
    add_period(parser)
    parser.add_argument("--min-requests", type=int, default=MIN_GAP_REQUESTS,
                        help="с какого числа обращений вопрос без статьи попадает в список")
    return parser
