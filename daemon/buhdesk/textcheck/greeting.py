"""The greeting line: «Уважаемый Иван Петрович!» / «Уважаемая Мария Петровна!» /
«Уважаемые коллеги!»."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pymorphy3

from buhdesk.rules.memo import sized_memo
from buhdesk.textcheck.findings import Finding, make, quote
from buhdesk.textcheck.lexicon import Lexicon

_LINE = re.compile(r"^[ \t]*(уважаем[^\W\d_]*)(?P<comma>[ \t]*,)?[ \t]*(?P<names>[^!,.;:\n]*?)"
                   r"[ \t]*(?P<end>[!,.;:]|$)", re.IGNORECASE | re.MULTILINE)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_FORMS = {"уважаемый": "masc", "уважаемая": "femn", "уважаемые": "plur"}
_ADJECTIVE = {"masc": "Уважаемый", "femn": "Уважаемая"}


def check(text: str, lexicon: Lexicon) -> list[Finding]:
    """Findings for every line that starts with «Уважаем…»."""
    return [f for m in _LINE.finditer(text) for f in _check_line(text, m, lexicon)]


def _check_line(text: str, m: re.Match[str], lexicon: Lexicon) -> Iterator[Finding]:
    adjective = m.group(1)
    form = _FORMS.get(adjective.lower())
    if form is None:
        yield make("greeting", text, m.start(1), m.end(1),
                   f"Обращение начинается с «Уважаемый», «Уважаемая» или «Уважаемые», "
                   f"а написано {quote(adjective)}")
    elif adjective[0].islower():
        yield make("greeting", text, m.start(1), m.end(1),
                   "Обращение пишется с заглавной буквы", (adjective.capitalize(),))
    if m.group("comma"):
        yield make("greeting", text, m.start("comma"), m.end("comma"),
                   f"После {quote(adjective)} запятая не ставится", ("",))
    names = [(w.group(), m.start("names") + w.start()) for w in _WORD.finditer(m.group("names"))]
    if form in ("masc", "femn"):
        yield from _check_names(text, form, m, names, lexicon)
    if names:
        yield from _check_end(text, m, names)


def _check_names(text: str, form: str, m: re.Match[str], names: list[tuple[str, int]],
                 lexicon: Lexicon) -> Iterator[Finding]:
    personal = [(w, pos) for w, pos in names[:2] if _person_gender(w, lexicon) is not None
                or lexicon.is_name(w)]
    for word, pos in personal:
        if word[0].islower():
            yield make("greeting", text, pos, pos + len(word),
                       f"Имя и отчество пишутся с заглавной буквы: {quote(word)}",
                       (word.capitalize(),))
    genders = {g for w, _ in personal if (g := _person_gender(w, lexicon)) is not None}
    if len(genders) == 1 and form not in genders:
        right = _ADJECTIVE[genders.pop()]
        yield make("greeting", text, m.start(1), m.end(1),
                   f"Обращение не согласовано с именем по роду: нужно {quote(right)}", (right,))
    if len(personal) == 1 and len(names) == 1:
        word, pos = personal[0]
        yield make("greeting", text, pos, pos + len(word),
                   "В обращении нужны имя и отчество")


def _check_end(text: str, m: re.Match[str], names: list[tuple[str, int]]) -> Iterator[Finding]:
    end = m.group("end")
    if end == "!":
        return
    if end:
        yield make("greeting", text, m.start("end"), m.end("end"),
                   f"После обращения ставится «!», а не {quote(end)}", ("!",))
        return
    word, pos = names[-1]
    yield make("greeting", text, pos, pos + len(word),
               "После обращения нужен восклицательный знак", (f"{word}!",))


def _person_gender(word: str, lexicon: Lexicon) -> str | None:
    """Gender of a first name or patronymic when the dictionary is sure, else None."""
    return _gender(lexicon.morph, word.capitalize())


@sized_memo(0.03)
def _gender(morph: pymorphy3.MorphAnalyzer, word: str) -> str | None:
    genders = set()
    for parse in morph.parse(word):
        grammemes = parse.tag.grammemes
        if {"Name", "Patr"} & grammemes and "nomn" in grammemes and parse.tag.gender:
            genders.add(parse.tag.gender)
    return genders.pop() if len(genders) == 1 else None
