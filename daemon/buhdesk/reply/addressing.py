"""How buhdesk's own letters address a person: by first name and patronymic («Мария Петровна»),
never by surname plus first name and never by the address's local part.

    addressee("Ковалева Мария Петровна")  -> Addressee("Мария", "Петровна", "femn")
    addressee("mkovaleva") / addressee("Мария Ковалева") -> None
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pymorphy3

_WORD = re.compile(r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?")
_GREETING = re.compile(r"^\s*(?:уважаем|здравствуй|добр(?:ый|ое|ого)\s+(?:день|утро|вечер|дня)"
                       r"|доброго|приветствую)", re.IGNORECASE)


@dataclass(frozen=True)
class Addressee:
    first_name: str
    patronymic: str
    gender: str  # "masc" or "femn"

    def __str__(self) -> str:
        return f"{self.first_name} {self.patronymic}"


def _morph() -> pymorphy3.MorphAnalyzer:
    from buhdesk.rules.lemmas import morph_analyzer  # loaded when a letter first needs it

    return morph_analyzer()


def addressee(full_name: str | None) -> Addressee | None:
    """First name and patronymic found in a display name, or None when there are none."""
    words = _WORD.findall(full_name or "")
    morph = _morph()
    for first, second in pairwise(words):
        patronymic = {p.tag.gender for p in morph.parse(second)
                      if "Patr" in p.tag and "nomn" in p.tag and "sing" in p.tag}
        name = {p.tag.gender for p in morph.parse(first)
                if "Name" in p.tag and "nomn" in p.tag and "sing" in p.tag}
        common = {"masc", "femn"} & patronymic & name
        if len(common) == 1:
            return Addressee(first, second, common.pop())
    return None


def formal_greeting(full_name: str | None) -> str:
    """«Уважаемая Мария Петровна!», or «Добрый день!» when the name is not known."""
    who = addressee(full_name)
    if who is None:
        return "Добрый день!"
    return f"{'Уважаемая' if who.gender == 'femn' else 'Уважаемый'} {who}!"


def starts_with_greeting(text: str) -> bool:
    """The text opens with its own greeting («Уважаемая…», «Здравствуйте», «Добрый день»)."""
    return bool(_GREETING.match(text))


_NAME_WORDS = r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?(?:\s+[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?){0,2}"
_SALUTATION = (r"(?i:уважаем[а-яё]*|здравствуй(?:те)?|добр(?:ый|ое|ого)\s+(?:день|утро|вечер|дня)"
               r"|доброго\s+времени\s+суток|приветствую)")
_OPENING = re.compile(
    rf"^\s*(?:{_SALUTATION}(?:\s*,?\s*(?:{_NAME_WORDS}|(?i:коллеги)))?"
    rf"|{_NAME_WORDS}\s*,\s*(?i:здравствуй(?:те)?|добр(?:ый|ое|ого)\s+(?:день|утро|вечер|дня)))"
    r"\s*[!.,]?[ \t]*")


def drop_greeting(text: str) -> str:
    """``text`` without the greeting it opens with («Добрый день, Мария Петровна!», «Мария
    Петровна, здравствуйте!»): the letter's form adds its own. The rest of the first line stays."""
    lead = len(text) - len(text.lstrip())
    match = _OPENING.match(text, lead)
    if not match:
        return text
    rest = text[match.end():]
    line, newline, after = rest.partition("\n")
    if line.strip():
        return (line[:1].upper() + line[1:] + newline + after).strip()
    return after.strip()
