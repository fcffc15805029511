"""The one way to read a file an administrator edits (TOML rule files, the configuration, the
glossary, knowledge-base articles), and errors that point at a file, a key and a line.

Encoding rules, the same for every file: UTF-8; a leading UTF-8 byte-order mark (Windows Notepad
writes one) is dropped; any other encoding is an error naming the file, the line and the byte.
Every error is in Russian and names the file, the dotted key and, where it can be seen, the line,
so an administrator fixes the file without reading code. Syntax errors from ``tomllib`` are retold
with their line and column. Readers that collect many problems (:mod:`buhdesk.rules.problems`)
and readers with their own error class (configuration, text-check rules) call these functions and
keep the file and line of :class:`RuleFileError`.
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
        """The 1-based line where a dotted key is written: its own header, or the key line.

        A part may name one table of an array of tables by its index: ``sources[1].port``.
        """
        return key_line(self.text, key)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_NAME_PART = re.compile(r'"([^"]*)"|\'([^\']*)\'|([^.]+)')
_INDEXED = re.compile(r"^(.*)\[(\d+)\]$")


def key_line(text: str, key: str) -> int | None:
    """The line of ``key`` (``years.2027.days_off``, ``sources[1].port``) in a TOML text."""
    parts = [p for p in (_unquote(p) for p in _split_key(key)) if p]
    lines = text.splitlines()
    tables = _tables_by_line(lines)
    own = _header_line(tables, parts)
    if own:
        return own
    if not parts:
        return None
    name = re.escape(_INDEXED.sub(r"\1", parts[-1]))
    leaf = re.compile(rf"^\s*[\"']?{name}[\"']?\s*=")
    for number, (line, (path, _)) in enumerate(zip(lines, tables, strict=False), start=1):
        if _same_table(parts[:-1], path) and leaf.match(line):
            return number
    return _header_line(tables, parts[:-1])


def _split_key(key: str) -> list[str]:
    return [m.group(0).strip() for m in _NAME_PART.finditer(key)]


def _unquote(part: str) -> str:
    return part[1:-1] if len(part) > 1 and part[0] == part[-1] and part[0] in "\"'" else part


def _tables_by_line(lines: list[str]) -> list[tuple[tuple[str, ...], bool]]:
    """For every line: the table it belongs to (array tables as ``name[i]``), and whether it is
    that table's header."""
    counters: dict[tuple[str, ...], int] = {}
    current: tuple[str, ...] = ()
    found = []
    for line in lines:
        match = _HEADER.match(line)
        if match:
            names = tuple(_unquote(p) for p in _split_key(match.group(2)))
            if match.group(1) == "[[":
                counters[names] = counters.get(names, -1) + 1
                for deeper in [c for c in counters if len(c) > len(names)]:
                    if deeper[:len(names)] == names:  # a new parent: its sub-arrays count anew
                        del counters[deeper]
            current = tuple(f"{name}[{counters[names[:i + 1]]}]" if names[:i + 1] in counters
                            else name for i, name in enumerate(names))
        found.append((current, bool(match)))
    return found


def _same_table(wanted: list[str], path: tuple[str, ...]) -> bool:
    """``sources`` stands for any ``sources[i]``; ``sources[1]`` for that one only."""
    return len(wanted) == len(path) and all(
        w == p or ("[" not in w and _INDEXED.sub(r"\1", p) == w)
        for w, p in zip(wanted, path, strict=True))


def _header_line(tables: list[tuple[tuple[str, ...], bool]], parts: list[str]) -> int | None:
    """The 1-based line of the header of table ``parts`` (the first one, for an array)."""
    if not parts:
        return None
    return next((number for number, (path, is_header) in enumerate(tables, start=1)
                 if is_header and _same_table(parts, path)), None)


UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_admin_text(path: Path) -> str:
    """The text of an admin-edited file; a missing, unreadable or non-UTF-8 file raises
    :class:`RuleFileError` naming the file (and, for a bad byte, its line)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError as e:
        raise RuleFileError(path, "", "файл не найден") from e
    except OSError as e:
        raise RuleFileError(path, "", f"файл не читается: {e.strerror or e}") from e
    return decode_admin_text(path, raw)


def decode_admin_text(path: Path | str, raw: bytes) -> str:
    """``raw`` as UTF-8 without a leading byte-order mark; anything else is a located error."""
    if raw.startswith(_UTF16_BOMS):
        raise RuleFileError(path, "", "файл сохранён в кодировке UTF-16 (в Блокноте — «Юникод»); "
                                      "сохраните его в кодировке UTF-8", 1)
    skipped = len(UTF8_BOM) if raw.startswith(UTF8_BOM) else 0
    try:
        return raw[skipped:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = skipped + e.start
        line_start = raw.rfind(b"\n", 0, offset) + 1
        line = raw.count(b"\n", 0, offset) + 1
        problem = (f"файл не в кодировке UTF-8: байт 0x{raw[offset]:02X} "
                   f"({offset - line_start + 1}-й байт строки, {offset + 1}-й байт файла) не "
                   "читается; сохраните файл в кодировке UTF-8")
        raise RuleFileError(path, "", problem, line) from e


def read_located_toml(path: Path) -> LocatedToml:
    """Parse ``path``; a missing file, bad encoding or bad syntax raise :class:`RuleFileError`."""
    text = read_admin_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _syntax_error(path, e) from e
    return LocatedToml(path, text, data)


def _syntax_error(path: Path, error: tomllib.TOMLDecodeError) -> RuleFileError:
    syntax = explain_toml_error(error)
    return RuleFileError(path, "", syntax.message, syntax.line)
