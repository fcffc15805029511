"""Loading and validating the text-check rule files: ``glossary.txt`` and ``style.toml``.

Both are read by the one admin-file loader (:mod:`buhdesk.rules.locatedtoml`); every error names
the file and the line (``rules/style.toml:5: …``) like the other rule files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from buhdesk.rules.locatedtoml import LocatedToml, RuleFileError, read_admin_text, read_located_toml
from buhdesk.rules.tomlerrors import located, shown_name
from buhdesk.textcheck import commas, typography

GLOSSARY_FILE = "glossary.txt"
STYLE_FILE = "style.toml"
_CONTEXTS = ("any", "clause_edge")
_TERM = re.compile(r"[^\s,;]+")


class TextCheckRulesError(ValueError):
    """A rule file is missing or holds bad data; the message names the file and line."""

    def __init__(self, file: Path | str, line: int | None, problem: str) -> None:
        self.file, self.line, self.problem = str(file), line, problem
        super().__init__(f"{located(shown_name(file), line)}: {problem}")


@dataclass(frozen=True)
class _Where:
    """A place in a rule file that errors point at."""

    file: Path
    line: int | None

    def error(self, problem: str) -> TextCheckRulesError:
        return TextCheckRulesError(self.file, self.line, problem)


@dataclass(frozen=True)
class Colloquialism:
    """A colloquial word (in all listed forms) and what to write instead."""

    words: tuple[str, ...]
    replacement: str
    message: str
    context: str = "any"
    skip_after: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class Phrase:
    """A bureaucratic, unfit or misspelled turn of phrase and the plain way to say it.

    ``pattern`` holds the phrase's slots: alternatives per word, a trailing ``*`` for any ending.
    """

    pattern: tuple[tuple[str, ...], ...]
    replacement: str
    message: str
    kind: str = "style"
    blocking: bool | None = None  # None: the [settings] default for its kind


@dataclass(frozen=True)
class Settings:
    """[settings], [typography] and [punctuation] of ``style.toml``."""

    style_blocking: bool = False
    sentence_max_words: int = 35
    noun_chain: int = 10
    passive_chain: int = 3
    typography: frozenset[str] = frozenset()
    punctuation: frozenset[str] = frozenset()


@dataclass(frozen=True)
class StyleRules:
    colloquialisms: tuple[Colloquialism, ...]
    period_abbreviations: frozenset[str]
    phrases: tuple[Phrase, ...] = ()
    settings: Settings = Settings()


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
                path, number, f"в строке должен быть один термин без пробелов и запятых, а "
                              f"записано «{line}»"
            )
        terms.append(line)
    return tuple(terms)


def load_style(path: Path) -> StyleRules:
    """Colloquialisms and abbreviation lists from ``style.toml``, validated completely."""
    try:
        doc = read_located_toml(path)
    except RuleFileError as e:
        raise TextCheckRulesError(path, e.line, e.problem) from e
    data = doc.data
    entries = data.get("colloquialism", [])
    if not isinstance(entries, list):
        raise _at(doc, "colloquialism").error(
            "«colloquialism» должен быть списком [[colloquialism]]")
    rules = tuple(_colloquialism(e, _at(doc, f"colloquialism[{i}]")) for i, e in enumerate(entries))
    phrases = data.get("phrase", [])
    if not isinstance(phrases, list):
        raise _at(doc, "phrase").error("«phrase» должен быть списком [[phrase]]")
    found = tuple(p for i, e in enumerate(phrases) for p in _phrases(e, _at(doc, f"phrase[{i}]")))
    return StyleRules(rules, _abbreviations(doc), found, _settings(doc))


def _at(doc: LocatedToml, key: str) -> _Where:
    return _Where(doc.path, doc.line_of(key))


_PHRASE_KINDS = ("style", "spelling", "greeting")
_SETTINGS_INT = {"sentence_max_words": 35, "noun_chain": 10, "passive_chain": 3}


def _phrases(entry: dict[str, object], where: _Where) -> list[Phrase]:
    phrases, replacement = _entry(entry, "phrases", {"kind", "blocking"}, where)
    kind = entry.get("kind", "style")
    if kind not in _PHRASE_KINDS:
        raise where.error(f"«kind» должен быть одним из: "
                                  f"{', '.join(_PHRASE_KINDS)}; записано {kind!r}")
    blocking = entry.get("blocking")
    if blocking is not None and not isinstance(blocking, bool):
        raise where.error("«blocking» должен быть true или false")
    out = []
    for phrase in phrases:
        message = entry.get("message") or _phrase_message(phrase, replacement)
        if not isinstance(message, str):
            raise where.error("«message» должен быть строкой")
        slots = tuple(tuple(a for a in slot.lower().split("|") if a)
                      for slot in phrase.split())
        if not all(slots) or any(a.strip("*") == "" for slot in slots for a in slot):
            raise where.error(f"пустое слово в образце «{phrase}»")
        out.append(Phrase(slots, replacement, message, str(kind), blocking))
    return out


def _phrase_message(phrase: str, replacement: str) -> str:
    shown = phrase.replace("*", "…").split("|")[0]
    if not replacement:
        return f"Оборот «{shown}» неуместен в ответе; уберите его."
    return f"Канцелярский оборот «{shown}»: проще и понятнее — «{replacement}»."


def _settings(doc: LocatedToml) -> Settings:
    data = doc.data
    section = data.get("settings", {})
    if not isinstance(section, dict):
        raise _at(doc, "settings").error("[settings] должен быть таблицей")
    unknown = set(section) - {"style_blocking", *_SETTINGS_INT}
    if unknown:
        raise _at(doc, f"settings.{min(unknown)}").error(
            f"[settings]: неизвестные ключи: {', '.join(sorted(unknown))}")
    blocking = section.get("style_blocking", False)
    if not isinstance(blocking, bool):
        raise _at(doc, "settings.style_blocking").error(
            "[settings] style_blocking должен быть true или false")
    numbers = {}
    for key, default in _SETTINGS_INT.items():
        value = section.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _at(doc, f"settings.{key}").error(
                f"[settings] {key} должен быть целым числом не меньше 0 (0 — проверка выключена)")
        numbers[key] = value
    return Settings(blocking, typography=_switches(doc, "typography", typography.RULES,
                                                   typography.DEFAULT_OFF),
                    punctuation=_switches(doc, "punctuation", commas.RULES, frozenset()),
                    **numbers)


def _switches(doc: LocatedToml, table: str, names: tuple[str, ...],
              off: frozenset[str]) -> frozenset[str]:
    """The rule names switched on in a table of booleans."""
    section = doc.data.get(table, {})
    if not isinstance(section, dict):
        raise _at(doc, table).error(f"[{table}] должен быть таблицей")
    unknown = set(section) - set(names)
    if unknown:
        raise _at(doc, f"{table}.{min(unknown)}").error(
            f"[{table}]: неизвестные правила: {', '.join(sorted(unknown))} "
            f"(есть: {', '.join(names)})")
    on = set(names) - off
    for name, value in section.items():
        if not isinstance(value, bool):
            raise _at(doc, f"{table}.{name}").error(
                f"[{table}] {name} должен быть true или false")
        (on.add if value else on.discard)(name)
    return frozenset(on)


def _read(path: Path) -> str:
    try:
        return read_admin_text(path)
    except RuleFileError as e:
        raise TextCheckRulesError(path, e.line, e.problem) from e


def _entry(entry: dict[str, object], key: str, other_keys: set[str],
           where: _Where) -> tuple[list[str], str]:
    """The non-empty list ``key`` and the replacement of a rule entry; unknown keys refused."""
    unknown = set(entry) - {key, "replacement", "message", *other_keys}
    if unknown:
        raise where.error(f"неизвестные ключи: {', '.join(sorted(unknown))}")
    values = _str_list(entry.get(key), key, where)
    if not values:
        raise where.error(f"список «{key}» не должен быть пустым")
    replacement = entry.get("replacement")
    if not isinstance(replacement, str):
        raise where.error("нужен ключ «replacement» (строка)")
    return values, replacement


def _colloquialism(entry: dict[str, object], where: _Where) -> Colloquialism:
    words, replacement = _entry(entry, "words", {"context", "skip_after"}, where)
    context = entry.get("context", "any")
    if context not in _CONTEXTS:
        raise where.error(
            f"«context» должен быть одним из: {', '.join(_CONTEXTS)}; записано {context!r}"
        )
    message = entry.get("message") or _default_message(words[0], replacement)
    if not isinstance(message, str):
        raise where.error("«message» должен быть строкой")
    skip = tuple(frozenset(s.split()) for s in _str_list(entry.get("skip_after", []),
                                                           "skip_after", where))
    return Colloquialism(tuple(w.lower() for w in words), replacement, message, str(context), skip)


def _str_list(value: object, key: str, where: _Where) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise where.error(f"«{key}» должен быть списком непустых строк")
    return [v.strip() for v in value]


def _default_message(word: str, replacement: str) -> str:
    if not replacement:
        return f"Разговорное слово «{word}» неуместно в ответе; уберите его."
    return f"Разговорное слово «{word}» неуместно в ответе; напишите «{replacement}»."


def _abbreviations(doc: LocatedToml) -> frozenset[str]:
    section = doc.data.get("abbreviations", {})
    if not isinstance(section, dict):
        raise _at(doc, "abbreviations").error("[abbreviations] должен быть таблицей")
    values = _str_list(section.get("period", []), "period", _at(doc, "abbreviations.period"))
    return frozenset(v.lower() for v in values)
