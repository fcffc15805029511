"""The knowledge base: articles administrators keep in ``rules/kb/`` (Markdown with a small
header, see :mod:`buhdesk.kb.article`) and the blank forms in ``rules/kb/forms/``.

Loaded and validated as a whole (every problem in Russian with the file and line), then searched
by word forms and asked for the articles that fit a new request.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from buhdesk.kb.article import Article, parse_article
from buhdesk.kb.markdown import SLUG_RE, links
from buhdesk.kb.search import SearchIndex
from buhdesk.rules.lemmas import Lemmatizer
from buhdesk.rules.locatedtoml import RuleFileError, read_admin_text
from buhdesk.rules.problems import Problem, Problems, read_toml

log = logging.getLogger(__name__)

KB_DIR = "kb"
FORMS_DIR = "forms"
PROCESS_BONUS = 2.0
NEED_BONUS = 1.0
MIN_TEXT_SCORE = 1.5  # an article of the same process still has to share some words
STRONG_TEXT_SCORE = 8.0  # words alone are enough when they fit this well
# An article after the first is offered only when its score is at least this share of the first
# one's: the 2nd and 3rd matches are often articles that share one common word (a per-diem
# question and «Оплата больничного»). Chosen on the development half of
# tests/corpus/kb/questions.tsv (bench/kb_relevance.py); configurable as [kb] min_share.
MIN_SHARE = 0.5
CHECK_INTERVAL = 1.0  # seconds between looks at the folder for edits


class KbError(Exception):
    """The knowledge base cannot be used; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class KnowledgeBase:
    directory: Path
    articles: tuple[Article, ...]
    index: SearchIndex = field(repr=False, compare=False)
    warnings: tuple[str, ...] = ()

    @classmethod
    def load(cls, rules_dir: Path, *, lemmatizer: Lemmatizer | None = None,
             staff: Collection[str] | None = None) -> KnowledgeBase:
        """Read ``rules_dir/kb``; raise KbError with all problems. No folder: an empty base.

        ``staff`` are the logins of the loaded rule set (articles name their owner by login);
        without it the logins are read from ``staff.toml`` by the one admin-file loader, and a
        file that cannot be read is one of the problems."""
        directory = Path(rules_dir) / KB_DIR
        problems: list[Problem] = []
        articles = _read_articles(directory, problems)
        known_staff = staff if staff is not None or not articles else _staff_logins(
            Path(rules_dir), problems)
        _validate(directory, articles, known_staff, problems)
        if problems:
            raise KbError(problems)
        index = SearchIndex(articles, lemmatizer or Lemmatizer())
        return cls(directory, tuple(articles), index, tuple(_unused_forms(directory, articles)))

    @property
    def forms_dir(self) -> Path:
        return self.directory / FORMS_DIR

    def get(self, slug: str) -> Article | None:
        return next((a for a in self.articles if a.slug == slug), None)

    def form_path(self, name: str) -> Path | None:
        """The file of a blank form some article lists; None for anything else."""
        if name not in {f for a in self.articles for f in a.forms}:
            return None
        path = self.forms_dir / name
        return path if path.is_file() else None

    def stale(self, today: date, max_age_days: int) -> list[Article]:
        """Articles not reviewed for longer than ``max_age_days``, oldest first."""
        limit = today - timedelta(days=max_age_days)
        return sorted((a for a in self.articles if a.reviewed < limit), key=lambda a: a.reviewed)

    def search(self, query: str) -> list[tuple[Article, float]]:
        """Articles for a query in any word form, best first."""
        return [(a, m.score) for a, m in self.index.match(query)]

    def suggest(self, process: str | None, need: str | None, text: str,
                limit: int = 3, *, min_share: float = MIN_SHARE) -> list[tuple[Article, list[str]]]:
        """Up to ``limit`` articles that fit a request's process, need and words, with reasons;
        each scoring at least ``min_share`` of the best one."""
        scored = []
        for article, match in self.index.match(text):
            same_process = bool(process and process in article.processes)
            if match.score < (MIN_TEXT_SCORE if same_process else STRONG_TEXT_SCORE):
                continue
            same_need = bool(need and need in article.needs)
            score = match.score + PROCESS_BONUS * same_process + NEED_BONUS * same_need
            reasons = []
            if same_process:
                reasons.append(f"тот же процесс ({process})")
            if same_need:
                reasons.append(f"та же потребность ({need})")
            if match.keywords:
                reasons.append("ключевые слова: " + ", ".join(f"«{k}»" for k in match.keywords))
            if match.words:
                reasons.append("слова обращения: " + ", ".join(match.words[:6]))
            scored.append((score, article, reasons))
        scored.sort(key=lambda s: (-s[0], s[1].title))
        floor = scored[0][0] * min_share if scored else 0.0
        return [(a, r) for score, a, r in scored[:limit] if score >= floor]


def _read_articles(directory: Path, problems: list[Problem]) -> list[Article]:
    articles = []
    for path in sorted(directory.glob("*.md")) if directory.is_dir() else ():
        if path.name.lower() == "readme.md":
            continue
        try:
            text = read_admin_text(path)
        except RuleFileError as e:
            problems.append(Problem(str(path), e.line, e.problem))
            continue

        def report(line: int | None, message: str, path: Path = path) -> None:
            problems.append(Problem(str(path), line, message))

        article = parse_article(path, text, report)
        if article is not None:
            articles.append(article)
    return articles


