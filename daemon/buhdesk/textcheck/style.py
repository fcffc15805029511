"""Style: words in capitals, «!!!» and «??», colloquialisms from ``style.toml``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from buhdesk.textcheck.findings import Finding, make, quote
from buhdesk.textcheck.lexicon import Lexicon
from buhdesk.textcheck.rules import Colloquialism
from buhdesk.textcheck.tokens import Word, inside, is_cyrillic

_MARKS = re.compile(r"!{2,}|\?{2,}|[!?]{3,}")
_EDGE_BEFORE = re.compile(r"(?:^|[.!?,;:—–(\n])[ \t]*$")
_EDGE_AFTER = re.compile(r"^[ \t]*(?:[.!?,;:…)\n]|$)")
_PREVIOUS = re.compile(r"([^\W_]+)[ \t\u00a0]+$")


def check(text: str, words: Iterable[Word], spans: list[tuple[int, int]], lexicon: Lexicon,
          colloquial: re.Pattern[str], rules: dict[str, Colloquialism]) -> list[Finding]:
    """All style findings in ``text``."""
    found = list(_colloquialisms(text, spans, lexicon, colloquial, rules))
    taken = {(f.start, f.end) for f in found}
    found += [f for f in _caps(text, words, lexicon) if (f.start, f.end) not in taken]
    found += _marks(text)
    return found


def compile_colloquialisms(rules: Iterable[Colloquialism]) -> tuple[re.Pattern[str],
                                                                     dict[str, Colloquialism]]:
    """One regex for all colloquial forms, and the rule behind each form."""
    by_word = {word: rule for rule in rules for word in rule.words}
    alternatives = "|".join(re.escape(w) for w in sorted(by_word, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w/-])(?:{alternatives or '(?!)'})(?![\w/-])", re.IGNORECASE)
    return pattern, by_word


def _colloquialisms(text: str, spans: list[tuple[int, int]], lexicon: Lexicon,
                    pattern: re.Pattern[str], rules: dict[str, Colloquialism]) -> Iterator[Finding]:
    for m in pattern.finditer(text):
        rule = rules[m.group().lower()]
        if inside(m.start(), spans) or not _applies(text, m, rule, lexicon):
            continue
        options = (rule.replacement,) if rule.replacement else ()
        yield make("style", text, m.start(), m.end(), rule.message, options)


def _applies(text: str, m: re.Match[str], rule: Colloquialism, lexicon: Lexicon) -> bool:
    if rule.context == "clause_edge" and not (
        _EDGE_BEFORE.search(text, 0, m.start()) or _EDGE_AFTER.match(text[m.end():m.end() + 40])
    ):
        return False
    if not rule.skip_after:
        return True
    previous = _PREVIOUS.search(text, 0, m.start())
    if previous is None:
        return True
    word = previous.group(1)
    if word.isdigit():
        return not any("NUMR" in skip for skip in rule.skip_after)
    grammemes = lexicon.morph.parse(word)[0].tag.grammemes
    return not any(skip <= grammemes for skip in rule.skip_after)


def _caps(text: str, words: Iterable[Word], lexicon: Lexicon) -> Iterator[Finding]:
    for word in words:
        if not word.is_caps or word.has_digit or not is_cyrillic(word.text):
            continue
        if lexicon.is_term(word.text) or not lexicon.is_plain_known(word.text.lower()):
            continue
        if _quoted_code(text, word) or lexicon.is_abbreviation(word.text):
            continue
        yield make("style", text, word.start, word.end,
                   f"Слово набрано заглавными буквами: {quote(word.text)} — "
                   "в деловом письме так не выделяют", (word.text.lower(),))


def _quoted_code(text: str, word: Word) -> bool:
    """A code in quotes, like «ОТ» or «Б» in a time sheet, is not shouting."""
    before = text[word.start - 1] if word.start > 0 else ""
    after = text[word.end] if word.end < len(text) else ""
    return bool(before and after) and before in "«\"„" and after in "»\"“"


def _marks(text: str) -> list[Finding]:
    return [make("style", text, m.start(), m.end(),
                 f"Несколько знаков подряд: {quote(m.group())} — в деловом письме достаточно одного",
                 (m.group()[0],)) for m in _MARKS.finditer(text)]
