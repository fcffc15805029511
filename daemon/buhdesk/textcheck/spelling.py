"""Spelling findings: words that neither the dictionaries, the glossary nor the names know."""

from __future__ import annotations

import re
from collections.abc import Iterable

from buhdesk.textcheck.findings import Finding, make, quote
from buhdesk.textcheck.lexicon import Lexicon
from buhdesk.textcheck.suggest import RU, edits1
from buhdesk.textcheck.tokens import Word, inside, is_cyrillic, is_latin

_ROMAN = re.compile(r"[IVXLCDM]+")
_LOOKALIKE_TO_RU = str.maketrans("aeopcxyATEOPCXKMHBaeopcxy", "аеорсхуАТЕОРСХКМНВаеорсху")
_LOOKALIKE_TO_EN = str.maketrans("аеорсхуАТЕОРСХКМНВ", "aeopcxyATEOPCXKMHB")
ABBREVIATION_MAX = 6


_QUOTED = re.compile(r"«[^«»\n]*(?:«[^«»\n]*»[^«»\n]*)*»|\"[^\"\n]*\"")
_ORGANISATION_FORMS = frozenset({"ооо", "оао", "зао", "пао", "ао", "ип", "огбу", "огку", "огау",
                                 "гку", "гбу", "гау", "муп", "гуп", "фгуп", "мбу", "мку", "нко",
                                 "ано", "фгбу", "фку"})


def check(text: str, words: Iterable[Word], lexicon: Lexicon,
          abbreviations: frozenset[str]) -> list[Finding]:
    """One finding per unknown word, with ranked suggestions; «каб.», «тел.» and the like pass.
    Capitalised words of names in quotes («Техсервис-М») and after ООО, ОГБУ… are names."""
    findings = []
    quoted = [m.span() for m in _QUOTED.finditer(text)]
    previous = ""
    for word in words:
        after_form, previous = previous in _ORGANISATION_FORMS, word.text.lower()
        if text[word.end:word.end + 1] == "." and word.text.lower() in abbreviations:
            continue
        finding = _check_word(text, word, lexicon) or _double_n(text, word, lexicon)
        if finding is None or word.text[:1].isupper() and (
                after_form or inside(word.start, quoted) or _beside_initials(text, word)
                or _before_name(text, word, lexicon)):
            continue
        findings.append(finding)
    return findings


_DOUBLE_N = re.compile(r"[а-яё]{3,}нн[аоы]", re.IGNORECASE)
# short adjectives that keep «нн» («претензия обоснованна»): not participles
_ADJECTIVE_NN = ("обоснованн", "ограниченн", "образованн", "воспитанн", "организованн",
                 "сдержанн", "рассеянн", "взволнованн", "откровенн", "определенн", "неожиданн",
                 "естественн", "туманн", "длинн", "целенаправленн", "уравновешенн",
                 "избалованн", "изысканн", "искренн", "самоуверенн", "исполненн")


def _double_n(text: str, word: Word, lexicon: Lexicon) -> Finding | None:
    """«перечисленны», «рассчитанно»: a short participle is written with one «н»."""
    low = word.text.lower().replace("ё", "е")
    if not _DOUBLE_N.fullmatch(low) or low.startswith(_ADJECTIVE_NN):
        return None
    single = word.text[:-3] + word.text[-2:]
    if not lexicon.morph.word_is_known(single.lower()) or \
            not any(p.tag.POS == "PRTS" for p in lexicon.morph.parse(single.lower())):
        return None
    return make("spelling", text, word.start, word.end,
                f"В кратком причастии пишется одна «н»: {quote(single)}", (single,))


_INITIALS_AFTER = re.compile(r"[ \t\u00a0]+[А-ЯЁ]\.[ \t\u00a0]?[А-ЯЁ]\.")
_INITIALS_BEFORE = re.compile(r"[А-ЯЁ]\.[ \t\u00a0]?[А-ЯЁ]\.[ \t\u00a0]+$")
_TWO_WORDS = re.compile(r"[ \t\u00a0]+([А-ЯЁ][а-яё]+)[ \t\u00a0]+([А-ЯЁ][а-яё]+)")


def _beside_initials(text: str, word: Word) -> bool:
    """A surname next to initials: «Жмыхарева Т. М.», «Т. М. Жмыхаревой»."""
    return bool(_INITIALS_AFTER.match(text, word.end)
                or _INITIALS_BEFORE.search(text[max(0, word.start - 8):word.start]))


def _before_name(text: str, word: Word, lexicon: Lexicon) -> bool:
    """A surname before a first name and patronymic: «Жмыхаревой Татьяне Михайловне»."""
    m = _TWO_WORDS.match(text, word.end)
    if m is None:
        return False
    first = {g for p in lexicon.morph.parse(m.group(1)) for g in p.tag.grammemes}
    second = {g for p in lexicon.morph.parse(m.group(2)) for g in p.tag.grammemes}
    return "Name" in first and "Patr" in second


def _check_word(text: str, word: Word, lexicon: Lexicon) -> Finding | None:
    letters = len(word.text) if word.text.isalpha() else sum(ch.isalpha() for ch in word.text)
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
        near = tuple(sorted(t for t in set(edits1(word.text, RU.upper()))
                            if t in lexicon.exact_terms))
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
