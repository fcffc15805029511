"""One admin-edited TOML rules file: its data, and errors that name the file, line and key.

``tomllib`` gives values without positions, so :class:`RuleFile` keeps the text and finds the line
of a dotted key (``schedule.end``, ``rules.*/information.amount``, ``years.2025``) when an error
about it is raised.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HEADER = re.compile(r"^\s*\[\[?\s*(.+?)\s*\]\]?\s*(?:#.*)?$")
_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_END = re.compile(r"\(at end of document\)")


class RuleFileError(Exception):
    """A rules file is missing, unreadable or invalid; ``line`` is 1-based or None."""

    def __init__(self, path: Path, line: int | None, key: str, message: str) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.message = message
        where = f"{path.name}, строка {line}" if line else path.name
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


@dataclass(frozen=True)
class RuleFile:
    """A parsed rules file that can point at the line of any key."""

    path: Path
    text: str
    data: dict[str, Any]

    def error(self, key: str, message: str) -> RuleFileError:
        """An error about the dotted ``key``, located at its line."""
        return RuleFileError(self.path, self.line_of(key), key, message)

    def line_of(self, key: str) -> int | None:
        """The line where the dotted ``key`` (a table or a value) is written, if found."""
        wanted = _split_dotted(key)
        lines = self.text.splitlines()
        headers = _headers(lines)
        best: tuple[int, int] | None = None  # (prefix length, header line index)
        for index, path in headers:
            if tuple(wanted[: len(path)]) == path and (best is None or len(path) > best[0]):
                best = (len(path), index)
        if best is None:
            return _key_in_block(lines, 0, headers, wanted) or _header_starting(headers, wanted)
        prefix, index = best
        if prefix == len(wanted):
            return index + 1
        return _key_in_block(lines, index + 1, headers, wanted[prefix:]) or index + 1


def read_rule_file(path: Path) -> RuleFile:
    """Read and parse ``path``; raise :class:`RuleFileError` (in Russian) when that fails."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise RuleFileError(path, None, "", "файл не найден") from e
    except (OSError, UnicodeDecodeError) as e:
        raise RuleFileError(path, None, "", f"файл не читается: {e}") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _syntax_error(path, text, str(e)) from e
    return RuleFile(path, text, data)


def _syntax_error(path: Path, text: str, detail: str) -> RuleFileError:
    match = _TOML_LINE.search(detail)
    if match:
        return RuleFileError(path, int(match.group(1)), "", f"ошибка синтаксиса TOML ({detail})")
    if _TOML_END.search(detail):
        line = len(text.splitlines()) or None
        return RuleFileError(
            path, line, "", f"ошибка синтаксиса TOML в конце файла ({detail})"
        )
    return RuleFileError(path, None, "", f"ошибка синтаксиса TOML ({detail})")


def _split_dotted(key: str) -> list[str]:
    parts: list[str] = []
    for match in re.finditer(r'"([^"]*)"|\'([^\']*)\'|([^.]+)', key):
        parts.append(next(g for g in match.groups() if g is not None).strip())
    return parts


def _headers(lines: list[str]) -> list[tuple[int, tuple[str, ...]]]:
    found = []
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            found.append((index, tuple(_split_dotted(match.group(1)))))
    return found


def _key_in_block(
    lines: list[str], start: int, headers: list[tuple[int, tuple[str, ...]]], rest: list[str]
) -> int | None:
    end = next((index for index, _ in headers if index >= start), len(lines))
    name = re.escape(rest[0])
    pattern = re.compile(rf"^\s*(?:\"{name}\"|'{name}'|{name})\s*(?:=|\.)")
    for index in range(start, end):
        if pattern.match(lines[index]):
            return index + 1
    return None


def _header_starting(
    headers: list[tuple[int, tuple[str, ...]]], wanted: list[str]
) -> int | None:
    for index, path in headers:
        if path[: len(wanted)] == tuple(wanted):
            return index + 1
    return None
