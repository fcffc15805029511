"""The «ДелоПро» export folder: scan incoming/, claim a package by an atomic rename into work/,
load it, and move it to processed/ or failed/; answers go to outgoing/, receipts come back."""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .answer import AnswerPackage, write_answer
from .card import Card
from .errors import DeloproUnavailable, PackageError
from .moves import free_name, remove_tree, write_json
from .package import CARD_FILES, load_package
from .receipts import Receipt, read_receipts
from .safety import Limits
from .scanning import (
    ZIP_MARKER_SUFFIX,
    StabilityTracker,
    folder_marked,
    is_ignored,
    list_dir,
    tree_signature,
)
from .zipsafe import extract_zip

log = logging.getLogger(__name__)
LAYOUT = ("incoming", "work", "processed", "failed", "outgoing", "outgoing/.tmp", "receipts")


@dataclass(frozen=True)
class PackageRef:
    name: str
    path: Path
    kind: str  # "folder" | "zip"


@dataclass
class ClaimedPackage:
    """A package in work/. For a zip, ``path`` is the zip and ``content`` the unpacked folder."""

    name: str
    path: Path
    kind: str = "folder"
    content: Path | None = None
    card: Card | None = None


def _zip_name(name: str) -> str | None:
    return name[:-4] if name.lower().endswith(".zip") and len(name) > 4 else None


