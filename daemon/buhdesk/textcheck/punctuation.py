"""Punctuation and typography: spaces around marks, doubled words and marks, brackets and quotes,
sentences that start with a lower-case letter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from buhdesk.textcheck.findings import Finding, make, quote
from buhdesk.textcheck.tokens import inside

Spans = list[tuple[int, int]]

_SPACE_BEFORE = re.compile(r"(?<=[^\s(«\"„])[ \t\u00a0]+([,.;:!?])(?![\w.])")
_COMMA_GLUED = re.compile(r"[,;](?=[^\W\d_])")
_COLON_GLUED = re.compile(r"(?<=[а-яё]{2}):(?=[а-яёА-ЯЁ])")
_PERIOD_GLUED = re.compile(r"(?<![\w.])([а-яё]{2,})([.!?])(?=[А-ЯЁа-яё])", re.IGNORECASE)
_DOUBLE_WORD = re.compile(r"(?<!\w)([^\W\d_]+)[ \t\u00a0]+(\1)(?!\w)", re.IGNORECASE)
_DOUBLE_SIGN = re.compile(r",{2,}|;{2,}|:{2,}|(?<!\.)\.\.(?!\.)|\.{4,}")
_STRAIGHT = re.compile('"')
_STRAIGHT_QUOTED = re.compile(r"\"([^\"\n]{1,200})\"")
_LIST_MARKER = re.compile(r"(?:^[ \t]*|(?<=[:;][ \t]))(?:\d{1,2}|[а-яa-z])\)",
                          re.MULTILINE)
# the look-behind: a word is tried from its first letter only, not from each of its letters
_SENTENCE_END = re.compile(r"(?<![^\W_])([^\W_]*)([.!?]+|…)[»\")]*\s+(?=([а-яё][^\W_]*))")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_PAIRS = {")": "(", "]": "[", "»": "«"}
_BRACKET = re.compile("[" + re.escape("".join(_PAIRS) + "".join(_PAIRS.values())) + "]")


def check(text: str, spans: Spans, abbreviations: frozenset[str],
          typography: frozenset[str] = frozenset({"spacing", "quotes"})) -> list[Finding]:
    """Marks and spaces around them; spacing and quotes can be switched off ([typography])."""
    rules: tuple[Callable[[], Iterator[Finding]], ...] = (
        lambda: _space_before(text, spans) if "spacing" in typography else iter(()),
        lambda: _no_space_after(text, spans, abbreviations) if "spacing" in typography
        else iter(()),
        lambda: _doubled_words(text, spans),
        lambda: _doubled_signs(text, spans),
        lambda: _brackets(text, spans),
        lambda: _straight_quotes(text, spans) if "quotes" in typography else iter(()),
        lambda: _lower_case_start(text, spans, abbreviations),
    )
    return [finding for rule in rules for finding in rule()]


def _space_before(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _SPACE_BEFORE.finditer(text):
        mark = m.group(1)
        if inside(m.start(1), spans) or text.startswith("..", m.start(1)):
            continue
        yield make("typography", text, m.start(), m.end(),
                   f"Лишний пробел перед знаком {quote(mark)}", (mark,))


def _no_space_after(text: str, spans: Spans, abbreviations: frozenset[str]) -> Iterator[Finding]:
    for m in (*_COMMA_GLUED.finditer(text), *_COLON_GLUED.finditer(text)):
        if not inside(m.start(), spans):
            yield _glued(text, m.start(), m.group())
    for m in _PERIOD_GLUED.finditer(text):
        word, mark = m.group(1), m.group(2)
        if inside(m.start(2), spans) or (mark == "." and word.lower() in abbreviations):
            continue
        yield _glued(text, m.start(2), mark)


def _glued(text: str, pos: int, mark: str) -> Finding:
    return make("typography", text, pos, pos + 2, f"Нет пробела после знака {quote(mark)}",
                (f"{mark} {text[pos + 1]}",))


def _doubled_words(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _DOUBLE_WORD.finditer(text):
        if inside(m.start(), spans):
            continue
        yield make("typography", text, m.start(), m.end(),
                   f"Слово повторяется дважды: {quote(m.group())}", (m.group(1),))


def _doubled_signs(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _DOUBLE_SIGN.finditer(text):
        if inside(m.start(), spans):
            continue
        sign = m.group()
        options = (".", "...") if sign[0] == "." else (sign[0],)
        yield make("punctuation", text, m.start(), m.end(),
                   f"Знак повторяется: {quote(sign)}", options)


def _brackets(text: str, spans: Spans) -> Iterator[Finding]:
    markers = {m.end() - 1 for m in _LIST_MARKER.finditer(text)}
    stacks: dict[str, list[int]] = {opener: [] for opener in _PAIRS.values()}
    for m in _BRACKET.finditer(text):
        pos, ch = m.start(), m.group()
        if ch in stacks and not inside(pos, spans):
            stacks[ch].append(pos)
        elif ch in _PAIRS and pos not in markers and not inside(pos, spans):
            opened = stacks[_PAIRS[ch]]
            if opened:
                opened.pop()
            else:
                yield _unbalanced(text, pos, "Закрывающая скобка или кавычка без открывающей")
    for opened in stacks.values():
        for pos in opened:
            yield _unbalanced(text, pos, "Открывающая скобка или кавычка не закрыта")
    straight = [m.start() for m in _STRAIGHT.finditer(text) if not inside(m.start(), spans)]
    if len(straight) % 2:
        yield _unbalanced(text, straight[-1], "Непарная кавычка")


def _unbalanced(text: str, pos: int, message: str) -> Finding:
    return make("punctuation", text, pos, pos + 1, f"{message}: {quote(text[pos])}")


def _straight_quotes(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _STRAIGHT_QUOTED.finditer(text):
        inner = m.group(1)
        if inside(m.start(), spans) or not _CYRILLIC.search(inner):
            continue
        yield make("typography", text, m.start(), m.end(),
                   "Прямые кавычки в русском тексте: используйте «ёлочки»", (f"«{inner}»",))


def _lower_case_start(text: str, spans: Spans, abbreviations: frozenset[str]) -> Iterator[Finding]:
    first = re.match(r"\s*([а-яё][^\W_]*)", text)
    if first:
        yield _lower(text, first.start(1), first.group(1))
    for m in _SENTENCE_END.finditer(text):
        before, mark, word = m.group(1), m.group(2), m.group(3)
        if _continues(before, mark, abbreviations) or inside(m.start(2), spans):
            continue
        yield _lower(text, m.end(), word)


def _continues(before: str, mark: str, abbreviations: frozenset[str]) -> bool:
    """True when the mark does not end a sentence: ellipsis, abbreviation, initial, number."""
    if mark.startswith("..") or mark == "…":
        return True
    if mark != ".":
        return False
    before = before.lstrip("0123456789")
    return len(before) <= 1 or before.isdigit() or before.lower() in abbreviations


def _lower(text: str, start: int, word: str) -> Finding:
    return make("punctuation", text, start, start + len(word),
                f"Предложение начинается со строчной буквы: {quote(word)}",
                (word[:1].upper() + word[1:],))
