"""Loading and validating the text-check rule files: ``glossary.txt`` and ``style.toml``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

GLOSSARY_FILE = "glossary.txt"
STYLE_FILE = "style.toml"
_CONTEXTS = ("any", "clause_edge")
_TERM = re.compile(r"[^\s,;]+")


class TextCheckRulesError(ValueError):
    """A rule file is missing or holds bad data; the message names the file and line."""


@dataclass(frozen=True)
class Colloquialism:
    """A colloquial word (in all listed forms) and what to write instead."""

    words: tuple[str, ...]
    replacement: str
    message: str
    context: str = "any"
    skip_after: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class StyleRules:
    colloquialisms: tuple[Colloquialism, ...]
    period_abbreviations: frozenset[str]


def load_glossary(path: Path) -> tuple[str, ...]:
    """Terms of the glossary, one per line; ``#`` starts a comment line."""
    text = _read(path)
    terms = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not _TERM.fullmatch(line):
            raise TextCheckRulesError(
                f"{path}, строка {number}: в строке должен быть один термин без пробелов "
                f"и запятых, а записано «{line}»"
            )
        terms.append(line)
    return tuple(terms)


def load_style(path: Path) -> StyleRules:
    """Colloquialisms and abbreviation lists from ``style.toml``, validated completely."""
    text = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TextCheckRulesError(f"{path}: ошибка синтаксиса TOML: {e}") from e
    entries = data.get("colloquialism", [])
    if not isinstance(entries, list):
        raise TextCheckRulesError(f"{path}: «colloquialism» должен быть списком [[colloquialism]]")
    lines = _header_lines(text, "colloquialism")
    rules = tuple(_colloquialism(e, f"{path}, строка {lines[i]}") for i, e in enumerate(entries))
    return StyleRules(rules, _abbreviations(data, path, text))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TextCheckRulesError(f"{path}: не удалось прочитать файл: {e}") from e


def _header_lines(text: str, table: str) -> list[int]:
    pattern = re.compile(rf"^[ \t]*\[\[[ \t]*{table}[ \t]*\]\]", re.MULTILINE)
    return [text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(text)]


def _colloquialism(entry: dict[str, object], where: str) -> Colloquialism:
    unknown = set(entry) - {"words", "replacement", "message", "context", "skip_after"}
    if unknown:
        raise TextCheckRulesError(f"{where}: неизвестные ключи: {', '.join(sorted(unknown))}")
    words = _str_list(entry.get("words"), "words", where)
    if not words:
        raise TextCheckRulesError(f"{where}: список «words» не должен быть пустым")
    replacement = entry.get("replacement")
    if not isinstance(replacement, str):
        raise TextCheckRulesError(f"{where}: нужен ключ «replacement» (строка)")
    context = entry.get("context", "any")
    if context not in _CONTEXTS:
        raise TextCheckRulesError(
            f"{where}: «context» должен быть одним из: {', '.join(_CONTEXTS)}; записано {context!r}"
        )
    message = entry.get("message") or _default_message(words[0], replacement)
    if not isinstance(message, str):
        raise TextCheckRulesError(f"{where}: «message» должен быть строкой")
    skip = tuple(frozenset(s.split()) for s in _str_list(entry.get("skip_after", []),
                                                           "skip_after", where))
    return Colloquialism(tuple(w.lower() for w in words), replacement, message, str(context), skip)


def _str_list(value: object, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TextCheckRulesError(f"{where}: «{key}» должен быть списком непустых строк")
    return [v.strip() for v in value]


def _default_message(word: str, replacement: str) -> str:
    if not replacement:
        return f"Разговорное слово «{word}» неуместно в ответе; уберите его."
    return f"Разговорное слово «{word}» неуместно в ответе; напишите «{replacement}»."


def _abbreviations(data: dict[str, object], path: Path, text: str) -> frozenset[str]:
    section = data.get("abbreviations", {})
    if not isinstance(section, dict):
        raise TextCheckRulesError(f"{path}: [abbreviations] должен быть таблицей")
    line = next((n for n, s in enumerate(text.splitlines(), 1) if "[abbreviations]" in s), 0)
    values = _str_list(section.get("period", []), "period", f"{path}, строка {line}")
    return frozenset(v.lower() for v in values)
