"""Attachment files on disk, named by their SHA-256: each content is stored once, however many
letters carry it, and made durable before the row that names it commits.

Inside a transaction files are *staged* (:meth:`BlobStore.stage`): written under a temporary name
in the store's ``.staging`` folder as the letters are routed, then, just before the session
commits, made durable in one pass — each file synced, renamed to its name, and the folders synced
once each. A crash before that leaves temporary files only (never a file under its name with part
of its bytes); a row is never committed before its file is durable. A rolled-back transaction
removes its temporary files; what a crash leaves in ``.staging`` is swept away a day later
(:meth:`BlobStore.sweep`, hourly by the daemon): no transaction stages files for a day.

The retention purge deletes a file when no attachment row refers to it any more
(:meth:`BlobStore.deletion`). A letter being stored may carry a file that is already there and
that the purge is about to find unreferenced: the session that staged it holds a shared lock on
the store's lock file until it ends, and the purge checks and deletes under the exclusive lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from buhdesk.route.bigparts import Spooled

log = logging.getLogger(__name__)

_PIECE = 1 << 20
_STAGED = "buhdesk.blobs.staged"
LOCK = ".lock"
STAGING = ".staging"
LEFT_OVER = 24 * 3600.0  # seconds: a staged file this old was left by a crash


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes | Spooled) -> str:
        """Store ``data`` (once per content) and return its hash; durable when this returns.
        A spooled attachment is copied from its file in pieces, never read whole."""
        batch = _Staged(self)
        try:
            digest = batch.add(data)
            batch.sync()
        finally:
            batch.end()
        return digest

    def stage(self, session: Session, data: bytes | Spooled) -> str:
        """Store ``data`` (once per content) for a row ``session`` writes; return its hash. The
        file is durable before the session commits, and gone if it rolls back."""
        staged = session.info.get(_STAGED)
        if staged is None or staged.blobs is not self:
            if staged is not None:  # another store in the same session: made durable now
                staged.sync()
            staged = session.info[_STAGED] = _Staged(self)
        return staged.add(data)

    def sweep(self, now: float | None = None) -> int:
        """Remove what crashed transactions left in the staging folder (files older than
        :data:`LEFT_OVER`); returns how many went."""
        now = time.time() if now is None else now
        gone = 0
        try:
            entries = list(os.scandir(self.root / STAGING))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and \
                        now - entry.stat(follow_symlinks=False).st_mtime > LEFT_OVER:
                    os.unlink(entry.path)
                    gone += 1
            except FileNotFoundError:  # removed meanwhile
                continue
        if gone:
            log.info("blobs: %d file(s) left in %s by a crash removed", gone, self.root / STAGING)
        return gone

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> bool:
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    @contextmanager
    def deletion(self) -> Iterator[None]:
        """Hold off every transaction that stages a file until the block ends: inside it, a
        file no committed row refers to is referred to by none being written either."""
        with self._locked(fcntl.LOCK_EX):
            yield

    @contextmanager
    def _locked(self, how: int) -> Iterator[None]:
        fd = self._lock(how)
        try:
            yield
        finally:
            os.close(fd)

    def _lock(self, how: int) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        # read-only and readable by all: the daemon and an administrator's `buhdesk purge`,
        # under another user, both lock it (flock needs no write access)
        fd = os.open(self.root / LOCK, os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, how)
        except BaseException:
            os.close(fd)
            raise
        return fd


def stored_files(root: Path) -> Iterator[Path]:
    """The attachment files under ``root``: not the lock, not what is being staged."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not any(part.startswith(".")
                                      for part in path.relative_to(root).parts):
            yield path


@dataclass
class _Staged:
    """The files one transaction stages: temporary files by hash, until :meth:`sync`."""

    blobs: BlobStore
    pending: dict[str, Path] = field(default_factory=dict)
    created: set[Path] = field(default_factory=set)
    lock: int | None = None

    def add(self, data: bytes | Spooled) -> str:
        digest = data.sha256 if isinstance(data, Spooled) else hashlib.sha256(data).hexdigest()
        if self.lock is None:
            self.lock = self.blobs._lock(fcntl.LOCK_SH)
        target = self.blobs.path(digest)
        if digest in self.pending or target.exists():
            return digest
        for folder in (target.parent.parent, target.parent):
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True)
                self.created.add(folder)
        staging = self.blobs.root / STAGING
        staging.mkdir(exist_ok=True)
        tmp = staging / f"{digest}.{os.getpid()}.{id(self):x}.tmp"
        try:
            with open(tmp, "wb") as fh:
                if isinstance(data, Spooled):
                    _copy(data.file, len(data), fh)
                else:
                    fh.write(data)
        except BaseException:  # a file cut short (a full disk) is never synced under its name
            tmp.unlink(missing_ok=True)
            raise
        self.pending[digest] = tmp
        return digest

    def sync(self) -> None:
        """Every staged file synced and under its name, then each folder synced once."""
        if not self.pending:
            return
        for tmp in self.pending.values():
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        folders = {folder.parent for folder in self.created}  # where a new folder is named
        for digest, tmp in self.pending.items():
            target = self.blobs.path(digest)
            os.replace(tmp, target)
            folders.add(target.parent)
        self.pending.clear()
        self.created.clear()
        for folder in sorted(folders, key=lambda p: -len(p.parts)):  # the deepest first
            _sync_folder(folder)

    def end(self) -> None:
        """The transaction is over: files never synced are removed, the lock let go."""
        for tmp in self.pending.values():
            tmp.unlink(missing_ok=True)
        self.pending.clear()
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    staged: _Staged | None = session.info.get(_STAGED)
    if staged is not None:
        staged.sync()


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint or a subtransaction: the files wait for the whole transaction
    staged: _Staged | None = session.info.pop(_STAGED, None)
    if staged is not None:
        staged.end()


def _copy(source: IO[bytes], size: int, target: IO[bytes]) -> None:
    fd, offset = source.fileno(), 0
    while offset < size:
        piece = os.pread(fd, min(_PIECE, size - offset), offset)
        if not piece:
            raise OSError(f"spooled attachment ends at byte {offset} of {size}")
        target.write(piece)
        offset += len(piece)

