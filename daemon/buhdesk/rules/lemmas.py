"""Russian text to normal forms (lemmas) for rule matching, with a per-word and a per-line cache.

Each token yields a small set of *forms*: its lowercase spelling (ё→е) and its pymorphy3 normal
form, plus the parts of compounds such as «2-НДФЛ» or «з/п». Abbreviations written in capitals
(«КОСГУ», «ОСФР») are kept as they are, because the analyser would guess a wrong lemma for them.

A word never spans a line break, so a text's tokens are its lines' tokens in order; lines are
cached, which lets classification and the knowledge-base suggestion read the same letter once.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache

import pymorphy3
import pymorphy3_dicts_ru

from buhdesk.rules.memo import SizedCache

TOKEN_RE = re.compile(r"[0-9a-zа-яё]+(?:[/\-.][0-9a-zа-яё]+)*", re.IGNORECASE)
_SPLIT_RE = re.compile(r"[/\-.]")
_ABBREVIATION_MAX = 7
# Shares of the process's cache budget ([service] cache_mb): a letter's lines are read two or
# three times within a few milliseconds; words recur across letters.
_WORD_SHARE = 0.3
_TOKEN_SHARE = 0.2
_LINE_SHARE = 0.15
_LINE_CACHE_MAX_LENGTH = 2000  # longer lines (a whole HTML body on one line) are not kept


@cache
def morph_analyzer() -> pymorphy3.MorphAnalyzer:
    """The one Russian morphological analyser of the process (about 20 MB), shared by
    classification, the knowledge base, the text check and the addressing of letters. Read-only
    after loading. The dictionary's path is given: pymorphy3 would otherwise scan every installed
    package's entry points for dictionaries (about 0.1 s of the start-up)."""
    return pymorphy3.MorphAnalyzer(path=pymorphy3_dicts_ru.get_path())


@dataclass(frozen=True)
class Token:
    """One word of a text: what was written and the forms it can match as."""

    text: str
    forms: frozenset[str]
    known: bool


def normalize(word: str) -> str:
    """Lowercase and replace «ё» with «е»."""
    return word.lower().replace("ё", "е")


class Lemmatizer:
    """Cached pymorphy3 normal forms; create once and share (loading takes ~0.2 s). The caches
    are bounded by bytes, shares of ``[service] cache_mb`` (see ``rules/memo.py``)."""

    def __init__(self) -> None:
        self._morph = morph_analyzer()
        self._analysed: SizedCache[str, tuple[str, frozenset[str], bool]] = SizedCache(
            _WORD_SHARE)
        self._tokens: SizedCache[str, Token] = SizedCache(_TOKEN_SHARE)
        self._lines: SizedCache[str, tuple[Token, ...]] = SizedCache(
            _LINE_SHARE, size=_line_size)

    def _analyse(self, word: str) -> tuple[str, frozenset[str], bool]:
        found = self._analysed.get(word, None)
        if found is None:
            found = self._analyse_uncached(word)
            self._analysed.put(word, found)
        return found

    def _token(self, word: str) -> Token:
        found = self._tokens.get(word, None)
        if found is None:
            found = self._token_uncached(word)
            self._tokens.put(word, found)
        return found

    def _line_tokens(self, line: str) -> tuple[Token, ...]:
        found = self._lines.get(line, None)
        if found is None:
            found = self._line_tokens_uncached(line)
            self._lines.put(line, found)
        return found

    def lemma(self, word: str) -> str:
        """The normal form of one word."""
        return self._analyse(word)[0]

    def is_known(self, word: str) -> bool:
        """Whether the dictionary knows ``word`` (numbers count as known)."""
        return self._analyse(word)[2]

    def lemmas(self, text: str) -> list[str]:
        """Normal forms of all words of ``text``, in order."""
        return [self._analyse(m.group(0))[0] for m in TOKEN_RE.finditer(text)]

    def tokens(self, text: str) -> list[Token]:
        """All words of ``text`` with their forms, in order (the same Token for the same word)."""
        result: list[Token] = []
        for line in text.split("\n"):
            if len(line) <= _LINE_CACHE_MAX_LENGTH:
                result.extend(self._line_tokens(line))
            else:
                result.extend(self._line_tokens_uncached(line))
        return result

    def _line_tokens_uncached(self, line: str) -> tuple[Token, ...]:
        return tuple(self._token(m.group(0)) for m in TOKEN_RE.finditer(line))

    def _token_uncached(self, word: str) -> Token:
        _, forms, known = self._analyse(word)
        return Token(word, forms, known)

    def _analyse_uncached(self, word: str) -> tuple[str, frozenset[str], bool]:
        low = normalize(word)
        if _is_abbreviation(word):
            return low, frozenset({low, self._lemma_of(low), *_compound_parts(low)}), True
        if _SPLIT_RE.search(low):
            parts = _compound_parts(low)
            return low, frozenset({low, *parts, *(self._lemma_of(p) for p in parts)}), False
        lemma = self._lemma_of(low)
        known = low.isdigit() or self._morph.word_is_known(low)
        return lemma, frozenset({low, lemma}), known

    def _lemma_of(self, low: str) -> str:
        if low.isdigit():
            return low
        return normalize(self._morph.parse(low)[0].normal_form)


def _line_size(line: str, tokens: tuple[Token, ...]) -> int:
    """A cached line holds its text and a tuple of Tokens shared with the token cache."""
    return sys.getsizeof(line) + sys.getsizeof(tokens) + 160


def _is_abbreviation(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return 2 <= len(letters) <= _ABBREVIATION_MAX and all(c.isupper() for c in letters)


def _compound_parts(low: str) -> list[str]:
    parts = [p for p in _SPLIT_RE.split(low) if p]
    if len(parts) < 2:
        return []
    return [*parts, "".join(parts)]
