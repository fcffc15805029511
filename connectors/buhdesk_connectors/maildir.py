"""A local Maildir as a buhdesk Source: messages from new/ and cur/, acknowledged ones moved away.

The key is the unique part of the file name (before the ``:2,`` info); acknowledged files go to
the ``.Processed`` sub-Maildir, as a Maildir++ folder a mail server would show. Like the IMAP
source, one fetch hands out at most ``batch_bytes`` of mail (by file size), so a file bigger than
that comes alone and a few big letters are never held at once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from buhdesk.interfaces import RawItem, SourceError

log = logging.getLogger(__name__)

SUBDIRS = ("tmp", "new", "cur")


def unique_part(filename: str) -> str:
    """The Maildir unique name: everything before the ``:`` that starts the info."""
    return filename.split(":", 1)[0]


def ensure_maildir(path: Path) -> None:
    """Create ``tmp``, ``new`` and ``cur`` under ``path`` if missing."""
    for sub in SUBDIRS:
        (path / sub).mkdir(parents=True, exist_ok=True)


class MaildirSource:
    """Read a Maildir; ``ack`` moves files into ``<path>/.<processed>/cur``.

    Like the IMAP source, a file is handed out once until ``close()``; items never acknowledged
    come again after it.
    """

    def __init__(
        self, *, name: str, path: str | Path, processed: str = "Processed",
        poll_interval: float = 1.0, batch_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.name = name
        self.batch_bytes = batch_bytes
        self.path = Path(path)
        self.processed_path = self.path / f".{processed}"
        self.poll_interval = poll_interval
        self._handed: set[str] = set()
        try:
            ensure_maildir(self.path)
            ensure_maildir(self.processed_path)
            (self.processed_path / "maildirfolder").touch(exist_ok=True)
        except OSError as e:
            raise SourceError(f"{name}: cannot create Maildir {self.path}: {e}") from e

    def __repr__(self) -> str:
        return f"MaildirSource(name={self.name!r}, path={str(self.path)!r})"

    def fetch(self, limit: int) -> Sequence[RawItem]:
        """Return up to ``limit`` messages not handed out yet, oldest (by mtime) first, of
        ``batch_bytes`` together at most (always at least one)."""
        items: list[RawItem] = []
        total = 0
        for entry in self._entries():
            if len(items) >= limit:
                break
            key = unique_part(entry.name)
            if key in self._handed:
                continue
            total += _size(entry)
            if total > self.batch_bytes and items:
                break
            item = self._read(entry, key)
            if item is not None:
                items.append(item)
                self._handed.add(key)
        return items

    def _entries(self) -> list[os.DirEntry[str]]:
        entries: list[tuple[float, str, os.DirEntry[str]]] = []
        for sub in ("new", "cur"):
            try:
                with os.scandir(self.path / sub) as scan:
                    for entry in scan:
                        if entry.is_file() and not entry.name.startswith("."):
                            entries.append((_mtime(entry), entry.name, entry))
            except OSError as e:
                raise SourceError(f"{self.name}: cannot read {self.path / sub}: {e}") from e
        entries.sort(key=lambda row: (row[0], row[1]))
        return [row[2] for row in entries]

    def _read(self, entry: os.DirEntry[str], key: str) -> RawItem | None:
        try:
            data = Path(entry.path).read_bytes()
            stamp = os.stat(entry.path).st_mtime
        except FileNotFoundError:
            return None  # taken by someone else between listing and reading
        except OSError as e:
            raise SourceError(f"{self.name}: cannot read {entry.path}: {e}") from e
        meta = {"path": entry.path, "filename": entry.name}
        return RawItem(source=self.name, key=key, data=data,
                       received_at=datetime.fromtimestamp(stamp, UTC), meta=meta)

    def ack(self, items: Sequence[RawItem]) -> None:
        """Move each item's file into the processed folder's cur/ (with the ``:2,`` info)."""
        for item in items:
            if item.source != self.name:
                continue
            self._move(item)
            self._handed.discard(item.key)

    def _move(self, item: RawItem) -> None:
        source = Path(item.meta.get("path", ""))
        name = item.meta.get("filename", item.key)
        target_name = name if ":" in name else f"{name}:2,"
        target = self.processed_path / "cur" / target_name
        try:
            os.rename(source, target)
        except FileNotFoundError:
            log.debug("%s: %s already gone from %s", self.name, item.key, source)
        except OSError as e:
            raise SourceError(f"{self.name}: cannot move {source} to {target}: {e}") from e

    def wait(self, timeout: float) -> None:
        """Poll new/ and cur/ modification times until they change or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        before = self._stamp()
        while (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(self.poll_interval, remaining))
            if self._stamp() != before:
                return

    def _stamp(self) -> tuple[int, ...]:
        try:
            return tuple(os.stat(self.path / sub).st_mtime_ns for sub in ("new", "cur"))
        except OSError:
            return ()

    def close(self) -> None:
        """Forget what was handed out; un-acknowledged files come again on the next fetch."""
        self._handed.clear()


def _size(entry: os.DirEntry[str]) -> int:
    try:
        return entry.stat().st_size
    except OSError:
        return 0  # gone meanwhile: reading it finds nothing


def _mtime(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat().st_mtime
    except OSError:
        return 0.0
