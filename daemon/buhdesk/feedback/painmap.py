"""The «карта болей» per process (order 76, §4.7–4.8): problems found from low survey scores,
frequent themes of negative comments, complaints and overdue requests — next to the measures,
owners, deadlines and status administrators keep in ``rules/painmap.toml``.

Survey figures of a process with fewer answers than the anonymity threshold are not shown, and
neither are its comment themes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.feedback.models import SurveyAnswer
from buhdesk.feedback.satisfaction import answers_between
from buhdesk.feedback.survey import Survey
from buhdesk.reports.frame import chart, render_report, table
from buhdesk.reports.svgchart import bar_chart
from buhdesk.reports.tables import Chart, Sheet
from buhdesk.rules.lemmas import Lemmatizer
from buhdesk.rules.problems import Problems, TomlDoc, check_keys, read_toml
from buhdesk.store.models import Request
from buhdesk.store.moments import as_utc

STATUSES = ("запланировано", "в работе", "выполнено", "отменено")
MEASURE_KEYS = ("process", "problem", "measure", "owner", "deadline", "status", "source")
LOW_SCORE = 2  # a score at or below this is a complaint
NEGATIVE = 3  # comments of answers with any score at or below this are read for themes
_STOP_TEXT = """
а без более бы был быть в вам вас весь во вот все всё вы где да даже для до его ее её если есть
еще ещё же за и из или им их к как когда кто ли либо мой мы на над не него нет ни но ну о об
однако он она они оно от очень по под после при про раз с свой себя так также такой там то тот
тоже только у уже хотя чем что чтобы это этот я бы нам нас наш ваш который мочь весь один
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


