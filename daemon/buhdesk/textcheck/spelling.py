"""Spelling findings: words that neither the dictionaries, the glossary nor the names know."""

from __future__ import annotations

import re
from collections.abc import Iterable

from buhdesk.textcheck.findings import Finding, make, quote
from buhdesk.textcheck.lexicon import Lexicon
from buhdesk.textcheck.suggest import RU, edits1
from buhdesk.textcheck.tokens import Word, is_cyrillic, is_latin

_ROMAN = re.compile(r"[IVXLCDM]+")
_LOOKALIKE_TO_RU = str.maketrans("aeopcxyATEOPCXKMHBaeopcxy", "аеорсхуАТЕОРСХКМНВаеорсху")
_LOOKALIKE_TO_EN = str.maketrans("аеорсхуАТЕОРСХКМНВ", "aeopcxyATEOPCXKMHB")
ABBREVIATION_MAX = 6


def check(text: str, words: Iterable[Word], lexicon: Lexicon,
          abbreviations: frozenset[str]) -> list[Finding]:
    """One finding per unknown word, with ranked suggestions; «каб.», «тел.» and the like pass."""
    findings = []
    for word in words:
        if text[word.end:word.end + 1] == "." and word.text.lower() in abbreviations:
            continue
        finding = _check_word(text, word, lexicon)
        if finding is not None:
            findings.append(finding)
    return findings


def _check_word(text: str, word: Word, lexicon: Lexicon) -> Finding | None:
    letters = sum(ch.isalpha() for ch in word.text)
    if word.has_digit or letters < 2:
        return None
    if is_cyrillic(word.text) and is_latin(word.text):
        return _mixed_script(text, word, lexicon)
    if lexicon.is_known(word.text):
        return None
    if word.is_caps:
        return _caps(text, word, lexicon)
    suggestions = lexicon.suggest(word.text)
    return make("spelling", text, word.start, word.end, _message(word.text, suggestions),
                suggestions)


def _caps(text: str, word: Word, lexicon: Lexicon) -> Finding | None:
    if _ROMAN.fullmatch(word.text) or lexicon.is_plain_known(word.text.lower()):
        return None
    if len(word.text) <= ABBREVIATION_MAX:
        near = tuple(sorted(t for t in set(edits1(word.text, RU.upper())) if t in lexicon.exact_terms))
        message = (f"Неизвестное сокращение {quote(word.text)}: проверьте написание "
                   "или добавьте его в глоссарий")
        return make("spelling", text, word.start, word.end, message, near)
    suggestions = lexicon.suggest(word.text)
    return make("spelling", text, word.start, word.end, _message(word.text, suggestions),
                suggestions)


def _mixed_script(text: str, word: Word, lexicon: Lexicon) -> Finding:
    cyr = sum(is_cyrillic(ch) for ch in word.text)
    table = _LOOKALIKE_TO_RU if cyr * 2 >= len(word.text) else _LOOKALIKE_TO_EN
    fixed = word.text.translate(table)
    suggestions = (fixed,) if lexicon.is_known(fixed) else ()
    message = f"В слове {quote(word.text)} смешаны русские и латинские буквы"
    return make("spelling", text, word.start, word.end, message, suggestions)


def _message(word: str, suggestions: tuple[str, ...]) -> str:
    if not suggestions:
        return f"Возможна орфографическая ошибка: {quote(word)} — слова нет в словаре"
    options = ", ".join(quote(s) for s in suggestions)
    return f"Возможна орфографическая ошибка: {quote(word)} → {options}"
