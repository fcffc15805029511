"""Filesystem moves and durable writes: free destination names, fsync, atomic JSON files."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path


def free_name(parent: Path, name: str) -> Path:
    """``parent/name``, or ``parent/name~2``, ``~3``… when taken (a suffix before ``.zip``)."""
    stem, ext = (name[:-4], name[-4:]) if name.lower().endswith(".zip") else (name, "")
    candidate, n = parent / name, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = parent / f"{stem}~{n}{ext}"
    return candidate


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(path: Path, data: bytes) -> None:
    """Create a new file (never through a link) and fsync it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_json(path: Path, payload: Mapping[str, object]) -> None:
    """Write JSON next to ``path`` and rename it over: a link named ``path`` is replaced, not
    followed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    data = json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
    write_synced(tmp, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def remove_tree(path: Path) -> None:
    """Remove a folder buhdesk made itself (rmtree never follows links)."""
    if os.path.lexists(path):
        shutil.rmtree(path)