class PainMapError(ValueError):
    """``painmap.toml`` cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Measure:
    process: str
    problem: str
    measure: str
    owner: str
    deadline: date
    status: str
    source: str = ""


@dataclass
class ProcessPains:
    code: str
    label: str
    answers: int = 0
    shown: bool = False  # survey figures shown (enough answers)
    low_shares: dict[str, float] = field(default_factory=dict)  # question label -> % low
    themes: list[tuple[str, int]] = field(default_factory=list)
    requests: int = 0
    complaints: int = 0
    overdue_share: float | None = None
    measures: list[Measure] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = [f"Низкие оценки «{q}»: {share:.0f} % ответов".replace(".", ",")
                 for q, share in self.low_shares.items() if share >= 20.0]
        if self.themes:
            found.append("Частые темы замечаний: " + ", ".join(f"{w} ({n})"
                                                               for w, n in self.themes))
        if self.complaints:
            found.append(f"Жалобы и обратная связь: {self.complaints} обращ.")
        if self.overdue_share and self.overdue_share >= 10.0:
            found.append(f"Ответы с нарушением срока: {self.overdue_share:.0f} %".replace(".", ","))
        return found


def load_measures(rules_dir: Path, process_codes: set[str]) -> list[Measure]:
    problems = Problems()
    doc = read_toml(Path(rules_dir) / "painmap.toml", problems)
    out = _parse(doc, problems, process_codes) if doc else []
    problems.raise_if_any()
    return out


def _parse(doc: TomlDoc, problems: Problems, codes: set[str]) -> list[Measure]:
    check_keys(doc, ("", None), doc.data, ("measure",), problems, "файле")
    out = []
    for i, row in enumerate(doc.data.get("measure", [])):
        owner, where = ("measure", i), f"мере № {i + 1}"
        count = len(problems.items)
        check_keys(doc, owner, row, MEASURE_KEYS, problems, where)
        for key in MEASURE_KEYS[:4]:
            if not isinstance(row.get(key), str) or not row[key].strip():
                problems.add(doc.name, doc.key_line(owner, key) if key in row
                             else doc.table_line(owner), f"{where}: не заполнен ключ «{key}»")
        if isinstance(row.get("process"), str) and row["process"] not in codes:
            problems.add(doc.name, doc.key_line(owner, "process"),
                         f"{where}: неизвестный процесс «{row['process']}» (есть: "
                         f"{', '.join(sorted(codes))})")
        if not isinstance(row.get("deadline"), date) or isinstance(row.get("deadline"), datetime):
            problems.add(doc.name, doc.key_line(owner, "deadline"),
                         f"{where}: срок «deadline» — дата вида 2026-12-31 (без кавычек)")
        if row.get("status") not in STATUSES:
            problems.add(doc.name, doc.key_line(owner, "status"),
                         f"{where}: состояние «{row.get('status')}» не из списка: "
                         f"{', '.join(STATUSES)}")
        if len(problems.items) == count:
            out.append(Measure(**{k: row.get(k, "") for k in MEASURE_KEYS}))
    return out


def _themes(lemmatizer: Lemmatizer, comments: list[str], top: int = 6) -> list[tuple[str, int]]:
    """Lemmas named in at least two negative comments, by how many comments name them."""
    counts: Counter[str] = Counter()
    for text in comments:
        counts.update({w for w in lemmatizer.lemmas(text)
                       if len(w) > 2 and w not in STOP_WORDS and not w.isdigit()})
    return [(w, n) for w, n in counts.most_common(top) if n >= 2]


def collect_painmap(engine: Engine, survey: Survey, labels: Mapping[str, str],
                    measures: list[Measure], start: date, end: date, *, now: datetime,
                    tz: ZoneInfo, threshold: int,
                    lemmatizer: Lemmatizer | None = None) -> list[ProcessPains]:
    lemmatizer = lemmatizer or Lemmatizer()
    pains = {code: ProcessPains(code, label) for code, label in labels.items()}
    answers = answers_between(engine, start, end)
    with Session(engine) as session:
        lo = datetime.combine(start, time(), tzinfo=tz)
        hi = datetime.combine(end, time(23, 59, 59), tzinfo=tz)
        requests = session.execute(select(Request).where(
            col(Request.created_at) >= lo, col(Request.created_at) <= hi,
            col(Request.state) != "merged")).scalars().all()
    by_process: dict[str, list[SurveyAnswer]] = {}
    for a in answers:
        by_process.setdefault(a.process, []).append(a)
    for code, rows in by_process.items():
        p = pains.setdefault(code, ProcessPains(code, code or "не определён"))
        _survey_figures(p, survey, rows, threshold, lemmatizer)
    for r in requests:
        p = pains.setdefault(r.process or "", ProcessPains(r.process or "", "не определён"))
        p.requests += 1
        p.complaints += r.need == "feedback"
    for p in pains.values():
        p.overdue_share = _overdue_share([r for r in requests if (r.process or "") == p.code],
                                         now)
        p.measures = sorted((m for m in measures if m.process == p.code),
                            key=lambda m: m.deadline)
    return [p for p in pains.values() if p.answers or p.requests or p.measures]


def _survey_figures(p: ProcessPains, survey: Survey, rows: list[SurveyAnswer], threshold: int,
                    lemmatizer: Lemmatizer) -> None:
    p.answers = len(rows)
    p.shown = len(rows) >= threshold
    if not p.shown:
        return
    parsed = [json.loads(r.answers) for r in rows]
    for q in survey.questions:
        got = [a[q.id] for a in parsed if q.id in a]
        if q.kind == "scale" and got:
            p.low_shares[q.label] = 100.0 * sum(v <= LOW_SCORE for v in got) / len(got)
        elif q.kind == "yesno" and got:
            p.low_shares[q.label] = 100.0 * sum(v is False for v in got) / len(got)
    negative = [r.comment for r, a in zip(rows, parsed, strict=True) if r.comment and any(
        isinstance(v, int) and not isinstance(v, bool) and v <= NEGATIVE for v in a.values())]
    p.themes = _themes(lemmatizer, negative)


def _overdue_share(requests: list[Request], now: datetime) -> float | None:
    due = [(r, r.due_at) for r in requests if r.due_at is not None]
    if not due:
        return None
    late = sum(as_utc(r.answered_at or r.closed_at or now) > as_utc(due_at) for r, due_at in due)
    return round(100.0 * late / len(due), 1)


def render_html(pains: list[ProcessPains], start: date, end: date, threshold: int,
                templates_dir: Path | None = None) -> str:
    """The map as a page (``templates/reports/painmap.html.j2``)."""
    charts = [chart(bar_chart([(p.label, p.overdue_share) for p in pains],
                              title="Доля обращений с нарушением срока, %", scale="lower-better")),
              chart(bar_chart([(p.label, _low_overall(p)) for p in pains],
                              title="Доля низких общих оценок, %", scale="lower-better"))]
    processes = [{
        "label": p.label, "requests": p.requests,
        "answers": str(p.answers) if p.shown else f"меньше {threshold}",
        "problems": p.problems(),
        "measures": table(("Проблема", "Мероприятие", "Ответственный", "Срок", "Состояние"),
                          [(m.problem, m.measure, m.owner, f"{m.deadline:%d.%m.%Y}", m.status)
                           for m in p.measures]) if p.measures else None,
    } for p in pains]
    return render_report(
        "painmap", templates_dir,
        title=f"«Карта болей» внутренних клиентов: {start:%d.%m.%Y} — {end:%d.%m.%Y}",
        low_score=LOW_SCORE, threshold=threshold, charts=charts, processes=processes)


def _low_overall(p: ProcessPains) -> float | None:
    return next(iter(p.low_shares.values()), None) if p.shown else None


def xlsx_sheets(pains: list[ProcessPains]) -> list[Sheet]:
    """The map with its measures, and one row per process with the overdue chart."""
    summary: list[Sequence[object]] = [["Процесс", "Обращений", "Жалоб", "Просрочено, %"],
                                       *([p.label, p.requests, p.complaints, p.overdue_share]
                                         for p in pains)]
    return [Sheet("Карта болей", flat_rows(pains)),
            Sheet("По процессам", summary,
                  Chart("Доля обращений с нарушением срока, %", 1, (4,), "%"))]


def flat_rows(pains: list[ProcessPains]) -> list[list[object]]:
    head: list[object] = ["Процесс", "Обращений", "Жалоб", "Просрочено, %", "Выявленные проблемы",
                          "Мероприятие", "Ответственный", "Срок", "Состояние"]
    out = [head]
    for p in pains:
        base = [p.label, p.requests, p.complaints, p.overdue_share, "; ".join(p.problems())]
        measured: list[tuple[object, ...]] = [(m.measure, m.owner, m.deadline, m.status)
                                              for m in p.measures] or [("", "", "", "")]
        out.extend([*base, *cells] for cells in measured)
    return out
