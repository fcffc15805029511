"""Sentences as token lists (words and marks with offsets), and cached word analyses for the rules
that need grammar (commas, style)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import pymorphy3

from buhdesk.textcheck.tokens import inside

_TOKEN = re.compile(r"[^\W_]+(?:[-‐][^\W_]+)*|\n|[^\w\s]", re.UNICODE)
_ENDS = frozenset(".!?…")
_OPEN_QUOTES = frozenset("«„“")
_CLOSE_QUOTES = frozenset("»“”")


class Tok(NamedTuple):
    """A word or a punctuation mark in a sentence."""

    text: str
    start: int
    end: int
    word: bool
    quoted: bool = False
    low: str = ""  # lower case, ё as е


def _tok(text: str, start: int, end: int, word: bool, quoted: bool) -> Tok:
    return Tok(text, start, end, word, quoted, text.lower().replace("ё", "е"))


@dataclass(frozen=True)
class Info:
    """What the rules need to know of one word form: every reading the dictionary gives."""

    pos: str                      # part of speech of the most likely reading ("" if none)
    readings: tuple[tuple[str, frozenset[str]], ...]  # (POS, grammemes), most likely first

    def has(self, pos: str, *grammemes: str) -> bool:
        return any(p == pos and all(g in gs for g in grammemes) for p, gs in self.readings)

    def first(self, *grammemes: str) -> bool:
        return bool(self.readings) and all(g in self.readings[0][1] for g in grammemes)


class Grammar:
    """pymorphy3 readings per lower-cased word, cached (answers repeat their words a lot)."""

    def __init__(self, morph: pymorphy3.MorphAnalyzer) -> None:
        self._morph = morph
        self._cache: dict[str, Info] = {}

    def __call__(self, word: str) -> Info:
        key = word.lower()
        info = self._cache.get(key)
        if info is None:
            readings = tuple((tag.POS or "", tag.grammemes) for tag in self._morph.tag(key))
            info = Info(readings[0][0] if readings else "", readings)
            self._cache[key] = info
        return info


def sentences(text: str, spans: list[tuple[int, int]]) -> Iterator[list[Tok]]:
    """Token lists of sentences; a sentence also ends at a line break. Tokens inside protected
    spans (addresses, file names) are left out; tokens inside quotes are marked ``quoted``."""
    current: list[Tok] = []
    depth = 0
    straight = False
    for m in _TOKEN.finditer(text):
        piece = m.group()
        if spans and inside(m.start(), spans):
            continue
        if piece == "\n":
            if current:
                yield current
            current, depth, straight = [], 0, False
            continue
        word = piece[0].isalnum()
        if piece in _OPEN_QUOTES and not (piece == "“" and depth):
            depth += 1
        elif piece in _CLOSE_QUOTES and depth:
            depth -= 1
        elif piece == '"':
            straight = not straight
        current.append(_tok(piece, m.start(), m.end(), word, bool(depth) or straight))
        initial = piece == "." and len(current) > 1 and len(current[-2].text) == 1 \
            and current[-2].text.isupper()
        if piece in _ENDS and not depth and not initial and _sentence_ends(text, m.end()):
            yield current
            current = []
    if current:
        yield current


def _sentence_ends(text: str, pos: int) -> bool:
    rest = text[pos:pos + 3]
    stripped = rest.lstrip(" \t\u00a0»\")")
    return not rest or rest[0] in "\n" or (rest[0] in " \t\u00a0" and
                                          (not stripped or stripped[0].isupper()))
