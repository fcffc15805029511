"""An ``argparse`` parser that speaks Russian to administrators: its error messages, usage line and
help headings (argparse's own texts are English)."""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

# argparse's messages (Python 3.11) -> Russian; groups keep the names and values it reports.
_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"^the following arguments are required: (.*)$", r"не указаны обязательные параметры: \1"),
    (r"^unrecognized arguments: (.*)$", r"неизвестные параметры: \1"),
    (r"^argument (.+?): invalid choice: (.+?) \(choose from (.*)\)$",
     r"параметр \1: недопустимое значение \2 (допустимы: \3)"),
    (r"^argument (.+?): invalid (\w+) value: (.*)$", r"параметр \1: неверное значение \3"),
    (r"^argument (.+?): expected one argument$", r"параметр \1: нужно указать значение"),
    (r"^argument (.+?): expected at least one argument$",
     r"параметр \1: нужно указать хотя бы одно значение"),
    (r"^argument (.+?): expected at most one argument$",
     r"параметр \1: можно указать не больше одного значения"),
    (r"^argument (.+?): not allowed with argument (.*)$",
     r"параметр \1 нельзя указывать вместе с \2"),
    (r"^argument (.+?): ignored explicit argument (.*)$",
     r"параметр \1: значение \2 не нужно"),
    (r"^ambiguous option: (.+?) could match (.*)$",
     r"неоднозначный параметр \1: подходят \2"),
    (r"^one of the arguments (.*) is required$", r"нужно указать один из параметров: \1"),
    (r"^argument (.+?): (.*)$", r"параметр \1: \2"),
))


def russian_error(message: str) -> str:
    """argparse's error message in Russian (a message already in Russian is kept)."""
    for pattern, replacement in _ERRORS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


class _RussianHelp(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]  # argparse's own signature, untyped in typeshed
        super().add_usage(usage, actions, groups, "использование: " if prefix is None else prefix)


class RussianArgumentParser(argparse.ArgumentParser):
    """Errors, usage and help headings in Russian; sub-parsers are of the same class."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]  # all of ArgumentParser's arguments, passed on
        kwargs.setdefault("formatter_class", _RussianHelp)
        kwargs.setdefault("add_help", True)
        add_help = kwargs.pop("add_help")
        kwargs["add_help"] = False  # added below, with a Russian help text
        super().__init__(*args, **kwargs)
        self._positionals.title = "позиционные аргументы"
        self._optionals.title = "параметры"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                              help="показать эту справку и выйти")

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: ошибка: {russian_error(message)}\n")
