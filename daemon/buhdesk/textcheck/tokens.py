"""Splitting a text into words, and the spans (addresses, numbers, file names) that are not
words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Spans that are never spell-checked nor punctuation-checked inside.
_PROTECTED = re.compile(
    r"""
    (?:https?|ftp)://[^\s<>«»"]+[^\s<>«»".,;:!?)]       # URL with a scheme
    | www\.[^\s<>«»"]+[^\s<>«»".,;:!?)]                 # URL without a scheme
    | [\w.+-]+@[\w-]+(?:\.[\w-]+)+                      # e-mail address
    | (?<![\w@])(?:[\w-]+(?:\.[\w-]+)*)?\.(?:ru|рф|su|com|org|net|gov|info|pdf|docx?|xlsx?|xml|zip
       |rar|rtf|txt|odt|ods|csv|jpe?g|png|tiff?|sig|p7s|eml)\b   # domain or file name
    """,
    re.VERBOSE | re.IGNORECASE,
)

_WORD = re.compile(r"[^\W_]+(?:[-‐'’][^\W_]+)*")
_CYR = re.compile(r"[а-яё]", re.IGNORECASE)
_LAT = re.compile(r"[a-z]", re.IGNORECASE)


@dataclass(frozen=True)
class Word:
    """A word token and its place in the text."""

    text: str
    start: int
    end: int

    @property
    def has_digit(self) -> bool:
        # letters only (most words): no digit, without a look at each character
        return not self.text.isalpha() and any(ch.isdigit() for ch in self.text)

    @property
    def is_caps(self) -> bool:
        if self.text.isalpha() and not self.text.isupper():  # some letter is not a capital
            return False
        letters = [ch for ch in self.text if ch.isalpha()]
        return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def protected_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of URLs, e-mail addresses, domains and file names."""
    return [m.span() for m in _PROTECTED.finditer(text)]


def inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    """True when ``pos`` falls inside one of ``spans``."""
    return any(start <= pos < end for start, end in spans)


def words(text: str, spans: list[tuple[int, int]]) -> Iterator[Word]:
    """Word tokens outside the protected spans."""
    for m in _WORD.finditer(text):
        if not spans or not inside(m.start(), spans):
            yield Word(m.group(), m.start(), m.end())


def is_cyrillic(word: str) -> bool:
    return bool(_CYR.search(word))


def is_latin(word: str) -> bool:
    return bool(_LAT.search(word))
