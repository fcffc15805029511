"""The normalised registration card: one shape for card.xml, ЭОС СЭВ and МЭДО packages."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("main", "attachment", "signature")

# «Дело» appends "[1]", "[2]" to attachment names, before the extension or at the end.
_DELO_INDEX = re.compile(r"\s*\[\d+\](?=\.[^.\[\]]*$|$)")


def strip_delo_index(name: str) -> str:
    """Return a display name without the «Дело» ``[N]`` index:
    ``Отчет[1].xlsx`` → ``Отчет.xlsx``."""
    stripped = _DELO_INDEX.sub("", name).strip()
    return name if not stripped or stripped.startswith(".") else stripped


@dataclass(frozen=True)
class Person:
    fio: str
    post: str = ""
    department: str = ""
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class CardFile:
    """A file of the package, checked: ``sha256`` is the one computed from the bytes on disk."""

    id: str
    role: str
    name: str
    path: Path
    size: int
    sha256: str | None


@dataclass(frozen=True)
class Resolution:
    id: str
    date: dt.date | None
    author: Person | None
    text: str
    executors: tuple[Person, ...]
    responsible: Person | None
    deadline: dt.date | None


@dataclass(frozen=True)
class Link:
    type: str
    number: str
    date: dt.date | None
    doc_uid: str | None


@dataclass(frozen=True)
class Card:
    format: str
    doc_uid: str
    reg_number: str
    reg_date: dt.date | None
    journal: str
    doc_kind: str
    channel: str
    author: Person | None
    correspondent: str | None
    addressee: str
    summary: str
    text: str
    resolutions: tuple[Resolution, ...]
    deadline: dt.date | None
    files: tuple[CardFile, ...]
    links: tuple[Link, ...]
    original_name: str
    original: bytes = field(repr=False)


@dataclass(frozen=True)
class FileDecl:
    """A file as the card declares it, before it is checked against the package."""

    id: str
    role: str
    path: str
    name: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Parsed:
    """What a format parser returns: the card (without files) and the files it declares."""

    card: Card
    files: tuple[FileDecl, ...]
