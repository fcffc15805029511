"""Load one package folder into a :class:`Card`: find the card, parse it in its format, and check
that every declared file is in the package with its declared size and SHA-256."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from . import formats_card, formats_medo, formats_sev
from .card import Card, CardFile, FileDecl, Parsed
from .errors import PackageError
from .safety import Limits, check_relpath, inventory, read_nofollow, sha256_nofollow

# Which file makes a package of which format, in order of preference.
CARD_FILES: tuple[tuple[str, str], ...] = (
    ("card.xml", "card"),
    ("DocInfo.xml", "sev"),
    ("passport.xml", "medo"),
)
PARSERS: dict[str, Callable[[bytes, str], Parsed]] = {
    "card": formats_card.parse,
    "sev": formats_sev.parse,
    "medo": formats_medo.parse,
}


def _lookup(inv: dict[str, int], rel: str) -> str | None:
    """The inventory name for ``rel``; case-insensitive only when that is unambiguous."""
    if rel in inv:
        return rel
    matches = [name for name in inv if name.casefold() == rel.casefold()]
    return matches[0] if len(matches) == 1 else None


def find_card(inv: dict[str, int]) -> tuple[str, str]:
    """The card file name and format of the package."""
    for name, fmt in CARD_FILES:
        found = _lookup(inv, name)
        if found:
            return found, fmt
    raise PackageError(
        "no_card",
        "В пакете нет регистрационной карточки: ожидается card.xml, DocInfo.xml (ЭОС СЭВ) "
        "или passport.xml (МЭДО)",
    )


def _check_file(root: Path, inv: dict[str, int], decl: FileDecl, card_name: str) -> CardFile:
    rel = check_relpath(decl.path, file=card_name)
    found = _lookup(inv, rel)
    if found is None:
        raise PackageError(
            "file_missing",
            f"Файл {card_name} ссылается на файл {rel} («{decl.name}»), которого нет в пакете",
            rel,
        )
    size, digest = sha256_nofollow(root / found)
    if decl.size is not None and size != decl.size:
        raise PackageError(
            "size_mismatch",
            f"Файл {found}: размер {size} байт, а в {card_name} указано {decl.size} — "
            "файл неполный или заменён",
            found,
        )
    if decl.sha256 is not None and digest != decl.sha256:
        raise PackageError(
            "hash_mismatch",
            f"Файл {found}: контрольная сумма SHA-256 не совпадает с указанной в {card_name} — "
            "файл повреждён или заменён",
            found,
        )
    return CardFile(decl.id, decl.role, decl.name, root / found, size, digest)


def _check_envelope(root: Path, inv: dict[str, int], parsed: Parsed, limits: Limits) -> None:
    name = _lookup(inv, formats_medo.ENVELOPE)
    if name is None:
        raise PackageError(
            "envelope_missing", "В пакете МЭДО нет конверта envelope.ini", formats_medo.ENVELOPE
        )
    listed = formats_medo.envelope_files(read_nofollow(root / name, limits.max_file_bytes))
    for raw in listed:
        rel = check_relpath(raw, file=name)
        if _lookup(inv, rel) is None:
            raise PackageError(
                "file_missing", f"Файл {rel} указан в {name} [ФАЙЛЫ], но его нет в пакете", rel
            )
    folded = {check_relpath(raw, file=name).casefold() for raw in listed}
    for decl in parsed.files:
        if check_relpath(decl.path, file=parsed.card.original_name).casefold() not in folded:
            raise PackageError(
                "envelope_mismatch",
                f"Файл {decl.path} указан в {parsed.card.original_name}, но не указан в {name} "
                "[ФАЙЛЫ]",
                decl.path,
            )


def load_package(root: Path, limits: Limits) -> Card:
    """Parse and check the package in ``root``; raise :class:`PackageError` when it is not fit."""
    root = root.resolve(strict=True)
    inv = inventory(root, limits)
    name, fmt = find_card(inv)
    parsed = PARSERS[fmt](read_nofollow(root / name, limits.max_file_bytes), name)
    if fmt == "medo":
        _check_envelope(root, inv, parsed, limits)
    files = tuple(_check_file(root, inv, decl, name) for decl in parsed.files)
    return dataclasses.replace(parsed.card, files=files)
