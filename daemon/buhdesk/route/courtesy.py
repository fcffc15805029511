"""Courtesy replies: «Спасибо большое!», «ок», «получила» after a request was closed.

Such a letter is recorded on the request and reopens nothing: no notice goes to an accountant.
A letter counts as courtesy when it asks nothing (no question mark), holds one of the configured
phrases (``[closure] thanks``), says little else (at most ``thanks_max_other_words`` words besides
those phrases and greetings), and the need classifier finds no need in it (``other`` or
``feedback``). Anything more is a follow-up as before: it reopens the request or opens a linked one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

COURTESY_NEEDS = frozenset({"other", "feedback"})

# Words that carry no request of their own beside the thanks: greetings, addressing, politeness.
_FILLER = frozenset([
    "добрый", "доброе", "день", "утро", "вечер", "здравствуйте", "привет", "уважаемая",
    "уважаемый", "уважаемые", "коллеги", "коллега", "вам", "вас", "тебе", "все", "всё",
    "очень", "большое", "огромное", "за", "и", "а", "же", "вот", "ещё", "еще", "раз", "помощь",
    "ответ", "ответы", "оперативность", "оперативно", "быстро", "быстрый", "информацию",
    "информация", "с", "уважением", "всего", "доброго", "хорошего",
])
_WORD = re.compile(r"[^\W\d_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


def _phrases(thanks: Sequence[str]) -> list[list[str]]:
    return sorted((_words(p) for p in thanks if _words(p)), key=len, reverse=True)


def is_courtesy(text: str, *, thanks: Sequence[str], max_other_words: int,
                need: str | None) -> bool:
    """Whether the sender's own ``text`` (quote and signature removed) is only courtesy."""
    if "?" in text or need not in COURTESY_NEEDS:
        return False
    words = _words(text)
    found, rest, i = False, [], 0
    phrases = _phrases(thanks)
    while i < len(words):
        match = next((p for p in phrases if words[i:i + len(p)] == p), None)
        if match is not None:
            found, i = True, i + len(match)
            continue
        if words[i] not in _FILLER.union(w.replace("ё", "е") for w in _FILLER):
            rest.append(words[i])
        i += 1
    return found and len(rest) <= max_other_words
