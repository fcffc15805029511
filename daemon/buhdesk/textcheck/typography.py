"""Typography of Russian business text: dashes, quotes, spaces around №, §, units, long numbers,
initials and abbreviations. Each rule can be switched off in ``style.toml`` ([typography])."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import chain

from buhdesk.textcheck.findings import Finding, make, quote
from buhdesk.textcheck.tokens import inside

Spans = list[tuple[int, int]]

RULES = ("dashes", "quotes", "spacing", "signs", "units", "thousands", "initials",
         "abbreviations", "short_forms", "ranges", "nbsp")
DEFAULT_OFF = frozenset({"short_forms", "nbsp"})

NBSP = "\u00a0"
_SPACE = "[ \u00a0\u202f]"
_DASH = re.compile(r"(?:(?<=[^\W\d_])|(?<=[»\")])) (?:-{1,2}|−) (?=[^\W_«\"(])"
                   r"|(?<=[^\W_])--(?=[^\W_])")
_SIGN = re.compile(r"([№§])(?=\d)")
_UNIT = re.compile(r"(?<![\w.,])(\d(?:[\d \u00a0\u202f]*\d)?(?:,\d+)?)"
                   r"(руб\b\.?|р(?:\.|\b)|₽|коп\b\.?|тыс\b\.?|млн\b\.?"
                   r"|млрд\b\.?|кг\b|км\b|гг?\.|шт\b\.?|чел\b\.?|дн\b\.?)")
_DATE_YEAR = re.compile(r"(?<![\w.])(\d{1,2}\.\d{1,2}\.\d{4})(гг?\.)")
_MONEY_WORD = r"(?:руб|р\.|₽|рубл|тыс|коп|млн|млрд)"
_THOUSANDS = re.compile(rf"(?<![\w.,/№-])(\d{{5,}})(,\d+)?(?={_SPACE}?{_MONEY_WORD})")
_INITIALS = re.compile(r"(?<![\w.])([А-ЯЁ])\.([А-ЯЁ])\.(?: ?)(?=[А-ЯЁ][а-яё])"
                       r"|(?<=[а-яё] )([А-ЯЁ])\.([А-ЯЁ])\.(?![А-ЯЁа-яё])")
_GLUED_ABBREVIATION = re.compile(r"(?<![\w.])(каб|ст|п|пп|ч|тел|д|г|ул|разд|гл|прил|абз|подп)"
                                 r"\.(?=\d)")
_SHORT_FORMS = re.compile(r"(?<![\w.])(т)\.([екдпчн])\.", re.IGNORECASE)
_RANGE = re.compile(r"(?<![\w-])(январ[ьяе]|феврал[ьяе]|март[ае]?|апрел[ьяе]|ма[йяе]|июн[ьяе]"
                    r"|июл[ьяе]|август[ае]?|сентябр[ьяе]|октябр[ьяе]|ноябр[ьяе]|декабр[ьяе]"
                    r"|понедельник|вторник|сред[аы]|четверг|пятниц[аы]|суббот[аы]"
                    r"|воскресень[ея])-(?=(?:январ|феврал|март|апрел|ма[йя]|июн|июл|август"
                    r"|сентябр|октябр|ноябр|декабр|понедельник|вторник|сред|четверг|пятниц"
                    r"|суббот|воскресень))", re.IGNORECASE)
_NBSP_WANTED = re.compile(r"(?<=[№§]) |(?<=\d) (?=(?:руб|р\.|коп|тыс|млн|млрд|%))"
                          r"|(?<![\w.])(?<=[А-ЯЁ]\.) (?=[А-ЯЁ])")


def check(text: str, spans: Spans, rules: frozenset[str]) -> list[Finding]:
    """All typography findings allowed by ``rules``."""
    checks: dict[str, Callable[[], Iterator[Finding]]] = {
        "dashes": lambda: _dashes(text, spans),
        "signs": lambda: _signs(text, spans),
        "units": lambda: chain(_units(text, spans), _dates(text, spans)),
        "thousands": lambda: _thousands(text, spans),
        "initials": lambda: _initials(text, spans),
        "abbreviations": lambda: _abbreviations(text, spans),
        "short_forms": lambda: _short_forms(text, spans),
        "ranges": lambda: _ranges(text, spans),
        "nbsp": lambda: _nbsp(text, spans),
    }
    found: list[Finding] = []
    for name, rule in checks.items():
        if name in rules:
            found += [f for f in rule()
                      if not any(f.start < g.end and g.start < f.end for g in found)]
    return found


def _dashes(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _DASH.finditer(text):
        if inside(m.start(), spans):
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        if not text[line_start:m.start()].strip():
            continue  # a list item marker
        start = m.start() + (1 if m.group().startswith(" ") else 0)
        end = m.end() - (1 if m.group().endswith(" ") else 0)
        yield make("typography", text, start, end,
                   "Между словами ставится тире «—» с пробелами, а не дефис", ("—",))


def _signs(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _SIGN.finditer(text):
        if inside(m.start(), spans):
            continue
        yield make("typography", text, m.start(), m.end() + 1,
                   f"После знака {quote(m.group(1))} перед числом ставится пробел",
                   (f"{m.group(1)} {text[m.end()]}",))


def _units(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _UNIT.finditer(text):
        if inside(m.start(), spans):
            continue
        number, unit = m.group(1), m.group(2)
        fixed = f"{_grouped(number)} {_full_unit(unit)}"
        yield make("typography", text, m.start(), m.end(),
                   "Между числом и единицей измерения или сокращением ставится пробел", (fixed,))


def _dates(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _DATE_YEAR.finditer(text):
        if not inside(m.start(), spans):
            yield make("typography", text, m.start(), m.end(),
                       "Между датой и «г.» ставится пробел", (f"{m.group(1)} {m.group(2)}",))


def _full_unit(unit: str) -> str:
    if unit in ("р", "р."):
        return "руб."
    if unit in ("руб", "коп", "тыс", "шт", "чел", "дн"):
        return unit + "."
    return unit


def _grouped(number: str) -> str:
    digits, _, fraction = number.strip().partition(",")
    plain = re.sub(r"\D", "", digits)
    if len(plain) < 5:
        return number.strip()
    groups = f"{int(plain):,}".replace(",", " ")
    return groups + (f",{fraction}" if fraction else "")


def _thousands(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _THOUSANDS.finditer(text):
        if inside(m.start(), spans):
            continue
        fixed = _grouped(m.group(1) + (m.group(2) or ""))
        yield make("typography", text, m.start(), m.end(),
                   "В числах от 10 000 разряды отделяются пробелом", (fixed,))


def _initials(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _INITIALS.finditer(text):
        if inside(m.start(), spans):
            continue
        if m.group(1):  # «И.И.Иванов», «И.И. Иванов»
            surname = re.match(r"[А-ЯЁ][а-яё-]+", text[m.end():])
            stop = m.end() + (surname.end() if surname else 0)
            fixed = f"{m.group(1)}. {m.group(2)}. {surname.group() if surname else ''}".strip()
        else:  # «Иванов И.И.»
            stop, fixed = m.end(), f"{m.group(3)}. {m.group(4)}."
        yield make("typography", text, m.start(), stop,
                   "Инициалы пишутся через пробел: «И. И. Иванов»", (fixed,))


def _abbreviations(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _GLUED_ABBREVIATION.finditer(text):
        if not inside(m.start(), spans):
            yield make("typography", text, m.start(), m.end() + 1,
                       "После сокращения с точкой перед числом ставится пробел",
                       (f"{m.group(1)}. {text[m.end()]}",))


def _short_forms(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _SHORT_FORMS.finditer(text):
        if not inside(m.start(), spans):
            yield make("typography", text, m.start(), m.end(),
                       "В сокращениях «т. е.», «т. к.», «т. д.» ставится пробел",
                       (f"{m.group(1)}. {m.group(2)}.",))


def _ranges(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _RANGE.finditer(text):
        if not inside(m.start(), spans):
            yield make("typography", text, m.end() - 1, m.end(),
                       "Между названиями месяцев или дней в значении «от — до» ставится тире",
                       ("—",))


def _nbsp(text: str, spans: Spans) -> Iterator[Finding]:
    for m in _NBSP_WANTED.finditer(text):
        if not inside(m.start(), spans):
            yield make("typography", text, m.start(), m.end(),
                       "Здесь нужен неразрывный пробел, чтобы строка не разрывалась", (NBSP,))
