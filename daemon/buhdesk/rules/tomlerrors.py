"""``tomllib``'s syntax errors retold in Russian, with a hint what to fix, and the one way rule
files are named in messages (``rules/staff.toml:12``)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_END = re.compile(r"\s*\(at end of document\)")

# tomllib's message (a regular expression over its text) -> what it means and what to do.
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), m) for p, m in (
    (r"^Illegal character '\\n'", "строка в кавычках не закрыта до конца строки: поставьте "
     "закрывающую кавычку (многострочный текст пишется в тройных кавычках \"\"\"…\"\"\")"),
    (r"^Illegal character", "недопустимый символ: уберите его или заключите текст в кавычки"),
    (r"^Unescaped '\\' in a string", "обратная косая черта «\\» в строке: удвойте её («\\\\») "
     "или возьмите строку в одинарные кавычки"),
    (r"^Unterminated string|^Expected \"'\"|^Expected '\"'",
     "строка не закрыта: поставьте закрывающую кавычку"),
    (r"^Unclosed array", "список не закрыт: поставьте «]» после последнего элемента"),
    (r"^Unclosed inline table", "таблица в фигурных скобках не закрыта: поставьте «}»"),
    (r"^Expected '\]' at the end of a table declaration|^Expected '\]\]'",
     "заголовок таблицы не закрыт: поставьте «]» (или «]]» для [[…]])"),
    (r"^Cannot overwrite a value", "ключ указан дважды: оставьте одно значение"),
    (r"^Cannot declare \((.*)\) twice", "таблица объявлена дважды: объедините повторяющиеся "
     "разделы (для списка таблиц пишите [[…]])"),
    (r"^Expected newline or end of document after a statement",
     "после значения лишний текст: одна строка — одна пара «ключ = значение»; текст берите в "
     "кавычки, комментарий начинайте с «#», дату пишите как ГГГГ-ММ-ДД"),
    (r"^Invalid value", "значение не распознано: текст берите в кавычки, логическое значение — "
     "true или false, число — без кавычек и ведущих нулей"),
    (r"^Invalid statement", "строка не похожа на «ключ = значение» или заголовок [таблицы]"),
    (r"^Invalid initial character for a key part|^Invalid key",
     "недопустимое имя ключа: используйте латинские буквы, цифры, «_» и «-» или кавычки"),
    (r"^Expected '=' after a key", "после ключа нужен знак «=» и значение"),
    (r"^Unclosed", "не закрыта скобка или кавычка"),
))


@dataclass(frozen=True)
class TomlSyntax:
    """Where the parser stopped (None at the end of the file) and a Russian explanation."""

    line: int | None
    column: int | None
    message: str


def explain_toml_error(error: tomllib.TOMLDecodeError) -> TomlSyntax:
    """The Russian account of a ``tomllib`` error: what is wrong, the column, what to fix."""
    text = str(error)
    found = _POSITION.search(text)
    at_end = _END.search(text) is not None
    detail = _END.sub("", _POSITION.sub("", text)).strip()
    meaning = next((m for pattern, m in _MESSAGES if pattern.search(detail)),
                   f"ошибка разбора (сообщение разборщика: {detail})")
    if found:
        line, column = int(found.group(1)), int(found.group(2))
        return TomlSyntax(line, column, f"ошибка синтаксиса TOML в столбце {column}: {meaning}")
    where = " в конце файла" if at_end else ""
    return TomlSyntax(None, None, f"ошибка синтаксиса TOML{where}: {meaning}")


def shown_name(path: Path | str) -> str:
    """A rule file as every message names it: its folder and name (``rules/staff.toml``)."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def located(file: str, line: int | None) -> str:
    """``rules/staff.toml:12`` (or the name alone when the line is not known)."""
    return f"{file}:{line}" if line else file
