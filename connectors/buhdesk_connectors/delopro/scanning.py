"""Decide which entries of incoming/ are complete packages: a marker, or a size-and-mtime
signature that stayed the same over two scans at least the stability interval apart."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import DeloproUnavailable

FOLDER_MARKERS = ("READY", "envelope.ini")  # plus any *.env inside or PKG.env beside the folder
ZIP_MARKER_SUFFIX = ".ready"

Signature = tuple[tuple[str, int, int], ...]


def list_dir(path: Path) -> list[os.DirEntry[str]]:
    """All entries of ``path``; a listing error is "no information", never "empty"."""
    try:
        with os.scandir(path) as entries:
            return list(entries)
    except OSError as e:
        raise DeloproUnavailable(f"Папка {path} недоступна: {e.strerror or e}") from e


def is_ignored(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(".tmp")


def is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def folder_marked(path: Path, sibling_env: bool) -> bool:
    """A folder package is complete when READY, envelope.ini or a .env envelope is there."""
    if sibling_env or any(is_regular(path / m) for m in FOLDER_MARKERS):
        return True
    try:
        with os.scandir(path) as entries:
            return any(
                e.name.lower().endswith(".env") and e.is_file(follow_symlinks=False)
                for e in entries
            )
    except OSError:
        return False


def tree_signature(path: Path, cap: int) -> Signature | None:
    """Sizes and mtimes of everything under ``path`` (at most ``cap`` entries); None on error."""
    found: list[tuple[str, int, int]] = []
    pending = [path]
    try:
        while pending and len(found) <= cap:
            current = pending.pop()
            st = os.lstat(current)
            found.append((str(current.relative_to(path)), st.st_size, st.st_mtime_ns))
            if stat.S_ISDIR(st.st_mode):
                with os.scandir(current) as entries:
                    pending.extend(Path(e.path) for e in entries)
    except OSError:
        return None
    return tuple(sorted(found))


@dataclass
class _Seen:
    signature: Signature
    since: float
    scans: int


class StabilityTracker:
    """Remembers the signature of each unmarked candidate between scans."""

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self.interval, self.clock = interval, clock
        self._seen: dict[str, _Seen] = {}

    def stable(self, key: str, signature: Signature) -> bool:
        now, seen = self.clock(), self._seen.get(key)
        if seen is None or seen.signature != signature:
            self._seen[key] = _Seen(signature, now, 1)
            return False
        seen.scans += 1
        return seen.scans >= 2 and now - seen.since >= self.interval

    def keep_only(self, keys: set[str]) -> None:
        for key in set(self._seen) - keys:
            del self._seen[key]
