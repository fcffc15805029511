"""Read and check ``classify.toml``: settings, labels of processes and needs, and the rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from buhdesk.rules.classify import NEEDS, PROCESSES, Rule, Settings, Term
from buhdesk.rules.lemmas import Lemmatizer
from buhdesk.rules.problems import Owner, Problems, TomlDoc, check_keys

_TOP_KEYS = ("settings", "processes", "needs", "rule")
_RULE_KEYS = ("name", "process", "need", "weight", "terms", "patterns", "senders", "where",
              "unless")
_SETTING_TYPES: dict[str, type | tuple[type, ...]] = {
    "process_threshold": (int, float), "need_threshold": (int, float), "fallback_need": str,
    "subject_weight": (int, float), "forwarded_weight": (int, float),
    "repeat_bonus": (int, float), "fuzzy_min_length": int, "unsorted_queue": str,
    "model_unsorted_confidence": (int, float),
}
_WHERE = ("all", "subject", "body")
_STOP_WORDS = frozenset({"о", "об", "в", "во", "на", "по", "за", "с", "со", "и", "для", "от",
                         "к", "из", "у"})
_SENDER = re.compile(r"^(?:@[\w.-]+\.[a-z]{2,}|[\w.+-]+@[\w.-]+\.[a-z]{2,})$", re.IGNORECASE)


@dataclass(frozen=True)
class ClassifyConfig:
    settings: Settings
    rules: tuple[Rule, ...]
    process_labels: dict[str, str]
    need_labels: dict[str, str]
    unsorted_queue: str | None
    unsorted_line: int | None


def parse_classify(doc: TomlDoc, lemmatizer: Lemmatizer, problems: Problems) -> ClassifyConfig:
    data = doc.data
    check_keys(doc, ("", None), data, _TOP_KEYS, problems, "файле")
    settings, queue = _settings(doc, problems)
    processes = _labels(doc, "processes", PROCESSES, problems)
    needs = _labels(doc, "needs", NEEDS, problems)
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.add(doc.name, None, "нет ни одного правила [[rule]]")
        raw_rules = []
    rules = _rules(doc, raw_rules, lemmatizer, problems)
    return ClassifyConfig(settings, rules, processes, needs, queue,
                          doc.key_line(("settings", None), "unsorted_queue"))


def _settings(doc: TomlDoc, problems: Problems) -> tuple[Settings, str | None]:
    owner: Owner = ("settings", None)
    raw = doc.data.get("settings", {})
    if not isinstance(raw, dict):
        problems.add(doc.name, doc.table_line(owner), "[settings] должен быть таблицей")
        return Settings(), None
    check_keys(doc, owner, raw, _SETTING_TYPES, problems, "[settings]")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        expected = _SETTING_TYPES.get(key)
        if expected is None:
            continue
        if isinstance(value, bool) or not isinstance(value, expected):
            problems.add(doc.name, doc.key_line(owner, key),
                         f"значение «{key}» имеет неверный тип: {value!r}")
        elif isinstance(value, (int, float)) and value < 0:
            problems.add(doc.name, doc.key_line(owner, key), f"«{key}» не может быть меньше нуля")
        else:
            values[key] = value
    fallback = values.get("fallback_need", "other")
    if fallback and fallback not in NEEDS:
        problems.add(doc.name, doc.key_line(owner, "fallback_need"),
                     f"неизвестная потребность «{fallback}» (допустимы: {', '.join(NEEDS)})")
    queue = values.pop("unsorted_queue", "") or None
    values["fallback_need"] = fallback or None
    return Settings(**values), queue


def _labels(doc: TomlDoc, table: str, codes: tuple[str, ...], problems: Problems) -> dict[str, str]:
    owner: Owner = (table, None)
    raw = doc.data.get(table)
    if not isinstance(raw, dict):
        problems.add(doc.name, None, f"нет таблицы [{table}] с русскими названиями")
        return {c: c for c in codes}
    for key, value in raw.items():
        if key not in codes:
            problems.add(doc.name, doc.key_line(owner, key),
                         f"неизвестный код «{key}» в [{table}] (допустимы: {', '.join(codes)})")
        elif not isinstance(value, str) or not value.strip():
            problems.add(doc.name, doc.key_line(owner, key),
                         f"название «{key}» должно быть строкой")
    for code in codes:
        if code not in raw:
            problems.add(doc.name, doc.table_line(owner), f"в [{table}] нет названия для «{code}»")
    return {c: str(raw.get(c, c)) for c in codes}


def _rules(
    doc: TomlDoc, raw_rules: list[Any], lemmatizer: Lemmatizer, problems: Problems
) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        owner: Owner = ("rule", index)
        if not isinstance(raw, dict):
            problems.add(doc.name, doc.table_line(owner), "правило должно быть таблицей [[rule]]")
            continue
        rule = _rule(doc, owner, raw, lemmatizer, problems)
        if rule is None:
            continue
        if rule.name in seen:
            problems.add(doc.name, doc.key_line(owner, "name"),
                         f"повторяется имя правила «{rule.name}» (уже было в правиле "
                         f"№ {seen[rule.name] + 1})")
        seen.setdefault(rule.name, index)
        rules.append(rule)
    return tuple(rules)


def _rule(
    doc: TomlDoc, owner: Owner, raw: dict[str, Any], lemmatizer: Lemmatizer, problems: Problems
) -> Rule | None:
    before = len(problems.items)
    check_keys(doc, owner, raw, _RULE_KEYS, problems, "правиле")
    name = raw.get("name")
    label = (f"правило «{name}»" if isinstance(name, str) and name
             else f"правило № {(owner[1] or 0) + 1}")
    if not isinstance(name, str) or not name.strip():
        problems.add(doc.name, doc.table_line(owner), f"{label}: нет имени (name)")
    kind, code = _target(doc, owner, raw, label, problems)
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
        problems.add(doc.name, doc.key_line(owner, "weight"),
                     f"{label}: вес (weight) должен быть числом больше нуля")
    terms = _terms(doc, owner, raw, "terms", lemmatizer, label, problems)
    unless = _terms(doc, owner, raw, "unless", lemmatizer, label, problems)
    patterns = _patterns(doc, owner, raw, label, problems)
    senders = _senders(doc, owner, raw, label, problems)
    where = raw.get("where", "all")
    if where not in _WHERE:
        problems.add(doc.name, doc.key_line(owner, "where"),
                     f"{label}: where должно быть одним из: {', '.join(_WHERE)}")
    if not terms and not patterns and not senders and "terms" not in raw:
        problems.add(doc.name, doc.table_line(owner),
                     f"{label}: нужно хотя бы одно из terms, patterns, senders")
    if len(problems.items) > before:
        return None
    return Rule(str(name), kind, code, float(weight), terms, patterns, senders, where, unless)


def _target(
    doc: TomlDoc, owner: Owner, raw: dict[str, Any], label: str, problems: Problems
) -> tuple[str, str]:
    has_process, has_need = "process" in raw, "need" in raw
    if has_process == has_need:
        problems.add(doc.name, doc.table_line(owner),
                     f"{label}: укажите ровно одно из process или need")
        return "process", ""
    kind = "process" if has_process else "need"
    codes = PROCESSES if has_process else NEEDS
    code = raw[kind]
    if code not in codes:
        what = "неизвестный процесс" if has_process else "неизвестная потребность"
        problems.add(doc.name, doc.key_line(owner, kind),
                     f"{label}: {what} «{code}» (допустимы: {', '.join(codes)})")
    return kind, str(code)


def _string_list(
    doc: TomlDoc, owner: Owner, raw: dict[str, Any], key: str, label: str, problems: Problems
) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(doc.name, doc.key_line(owner, key),
                     f"{label}: {key} должен быть списком строк")
        return []
    return value


def _terms(
    doc: TomlDoc, owner: Owner, raw: dict[str, Any], key: str, lemmatizer: Lemmatizer,
    label: str, problems: Problems,
) -> tuple[Term, ...]:
    terms: list[Term] = []
    seen: set[tuple[str, ...]] = set()
    if key in raw and not raw[key]:
        problems.add(doc.name, doc.key_line(owner, key), f"{label}: список {key} пуст")
    for text in _string_list(doc, owner, raw, key, label, problems):
        words = term_words(text, lemmatizer)
        if not words:
            problems.add(doc.name, doc.value_line(owner, text),
                         f"{label}: термин «{text}» не содержит слов")
        elif words in seen:
            problems.add(doc.name, doc.value_line(owner, text),
                         f"{label}: термин «{text}» повторяется (совпадает по начальной форме)")
        else:
            seen.add(words)
            terms.append(Term(text, words))
    return tuple(terms)


def term_words(text: str, lemmatizer: Lemmatizer) -> tuple[str, ...]:
    """The lemmas a term is matched by; prepositions are dropped from phrases."""
    words = [lemmatizer.lemma(t.text) for t in lemmatizer.tokens(text)]
    if len(words) > 1:
        words = [w for w in words if w not in _STOP_WORDS] or words
    return tuple(words)


def _patterns(
    doc: TomlDoc, owner: Owner, raw: dict[str, Any], label: str, problems: Problems
) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for text in _string_list(doc, owner, raw, "patterns", label, problems):
        try:
            compiled.append(re.compile(text, re.IGNORECASE))
        except re.error as e:
            problems.add(doc.name, doc.value_line(owner, text),
                         f"{label}: неверное регулярное выражение «{text}»: {e}")
    return tuple(compiled)


def _senders(
    doc: TomlDoc, owner: Owner, raw: dict[str, Any], label: str, problems: Problems
) -> tuple[str, ...]:
    senders = _string_list(doc, owner, raw, "senders", label, problems)
    for text in senders:
        if not _SENDER.match(text):
            problems.add(doc.name, doc.value_line(owner, text),
                         f"{label}: «{text}» — не адрес и не домен вида «@example.ru»")
    return tuple(s.lower() for s in senders)
