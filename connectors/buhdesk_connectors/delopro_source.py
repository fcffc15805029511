"""The «ДелоПро» export folder as a buhdesk PackageSource: recover work/ at start, then scan,
claim and load; each card becomes a neutral :class:`~buhdesk.interfaces.Document`.

A package stays "in hand" (claimed, in work/) until the core finishes or fails it, and is offered
again on the next fetch if that did not happen (the store was down, the move failed).

Recovery takes over whatever is in work/. With several instances on one folder that may be a
package another live instance is processing: registration is idempotent by document UID, and a
package that vanished from work/ (the other instance settled it) is simply let go.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from buhdesk.interfaces import (
    AnswerReceipt,
    Document,
    DocumentFile,
    DocumentPerson,
    PackageProblem,
)

from .delopro import Card, ClaimedPackage, DeloproFolder, DeloproUnavailable, PackageError, Person
from .delopro.card import Resolution
from .delopro.package import CARD_FILES, load_package
from .delopro.safety import Limits
from .delopro.zipsafe import extract_zip

log = logging.getLogger(__name__)
MAX_LOAD_TRIES = 3  # an unreadable package is failed after this many attempts


def _person(p: Person) -> DocumentPerson:
    return DocumentPerson(name=p.fio, email=p.email or None, post=p.post,
                          department=p.department, phone=p.phone or None)


def _responsible_first(card: Card) -> list[Resolution]:
    return sorted(card.resolutions, key=lambda r: r.responsible is None)


def executors_of(card: Card) -> tuple[DocumentPerson, ...]:
    """Every executor named in the resolutions, the responsible one first, each once."""
    seen: set[str] = set()
    found = []
    for res in _responsible_first(card):
        for p in ([res.responsible] if res.responsible else []) + list(res.executors):
            key = " ".join(p.fio.casefold().split())
            if key and key not in seen:
                seen.add(key)
                found.append(_person(p))
    return tuple(found)


def deadline_of(card: Card) -> date | None:
    """The card's deadline, else the earliest deadline of its resolutions."""
    if card.deadline:
        return card.deadline
    days = [r.deadline for r in card.resolutions if r.deadline]
    return min(days) if days else None


def content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def document_from_card(source: str, package: str, card: Card, *, read: bool = False) -> Document:
    """Map a card onto the core's Document; ``read`` loads file bytes now (for temporary dirs)."""
    resolutions = _responsible_first(card)
    files = tuple(DocumentFile(name=f.name, content_type=content_type(f.name), role=f.role,
                               data=f.path.read_bytes() if read else None,
                               path=None if read else f.path) for f in card.files)
    return Document(
        source=source, key=card.doc_uid, reg_number=card.reg_number, reg_date=card.reg_date,
        author=_person(card.author) if card.author else None, summary=card.summary,
        text=card.text, original_name=card.original_name, original=card.original,
        format=card.format, package=package, correspondent=card.correspondent,
        deadline=deadline_of(card), executors=executors_of(card),
        resolution_id=resolutions[0].id if resolutions else None, files=files,
    )


