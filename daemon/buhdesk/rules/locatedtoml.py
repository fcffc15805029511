"""One admin-edited TOML file whose errors point at a file, a key and a line.

Used by the production calendar overrides and the deadline rules. Every error is in Russian and
names the file, the dotted key and, where it can be seen, the line, so an administrator fixes the
file without reading code. Syntax errors from ``tomllib`` are retold with their line and column.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buhdesk.rules.tomlerrors import explain_toml_error, located, shown_name



@dataclass(frozen=True)
class FileProblem:
    """One finding for ``buhdesk check``: the file, the line if known, a Russian message."""

    file: str
    line: int | None
    message: str


class RuleFileError(Exception):
    """A rules file cannot be used; the message names the file, the key and the line if known.

    ``problems`` holds the same finding as a :class:`FileProblem`, for reports that list
    findings of many files.
    """

    def __init__(self, file: Path | str, key: str, problem: str, line: int | None = None) -> None:
        self.file, self.key, self.problem, self.line = str(file), key, problem, line
        message = f"[{key}] {problem}" if key else problem
        self.problems = [FileProblem(self.file, line, message)]
        super().__init__(f"{located(shown_name(file), line)}: {message}")


@dataclass(frozen=True)
class LocatedToml:
    """A parsed TOML file together with its text, to point errors at lines."""

    path: Path
    text: str
    data: dict[str, Any]

    def error(self, key: str, problem: str) -> RuleFileError:
        """An error about a dotted key (``years.2027.days_off``), with its line if found."""
        return RuleFileError(self.path, key, problem, self.line_of(key))

    def line_of(self, key: str) -> int | None:
        """The 1-based line where a dotted key is written: its own header, or the key line."""
        parts = key.split(".")
        own_header = _find_header(self.text, parts)
        if own_header:
            return own_header
        parent = _find_header(self.text, parts[:-1])
        leaf = re.compile(rf"^\s*\"?{re.escape(parts[-1])}\"?\s*=")
        lines = self.text.splitlines()
        for index in range(parent or 0, len(lines)):
            if parent and lines[index].lstrip().startswith("["):
                break  # the next table begins: the key is not in the parent table
            if leaf.match(lines[index]):
                return index + 1
        return parent


def _find_header(text: str, parts: list[str]) -> int | None:
    """The 1-based line of the table header ``[a.b]`` (quoted parts allowed), if present."""
    if not parts:
        return None
    pattern = r"\.".join(rf"\s*\"?{re.escape(p)}\"?\s*" for p in parts)
    header = re.compile(rf"^\s*\[{pattern}\]\s*(#.*)?$")
    for number, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            return number
    return None


def read_located_toml(path: Path) -> LocatedToml:
    """Parse ``path``; a missing file, bad encoding or bad syntax raise :class:`RuleFileError`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise RuleFileError(path, "", "файл не найден") from e
    except UnicodeDecodeError as e:
        raise RuleFileError(path, "", "файл должен быть в кодировке UTF-8") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _syntax_error(path, e) from e
    return LocatedToml(path, text, data)


def _syntax_error(path: Path, error: tomllib.TOMLDecodeError) -> RuleFileError:
    syntax = explain_toml_error(error)
    return RuleFileError(path, "", syntax.message, syntax.line)
