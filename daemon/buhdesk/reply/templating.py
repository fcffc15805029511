"""Rendering the letters people read from the administrators' Jinja2 templates.

Templates are sandboxed (administrators edit them) and strict: a missing variable is an error found
by `buhdesk check`, never a blank in a letter. Each letter template defines two blocks, ``subject``
and ``body``.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import SandboxedEnvironment

from buhdesk.reply.addressing import addressee

MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip

# The letter templates buhdesk renders, with example variables that `buhdesk check` renders them
# with.
LETTERS = ("ack", "notice", "followup", "answer", "returned", "admin", "reminder", "note",
           "flood", "bounce")


class TemplateProblem(Exception):
    """A template failed to load or render; the message names the template."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def _format_day(value: date | datetime, tz: ZoneInfo) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(tz).date()
    return f"{value.day} {MONTHS_GENITIVE[value.month - 1]} {value.year} г."


def _format_datetime(value: datetime, tz: ZoneInfo) -> str:
    local = value.astimezone(tz)
    return f"{_format_day(local, tz)} {local:%H:%M}"


def _undefined(filename: str, template: Template, e: UndefinedError) -> str:
    """«file:line: переменная «x» не определена» from Jinja's English error and traceback."""
    line = next((template.get_corresponding_lineno(f.lineno or 0)
                 for f in reversed(traceback.extract_tb(e.__traceback__))
                 if f.filename == template.filename), None)
    m = re.search(r"'([^']+)' is undefined", e.message or "")
    name = m[1] if m else (e.message or "?")
    return f"{filename}:{line or '?'}: переменная «{name}» не определена"


class Templates:
    def __init__(self, directory: Path, tz: ZoneInfo) -> None:
        self.directory = Path(directory)
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(self.directory)),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["day"] = lambda v: _format_day(v, tz)
        self.env.filters["datetime"] = lambda v: _format_datetime(v, tz)
        self.env.filters["addressee"] = lambda v: str(addressee(v) or "")

    def render(self, name: str, **variables: Any) -> Rendered:
        """Render ``name.txt.j2`` into a subject and a body."""
        filename = f"{name}.txt.j2"
        try:
            template = self.env.get_template(filename)
            ctx = template.new_context(variables)
            subject = "".join(template.blocks["subject"](ctx)).strip()
            body = "".join(template.blocks["body"](ctx)).strip() + "\n"
        except KeyError as e:
            raise TemplateProblem(f"{filename}: нет блока {e}") from e
        except UndefinedError as e:
            raise TemplateProblem(_undefined(filename, template, e)) from e
        except TemplateSyntaxError as e:
            raise TemplateProblem(
                f"{filename}:{e.lineno}: ошибка синтаксиса шаблона: {e.message}") from e
        except TemplateError as e:
            raise TemplateProblem(f"{filename}: ошибка шаблона: {e}") from e
        return Rendered(subject=" ".join(subject.split()), body=body)