class DeloproSource:
    """One export folder: ``fetch`` claims complete packages, ``ack``/``fail`` settle them."""

    def __init__(self, name: str, root: Path, *, stable_interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.folder = DeloproFolder(root, stable_interval=stable_interval, clock=clock)
        self._recovered = False
        self._in_hand: dict[Path, ClaimedPackage] = {}
        self._tries: dict[Path, int] = {}
        self._closed = threading.Event()

    def _recover(self) -> None:
        if self._recovered:
            return
        if not self.folder.root.is_dir():
            raise DeloproUnavailable(f"Папка «ДелоПро» {self.folder.root} не найдена "
                                     "(неверный путь в настройках, папка удалена или не подключён "
                                     "сетевой диск); buhdesk её не создаёт")
        try:
            self.folder.ensure_layout()
        except OSError as e:
            raise DeloproUnavailable(f"Папка «ДелоПро» {self.folder.root} недоступна: {e}") from e
        for pkg in self.folder.recover():
            log.info("%s: package %s left in work/ by a crash, checking it again", self.name,
                     pkg.name)
            self._in_hand[pkg.path] = pkg
        self._recovered = True

    def fetch(self, limit: int) -> Sequence[tuple[ClaimedPackage, Document | PackageProblem]]:
        with self._relayout_on_failure():
            return self._fetch(limit)

    @contextmanager
    def _relayout_on_failure(self) -> Iterator[None]:
        """A folder that fails (the share gone, its folders removed) is laid out and recovered
        again on the next call, so that the source resumes once the folder is back."""
        try:
            yield
        except (DeloproUnavailable, OSError):
            self._recovered = False
            raise

    def _fetch(self, limit: int) -> Sequence[tuple[ClaimedPackage, Document | PackageProblem]]:
        self._recover()
        taken: list[tuple[ClaimedPackage, Document | PackageProblem]] = []
        for pkg in list(self._in_hand.values())[:limit]:
            self._take(pkg, taken)
        if len(taken) >= limit:
            return taken
        for ref in self.folder.scan():
            claimed = self.folder.claim(ref)
            if claimed is None:
                continue  # another instance was quicker
            self._in_hand[claimed.path] = claimed
            self._take(claimed, taken)
            if len(taken) >= limit:
                break
        return taken

    def _take(self, pkg: ClaimedPackage,
              taken: list[tuple[ClaimedPackage, Document | PackageProblem]]) -> None:
        loaded = self._load(pkg)
        if loaded is None:
            log.info("%s: package %s left work/ (settled by another instance)", self.name, pkg.name)
            self._settled(pkg)
        else:
            taken.append((pkg, loaded))

    def _vanished(self, pkg: ClaimedPackage) -> bool:
        return not os.path.lexists(pkg.path)

    def _load(self, pkg: ClaimedPackage) -> Document | PackageProblem | None:
        """The document, the reason it cannot be taken, or None when the package is gone."""
        try:
            card = self.folder.load(pkg)
        except PackageError as e:
            if self._vanished(pkg):
                return None
            return PackageProblem(pkg.name, e.code, e.message, e.file)
        except DeloproUnavailable as e:
            if self._vanished(pkg):
                return None
            tries = self._tries[pkg.path] = self._tries.get(pkg.path, 0) + 1
            if tries < MAX_LOAD_TRIES:
                raise
            return PackageProblem(pkg.name, "unreadable",
                                  f"Пакет не читается ({tries} попытки подряд): {e}", None)
        return document_from_card(self.name, pkg.name, card)

    def _settled(self, pkg: ClaimedPackage) -> None:
        self._in_hand.pop(pkg.path, None)
        self._tries.pop(pkg.path, None)

    def ack(self, pkg: ClaimedPackage, request_number: str) -> None:
        try:
            self.folder.finish(pkg, request_number=request_number, at=datetime.now(UTC))
        except OSError as e:
            if not self._vanished(pkg):
                raise DeloproUnavailable(f"Пакет {pkg.name} не перемещён в processed: {e}") from e
            log.info("%s: package %s was settled by another instance", self.name, pkg.name)
        self._settled(pkg)

    def fail(self, pkg: ClaimedPackage, code: str, message: str, file: str | None = None,
             first_seen: datetime | None = None) -> None:
        try:
            self.folder.fail(pkg, PackageError(code, message, file),
                             first_seen=first_seen or datetime.now(UTC))
        except OSError as e:
            if not self._vanished(pkg):
                raise DeloproUnavailable(f"Пакет {pkg.name} не перемещён в failed: {e}") from e
            log.info("%s: package %s was settled by another instance", self.name, pkg.name)
        self._settled(pkg)

    def receipts(self) -> Sequence[AnswerReceipt]:
        with self._relayout_on_failure():
            self._recover()
            return [AnswerReceipt(r.package, r.ok, r.text) for r in self.folder.read_receipts()]

    def wait(self, timeout: float) -> None:
        self._closed.wait(timeout)

    def close(self) -> None:
        self._closed.set()


# --- read-only loading, for `buhdesk explain` ---------------------------------------------------


def _zip_root(dest: Path) -> Path:
    top = [p for p in dest.iterdir() if not p.is_symlink()]
    names = {n.casefold() for n, _ in CARD_FILES}
    if len(top) == 1 and top[0].is_dir() and top[0].name.casefold() not in names:
        return top[0]
    return dest


def load_document(path: Path, *, source: str = "explain") -> Document | PackageProblem:
    """Read a package folder or PKG.zip without moving or changing anything."""
    path = Path(path)
    name = path.name[:-4] if path.name.lower().endswith(".zip") else path.name
    limits = Limits()
    try:
        if path.is_dir():
            return document_from_card(source, name, load_package(path, limits), read=True)
        with tempfile.TemporaryDirectory(prefix="buhdesk-explain-") as tmp:
            extract_zip(path, Path(tmp), limits)
            card = load_package(_zip_root(Path(tmp)), limits)
            return document_from_card(source, name, card, read=True)
    except PackageError as e:
        return PackageProblem(name, e.code, e.message, e.file)
    except OSError as e:
        return PackageProblem(name, "unreadable", f"Пакет не читается: {e.strerror or e}", None)
