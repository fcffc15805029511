"""Collecting every problem in a set of admin-edited rule files, each with its file and line.

``tomllib`` gives values without positions, so :class:`TomlDoc` scans the text once and maps each
table (``[settings]``, the n-th ``[[rule]]`` with its sub-tables) to its lines; a problem about a
key or a value is then reported at the line where it is written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buhdesk.rules.locatedtoml import RuleFileError, read_located_toml
from buhdesk.rules.tomlerrors import located, shown_name

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")

Owner = tuple[str, int | None]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rules file; ``message`` is in Russian."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{located(self.file, self.line)}: {self.message}"


class RuleSetError(Exception):
    """The rules could not be loaded; ``problems`` lists everything found, not only the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class Problems:
    """Collects problems while a whole set of files is checked."""

    items: list[Problem] = field(default_factory=list)

    def add(self, file: str, line: int | None, message: str) -> None:
        self.items.append(Problem(file, line, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise RuleSetError(self.items)


class TomlDoc:
    """A parsed TOML file that can say on which line a table, key or value is written."""

    def __init__(self, path: Path, text: str, data: dict[str, Any]) -> None:
        self.path = path
        self.name = shown_name(path)
        self.data = data
        self._lines = text.splitlines()
        self._owners = _owners_by_line(self._lines)

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self._lines)

    def table_line(self, owner: Owner) -> int | None:
        for number, line_owner in enumerate(self._owners, start=1):
            if line_owner == owner:
                return number
        return None

    def key_line(self, owner: Owner, key: str) -> int | None:
        pattern = re.compile(rf"^\s*(?:\"{re.escape(key)}\"|{re.escape(key)})\s*=")
        header = re.compile(rf"^\s*\[\[?\s*{re.escape(key)}\s*[\].]")
        found = self._search(owner, pattern.search)
        if found is None:
            found = next((n for n, line in enumerate(self._lines, 1) if header.match(line)), None)
        return found or self.table_line(owner)

    def value_line(self, owner: Owner, value: str) -> int | None:
        needles = (f'"{value}"', f"'{value}'", value)
        found = self._search(owner, lambda line: any(n in line for n in needles))
        return found or self.table_line(owner)

    def _search(self, owner: Owner, test: Any) -> int | None:
        pairs = zip(self._lines, self._owners, strict=True)
        for number, (line, line_owner) in enumerate(pairs, start=1):
            if line_owner == owner and test(line):
                return number
        return None


def read_toml(path: Path, problems: Problems) -> TomlDoc | None:
    """Parse ``path`` with the one admin-file loader; on failure record its problem (file and
    line) and return None."""
    try:
        located = read_located_toml(path)
    except RuleFileError as e:
        problems.items.extend(Problem(p.file and shown_name(p.file), p.line, p.message)
                              for p in e.problems)
        return None
    return TomlDoc(path, located.text, located.data)


def _owners_by_line(lines: list[str]) -> list[Owner]:
    owners: list[Owner] = []
    counters: dict[str, int] = {}
    current: Owner = ("", None)
    for line in lines:
        match = _HEADER.match(line)
        if match:
            current = _owner_for_header(match.group(1) == "[[", match.group(2), counters, current)
        owners.append(current)
    return owners


def _owner_for_header(
    is_array: bool, path: str, counters: dict[str, int], current: Owner
) -> Owner:
    top = path.split(".")[0].strip().strip('"')
    if is_array and "." not in path:
        counters[top] = counters.get(top, -1) + 1
        return (top, counters[top])
    if top in counters and current[0] == top:
        return current
    return (top, None)


def check_keys(
    doc: TomlDoc, owner: Owner, table: dict[str, Any], allowed: Iterable[str],
    problems: Problems, what: str,
) -> None:
    """Record every key of ``table`` that is not in ``allowed``."""
    allowed_set = set(allowed)
    for key in table:
        if key not in allowed_set:
            hint = ", ".join(sorted(allowed_set))
            problems.add(
                doc.name, doc.key_line(owner, key),
                f"неизвестный ключ «{key}» в {what} (допустимы: {hint})",
            )


def unknown_login(login: object, known: Iterable[str]) -> str:
    """«неизвестный сотрудник «ivanovva»» with the near match, or the valid logins to pick from."""
    return f"неизвестный сотрудник «{login}»{login_hint(login, known)}"


def login_hint(login: object, known: Iterable[str]) -> str:
    """«; возможно, вы имели в виду «ivanova»», or the logins in the staff file to choose from."""
    logins = sorted(known)
    near = difflib.get_close_matches(str(login), logins, n=1, cutoff=0.75)
    if near:
        return f"; возможно, вы имели в виду «{near[0]}»"
    listed = ", ".join(logins[:15]) + (" и другие" if len(logins) > 15 else "")
    return f" (сотрудники в staff.toml: {listed})" if logins else ""
