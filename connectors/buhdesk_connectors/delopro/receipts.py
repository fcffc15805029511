"""Receipts «ДелоПро» leaves for our answers: receipts/RPKG.ok or RPKG.err, moved to done/."""

from __future__ import annotations

import codecs
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import PackageError
from .safety import read_nofollow
from .scanning import is_ignored, list_dir

log = logging.getLogger(__name__)
MAX_RECEIPT_BYTES = 1_000_000


@dataclass(frozen=True)
class Receipt:
    package: str
    ok: bool
    text: str


def decode_receipt(data: bytes) -> str:
    """UTF-8 (with or without BOM), else windows-1251."""
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return data.decode("cp1251", "replace").strip()


def _receipt(entry: os.DirEntry[str]) -> Receipt | None:
    stem, _, kind = entry.name.rpartition(".")
    if is_ignored(entry.name) or kind not in ("ok", "err") or not stem:
        return None
    if not stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
        log.warning("receipt %s is not a regular file, left alone", entry.path)
        return None
    try:
        text = decode_receipt(read_nofollow(Path(entry.path), MAX_RECEIPT_BYTES))
    except PackageError as e:
        log.warning("receipt %s not read: %s", entry.path, e.message)
        return None
    return Receipt(package=stem, ok=kind == "ok", text=text)


def read_receipts(folder: Path) -> list[Receipt]:
    """Read every receipt in ``folder`` and move it to ``folder/done``."""
    found = []
    for entry in sorted(list_dir(folder), key=lambda e: e.name):
        receipt = _receipt(entry)
        if receipt is None:
            continue
        (folder / "done").mkdir(exist_ok=True)
        os.replace(entry.path, folder / "done" / entry.name)
        found.append(receipt)
    return found