def _staff_logins(rules_dir: Path, problems: list[Problem]) -> Collection[str] | None:
    """Logins from staff.toml (for a caller without a loaded rule set); a file that cannot be
    read adds its problem and gives None (the owners are then not checked)."""
    found = Problems()
    doc = read_toml(rules_dir / "staff.toml", found)
    problems.extend(found.items)
    if doc is None:
        return None
    entries = doc.data.get("staff", [])
    return {str(s.get("login")) for s in entries if isinstance(s, dict)} if isinstance(
        entries, list) else set()


def _validate(directory: Path, articles: list[Article], staff: Collection[str] | None,
              problems: list[Problem]) -> None:
    slugs = {a.slug for a in articles}
    for a in articles:
        where = str(a.path)
        if staff is not None and a.owner not in staff:
            problems.append(Problem(where, None, f"ответственный «{a.owner}» не найден среди "
                                                 "сотрудников (логин из staff.toml)"))
        for name in a.forms:
            if not _safe_name(name) or not (directory / FORMS_DIR / name).is_file():
                problems.append(Problem(where, None, f"бланк «{name}» не найден в папке "
                                                     f"{directory / FORMS_DIR}"))
        for link in links(a.body):
            line = a.body_line + link.line - 1
            if link.kind == "article" and link.target not in slugs:
                problems.append(Problem(where, line, f"ссылка на несуществующую статью "
                                                     f"«{link.target}»"))
            elif link.kind == "form" and link.target not in a.forms:
                problems.append(Problem(where, line, f"ссылка на бланк «{link.target}», которого "
                                                     "нет в поле «forms» этой статьи"))


def _safe_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


def _unused_forms(directory: Path, articles: list[Article]) -> list[str]:
    forms = directory / FORMS_DIR
    listed = {f for a in articles for f in a.forms}
    if not forms.is_dir():
        return []
    return [f"бланк {p} не указан ни в одной статье и не публикуется"
            for p in sorted(forms.iterdir()) if p.is_file() and p.name not in listed]


def check_kb(rules_dir: Path, today: date, max_age_days: int,
             staff: Collection[str] | None = None) -> tuple[list[str], list[str]]:
    """For `buhdesk check`: problems (errors) and warnings, including articles due for review.
    ``staff``: the logins of the rule set `check` has loaded."""
    try:
        kb = KnowledgeBase.load(rules_dir, staff=staff)
    except KbError as e:
        return [str(p) for p in e.problems], []
    warnings = list(kb.warnings)
    for a in kb.stale(today, max_age_days):
        warnings.append(f"{a.path}: статья «{a.title}» не проверялась с {a.reviewed:%d.%m.%Y} "
                        f"(дольше {max_age_days} дн.); ответственный — {a.owner}")
    return [], warnings


class KnowledgeBaseCache:
    """The current knowledge base, reloaded when a file in the folder changes; a broken edit
    keeps the previous base in use (and is logged) so the service goes on.

    The folder is looked at no more often than every ``interval`` seconds (every acknowledgment
    asks for the base, and walking the folder costs more than the rest of the suggestion), so an
    edit is in use a second or so after it is saved; ``refresh()`` makes the next call look."""

    def __init__(self, rules_dir: Path, *, lemmatizer: Lemmatizer | None = None,
                 staff: Callable[[], Collection[str]] | None = None,
                 interval: float = CHECK_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rules_dir = Path(rules_dir)
        self._staff = staff  # the logins of the rule set in use (it may be reloaded)
        self.interval = interval
        self._clock = clock
        self._lemmatizer = lemmatizer or Lemmatizer()
        self._lock = threading.Lock()
        self._kb: KnowledgeBase | None = None
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._checked_at: float | None = None

    def get(self) -> KnowledgeBase:
        with self._lock:
            now = self._clock()
            if (self._kb is not None and self._checked_at is not None
                    and now - self._checked_at < self.interval):
                return self._kb
            signature = _signature(self.rules_dir / KB_DIR)
            if self._kb is None or signature != self._signature:
                try:
                    self._kb = KnowledgeBase.load(
                        self.rules_dir, lemmatizer=self._lemmatizer,
                        staff=self._staff() if self._staff else None)
                except KbError as e:
                    if self._kb is None:
                        raise
                    log.error("kb: %s not reloaded, keeping the previous articles:\n%s",
                              self.rules_dir / KB_DIR, e)
                self._signature = signature
            self._checked_at = now
            return self._kb

    def refresh(self) -> None:
        """Look at the folder again on the next ``get()`` (a rule reload, SIGHUP)."""
        with self._lock:
            self._checked_at = None


def _signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under ``directory`` with its time and size; walks with ``os.scandir`` (one
    ``stat`` per file) rather than ``rglob``."""
    if not directory.is_dir():
        return ()
    found: list[tuple[str, int, int]] = []
    _scan(str(directory), found)
    return tuple(sorted(found))


def _scan(folder: str, found: list[tuple[str, int, int]]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                _scan(entry.path, found)
            elif entry.is_file():
                st = entry.stat()
                found.append((entry.path, st.st_mtime_ns, st.st_size))


def valid_slug(slug: str) -> bool:
    return bool(SLUG_RE.match(slug))
