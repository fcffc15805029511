"""Attachment files on disk, named by their SHA-256, written atomically before the row commits."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import IO

from buhdesk.route.bigparts import Spooled

_PIECE = 1 << 20


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes | Spooled) -> str:
        """Store ``data`` (once per content) and return its hash; durable when this returns.
        A spooled attachment is copied from its file in pieces, never read whole."""
        digest = data.sha256 if isinstance(data, Spooled) else hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{digest}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            if isinstance(data, Spooled):
                _copy(data.file, len(data), fh)
            else:
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> bool:
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True


def _copy(source: IO[bytes], size: int, target: IO[bytes]) -> None:
    fd, offset = source.fileno(), 0
    while offset < size:
        piece = os.pread(fd, min(_PIECE, size - offset), offset)
        if not piece:
            raise OSError(f"spooled attachment ends at byte {offset} of {size}")
        target.write(piece)
        offset += len(piece)
