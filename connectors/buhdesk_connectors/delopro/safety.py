"""Hostile-input guards for package folders: relative paths, an inventory that never follows links,
caps on file count and sizes, and reads that refuse symlinks (O_NOFOLLOW)."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import PackageError

_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_files: int = 200
    max_file_bytes: int = 50_000_000
    max_total_bytes: int = 200_000_000
    max_ratio: float = 100.0  # zip: unpacked / packed, for members over ratio_floor bytes
    ratio_floor: int = 1_000_000


def check_relpath(raw: str, *, file: str) -> str:
    """Normalise a path from a card to ``a/b.pdf``; refuse absolute paths and ``..``."""
    path = raw.strip().replace("\\", "/")
    if not path:
        raise PackageError("missing_field", f"Файл {file}: не указан путь к файлу", file)
    outside = path.startswith("/") or _DRIVE.match(path) or "\x00" in path
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if outside or ".." in parts or not parts:
        raise PackageError(
            "path_outside",
            f"Файл {file}: путь «{raw}» указывает за пределы пакета — допускаются только "
            "относительные пути внутри пакета",
            file,
        )
    return "/".join(parts)


def _check_name(rel: str) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError as e:
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise PackageError(
            "name_undecodable",
            f"Имя файла «{shown}» в пакете не читается как текст (неизвестная кодировка имени)",
            shown,
        ) from e


class _Tally:
    def __init__(self, limits: Limits) -> None:
        self.limits, self.count, self.total = limits, 0, 0

    def add(self, rel: str, size: int) -> None:
        self.count += 1
        self.total += size
        lim = self.limits
        if self.count > lim.max_files:
            raise PackageError(
                "too_many_files", f"В пакете больше {lim.max_files} файлов — превышен предел", None
            )
        if size > lim.max_file_bytes:
            raise PackageError(
                "file_too_large",
                f"Файл {rel}: размер {size} байт больше допустимых {lim.max_file_bytes}",
                rel,
            )
        if self.total > lim.max_total_bytes:
            raise PackageError(
                "package_too_large",
                f"Общий размер пакета больше допустимых {lim.max_total_bytes} байт",
                None,
            )


def _classify(rel: str, mode: int) -> str:
    if stat.S_ISLNK(mode):
        raise PackageError(
            "symlink", f"{rel}: символическая ссылка — ссылки в пакете не допускаются", rel
        )
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    raise PackageError("special_file", f"{rel}: не обычный файл (устройство, канал или сокет)", rel)


def inventory(root: Path, limits: Limits) -> dict[str, int]:
    """Map every regular file of the package (``a/b.pdf``) to its size, never following links."""
    found: dict[str, int] = {}
    tally, pending = _Tally(limits), [""]
    while pending:
        prefix = pending.pop()
        with os.scandir(root / prefix if prefix else root) as entries:
            for entry in entries:
                rel = f"{prefix}/{entry.name}" if prefix else entry.name
                _check_name(rel)
                st = entry.stat(follow_symlinks=False)
                if _classify(rel, st.st_mode) == "dir":
                    pending.append(rel)
                    continue
                tally.add(rel, st.st_size)
                found[rel] = st.st_size
    return found


def open_nofollow(path: Path) -> int:
    """Open a regular file for reading; a symlink in the last component is refused."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in must not block us
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == getattr(os, "ELOOP", -1):
            raise PackageError(
                "symlink", f"{path.name}: символическая ссылка — ссылки не допускаются", path.name
            ) from e
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PackageError("special_file", f"{path.name}: не обычный файл", path.name)
    return fd


def read_nofollow(path: Path, limit: int) -> bytes:
    """Read a whole regular file of at most ``limit`` bytes."""
    with os.fdopen(open_nofollow(path), "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise PackageError(
            "file_too_large", f"Файл {path.name}: больше допустимых {limit} байт", path.name
        )
    return data


def sha256_nofollow(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a regular file, read without following links."""
    digest, size = hashlib.sha256(), 0
    with os.fdopen(open_nofollow(path), "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