class DeloproFolder:
    def __init__(
        self,
        root: Path,
        *,
        stable_interval: float = 30.0,
        max_files: int = 200,
        max_file_bytes: int = 50_000_000,
        max_total_bytes: int = 200_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(root)
        self.limits = Limits(max_files, max_file_bytes, max_total_bytes)
        self._tracker = StabilityTracker(stable_interval, clock)

    def _dir(self, name: str) -> Path:
        return self.root / name

    def ensure_layout(self) -> None:
        """Make the working folders inside the export folder. The export folder itself is never
        made: a wrong path or a network share not mounted would otherwise become an empty local
        folder that nothing arrives in, and answer packages written there would be lost."""
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} не найдена")
        for name in LAYOUT:
            self._dir(name).mkdir(parents=True, exist_ok=True)

    # --- scanning and claiming -------------------------------------------------------------

    def _candidate(self, entry: os.DirEntry[str], names: set[str]) -> PackageRef | None:
        st = entry.stat(follow_symlinks=False)
        path = Path(entry.path)
        if stat.S_ISDIR(st.st_mode):
            marked = folder_marked(path, f"{entry.name}.env" in names)
            return self._ready(PackageRef(entry.name, path, "folder"), marked)
        stem = _zip_name(entry.name)
        if stem and stat.S_ISREG(st.st_mode):
            marked = entry.name + ZIP_MARKER_SUFFIX in names
            return self._ready(PackageRef(stem, path, "zip"), marked)
        if stat.S_ISLNK(st.st_mode):
            log.warning("%s is a symbolic link, not a package: left alone", path)
        return None

    def _ready(self, ref: PackageRef, marked: bool) -> PackageRef | None:
        if marked:
            return ref
        signature = tree_signature(ref.path, self.limits.max_files + 1)
        return (
            ref
            if signature is not None and self._tracker.stable(ref.path.name, signature)
            else None
        )

    def scan(self) -> list[PackageRef]:
        """Complete packages in incoming/, oldest first."""
        entries = [e for e in list_dir(self._dir("incoming")) if not is_ignored(e.name)]
        names = {e.name for e in entries}
        self._tracker.keep_only(names)
        found: list[tuple[float, str, PackageRef]] = []
        for entry in entries:
            try:
                ref = self._candidate(entry, names)
                if ref:
                    found.append((entry.stat(follow_symlinks=False).st_mtime, entry.name, ref))
            except OSError as e:  # vanished or unreadable right now: look again next scan
                log.info("%s skipped this scan: %s", entry.path, e)
        return [ref for _, _, ref in sorted(found, key=lambda t: (t[0], t[1]))]

    def claim(self, ref: PackageRef) -> ClaimedPackage | None:
        """Rename incoming/PKG into work/; None when another process took it first."""
        dest = free_name(self._dir("work"), ref.path.name)
        try:
            os.rename(ref.path, dest)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
                return None
            raise DeloproUnavailable(f"Не удалось забрать пакет {ref.path}: {e.strerror}") from e
        self._take_markers(ref, dest)
        log.info("package %s claimed as %s", ref.name, dest)
        return ClaimedPackage(ref.name, dest, ref.kind)

    def _take_markers(self, ref: PackageRef, dest: Path) -> None:
        incoming = self._dir("incoming")
        try:
            if ref.kind == "zip":
                (incoming / (ref.path.name + ZIP_MARKER_SUFFIX)).unlink(missing_ok=True)
            elif os.path.lexists(incoming / f"{ref.name}.env"):
                os.rename(incoming / f"{ref.name}.env", free_name(dest, f"{ref.name}.env"))
        except OSError as e:
            log.warning("marker of %s not moved: %s", ref.name, e)

    def recover(self) -> list[ClaimedPackage]:
        """Packages left in work/ by a crash, to be loaded again."""
        found = []
        for entry in sorted(list_dir(self._dir("work")), key=lambda e: e.name):
            if is_ignored(entry.name):
                continue
            mode = entry.stat(follow_symlinks=False).st_mode
            stem = _zip_name(entry.name)
            if stat.S_ISDIR(mode):
                found.append(ClaimedPackage(entry.name, Path(entry.path), "folder"))
            elif stem and stat.S_ISREG(mode):
                found.append(ClaimedPackage(stem, Path(entry.path), "zip"))
        return found

    # --- loading -----------------------------------------------------------------------------

    def _unpacked(self, pkg: ClaimedPackage) -> Path:
        dest = pkg.path.with_name(f".{pkg.path.name}.x")
        remove_tree(dest)
        dest.mkdir()
        pkg.content = dest
        extract_zip(pkg.path, dest, self.limits)
        top = [p for p in dest.iterdir() if not p.is_symlink()]
        names = {n.casefold() for n, _ in CARD_FILES}
        if len(top) == 1 and top[0].is_dir() and top[0].name.casefold() not in names:
            return top[0]  # the zip wraps everything in one folder
        return dest

    def load(self, pkg: ClaimedPackage) -> Card:
        """Parse and check the package; raise PackageError when it cannot be taken."""
        try:
            root = self._unpacked(pkg) if pkg.kind == "zip" else pkg.path
            pkg.card = load_package(root, self.limits)
        except PackageError:
            raise
        except OSError as e:
            raise DeloproUnavailable(f"Пакет {pkg.path} не читается: {e.strerror or e}") from e
        return pkg.card

    # --- finishing -----------------------------------------------------------------------------

    def _settle(self, pkg: ClaimedPackage, parent: Path, note: str,
                payload: Mapping[str, object]) -> Path:
        parent.mkdir(parents=True, exist_ok=True)
        dest = free_name(parent, pkg.name)
        if pkg.kind == "zip":
            dest.mkdir()
            write_json(dest / note, payload)
            os.rename(pkg.path, dest / pkg.path.name)
            remove_tree(pkg.path.with_name(f".{pkg.path.name}.x"))
        else:
            write_json(pkg.path / note, payload)
            os.rename(pkg.path, dest)
        return dest

    def finish(self, pkg: ClaimedPackage, *, request_number: str, at: datetime) -> Path:
        """Move the package to processed/YYYY/MM/ with receipt.json."""
        parent = self._dir("processed") / f"{at:%Y}" / f"{at:%m}"
        doc_uid = pkg.card.doc_uid if pkg.card else None
        payload = {"request": request_number, "at": at.isoformat(), "doc_uid": doc_uid}
        dest = self._settle(pkg, parent, "receipt.json", payload)
        log.info("package %s processed as %s, moved to %s", pkg.name, request_number, dest)
        return dest

    def fail(
        self, pkg: ClaimedPackage, error: PackageError, *, first_seen: datetime | None = None
    ) -> Path:
        """Move the package to failed/ with error.json for a human to fix and move back."""
        payload = {
            "code": error.code,
            "message": error.message,
            "file": error.file,
            "first_seen": first_seen.isoformat() if first_seen else None,
        }
        dest = self._settle(pkg, self._dir("failed"), "error.json", payload)
        log.warning(
            "package %s failed (%s): %s; moved to %s", pkg.name, error.code, error.message, dest
        )
        return dest

    # --- answers -------------------------------------------------------------------------------

    def write_answer(self, answer: AnswerPackage) -> Path:
        """Write an answer package into ``outgoing/``; the export folder must be there (an
        answer written into a folder made in its place would never reach «ДелоПро»)."""
        if not self.root.is_dir():
            raise DeloproUnavailable(f"Папка «ДелоПро» {self.root} не найдена: пакет ответа "
                                     "не записан, будет записан, когда папка появится")
        self.ensure_layout()
        return write_answer(self._dir("outgoing"), answer)

    def read_receipts(self) -> list[Receipt]:
        return read_receipts(self._dir("receipts"))
