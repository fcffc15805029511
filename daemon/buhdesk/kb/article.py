"""One knowledge-base article: a Markdown file with a small header between two «---» lines.

    ---
    title: Справка о доходах (2-НДФЛ)
    processes: payroll
    needs: information, result
    keywords: справка о доходах, 2-НДФЛ
    owner: ivanova
    reviewed: 2026-10-01
    forms: заявление-на-справку.rtf
    ---
    Текст статьи в Markdown…

The file name without ``.md`` is the article's slug (its address). Lists are comma-separated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from buhdesk.kb.markdown import SLUG_RE
from buhdesk.rules.classify import NEEDS, PROCESSES

FIELDS = ("title", "processes", "needs", "keywords", "owner", "reviewed", "forms")
REQUIRED = ("title", "processes", "owner", "reviewed")
FENCE = "---"

Report = Callable[[int | None, str], None]


@dataclass(frozen=True)
class Article:
    slug: str
    path: Path
    title: str
    processes: tuple[str, ...]
    needs: tuple[str, ...]
    keywords: tuple[str, ...]
    owner: str
    reviewed: date
    forms: tuple[str, ...]
    body: str
    body_line: int  # the file's line on which the body starts


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _header(lines: list[str], report: Report) -> tuple[dict[str, tuple[str, int]], int] | None:
    """The header's fields with their lines, and the index of the first body line."""
    if not lines or lines[0].strip() != FENCE:
        report(1, "статья должна начинаться с заголовка: строка «---», поля «имя: значение», "
                  "снова строка «---»")
        return None
    fields: dict[str, tuple[str, int]] = {}
    for i, line in enumerate(lines[1:], start=2):
        if line.strip() == FENCE:
            return fields, i
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name:
            report(i, f"строка заголовка «{line.strip()}» не в виде «имя: значение»")
        elif name not in FIELDS:
            report(i, f"неизвестное поле «{name}»; допустимы: {', '.join(FIELDS)}")
        elif name in fields:
            report(i, f"поле «{name}» указано дважды")
        else:
            fields[name] = (value.strip(), i)
    report(1, "заголовок статьи не закрыт строкой «---»")
    return None


def _codes(value: str, line: int, allowed: tuple[str, ...], what: str,
           report: Report) -> tuple[str, ...]:
    codes = _split_list(value)
    for code in codes:
        if code not in allowed:
            report(line, f"неизвестный код {what} «{code}»; допустимы: {', '.join(allowed)}")
    return tuple(c for c in codes if c in allowed)


def _reviewed(value: str, line: int, report: Report) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        report(line, f"поле «reviewed»: «{value}» — нужна дата проверки в виде ГГГГ-ММ-ДД")
        return None


def parse_article(path: Path, text: str, report: Report) -> Article | None:
    """Parse one article; every problem goes to ``report(line, message)``; None if unusable."""
    slug = path.stem
    if not SLUG_RE.match(slug):
        report(None, f"имя файла «{path.name}» не годится для адреса статьи: нужны строчные "
                     "латинские буквы, цифры и дефисы (например, spravka-2-ndfl.md)")
    lines = text.splitlines()
    parsed = _header(lines, report)
    if parsed is None:
        return None
    fields, body_start = parsed
    for name in REQUIRED:
        if not fields.get(name, ("", 0))[0]:
            report(fields[name][1] if name in fields else 1, f"нет обязательного поля «{name}»")
    body = "\n".join(lines[body_start:]).strip("\n")
    if not body.strip():
        report(body_start, "у статьи нет текста")

    def get(name: str) -> tuple[str, int]:
        return fields.get(name, ("", 1))

    processes = _codes(*get("processes"), PROCESSES, "процесса", report)
    needs = _codes(*get("needs"), NEEDS, "потребности", report)
    reviewed = _reviewed(*get("reviewed"), report) if get("reviewed")[0] else None
    if reviewed is None or not get("title")[0]:
        return None
    leading = len(lines[body_start:]) - len("\n".join(lines[body_start:]).lstrip("\n")
                                            .splitlines())
    return Article(
        slug=slug, path=path, title=get("title")[0], processes=processes, needs=needs,
        keywords=_split_list(get("keywords")[0]), owner=get("owner")[0], reviewed=reviewed,
        forms=_split_list(get("forms")[0]), body=body, body_line=body_start + 1 + leading,
    )
