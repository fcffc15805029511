"""Unpack a zip package into a fresh folder with every guard on: names (cp866 when the UTF-8 flag
is missing), paths, links, encryption, member count, sizes and compression ratio (zip bombs)."""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path

from .errors import PackageError
from .safety import Limits, check_relpath, open_nofollow

_CHUNK = 1 << 16


def _bad(code: str, message: str, file: str | None = None) -> PackageError:
    return PackageError(code, message, file)


def _check_member(info: zipfile.ZipInfo, zname: str, limits: Limits) -> str:
    where = f"{zname}: {info.filename}"
    rel = check_relpath(info.filename, file=where)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _bad("symlink", f"{where}: символическая ссылка — ссылки не допускаются", rel)
    if info.flag_bits & 0x1:
        raise _bad("zip_invalid", f"{where}: файл зашифрован — пакет не читается", rel)
    if info.file_size > limits.max_file_bytes:
        raise _bad(
            "file_too_large",
            f"{where}: размер {info.file_size} байт больше допустимых {limits.max_file_bytes}",
            rel,
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
        raise _bad(
            "zip_bomb",
            f"{where}: степень сжатия {ratio:.0f}:1 больше допустимой {limits.max_ratio:.0f}:1 "
            "(похоже на zip-бомбу)",
            rel,
        )
    return rel


def _plan(zf: zipfile.ZipFile, zname: str, limits: Limits) -> list[tuple[zipfile.ZipInfo, str]]:
    members = [i for i in zf.infolist() if not i.is_dir()]
    if len(members) > limits.max_files:
        raise _bad("too_many_files", f"{zname}: больше {limits.max_files} файлов — превышен предел")
    plan, seen, total = [], set(), 0
    for info in members:
        rel = _check_member(info, zname, limits)
        if rel.casefold() in seen:
            raise _bad("zip_invalid", f"{zname}: файл {rel} встречается в архиве дважды", rel)
        seen.add(rel.casefold())
        total += info.file_size
        if total > limits.max_total_bytes:
            raise _bad(
                "package_too_large",
                f"{zname}: распакованный размер больше допустимых {limits.max_total_bytes} байт",
            )
        plan.append((info, rel))
    return plan


def _create(dest: Path, rel: str) -> int:
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.open(target, flags | getattr(os, "O_CLOEXEC", 0), 0o640)


def _copy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, fd: int, budget: int, where: str) -> int:
    written = 0
    with zf.open(info) as src, os.fdopen(fd, "wb") as out:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size or written > budget:
                raise _bad("zip_bomb", f"{where}: распаковывается больше заявленного размера")
            out.write(chunk)
    return written


def _extract(zf: zipfile.ZipFile, zname: str, dest: Path, limits: Limits) -> None:
    total = 0
    for info, rel in _plan(zf, zname, limits):
        try:
            fd = _create(dest, rel)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as e:
            raise _bad("zip_invalid", f"{zname}: имя {rel} конфликтует с другим файлом", rel) from e
        budget = min(limits.max_file_bytes, limits.max_total_bytes - total)
        total += _copy(zf, info, fd, budget, f"{zname}: {rel}")


def extract_zip(zip_path: Path, dest: Path, limits: Limits) -> None:
    """Unpack ``zip_path`` into the existing empty folder ``dest``; refuse anything unsafe."""
    zname = zip_path.name
    with os.fdopen(open_nofollow(zip_path), "rb") as fh:
        try:
            with zipfile.ZipFile(fh, metadata_encoding="cp866") as zf:
                _extract(zf, zname, dest, limits)
        except UnicodeDecodeError as e:
            raise _bad(
                "name_undecodable",
                f"{zname}: имя файла помечено как UTF-8, но не читается в этой кодировке",
            ) from e
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
            raise _bad("zip_invalid", f"{zname}: архив повреждён или не читается ({e})") from e
