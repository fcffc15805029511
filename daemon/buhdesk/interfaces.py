"""The seams between the core and the I/O edge: what a source yields and what a transport sends.

Connectors implement these protocols; the core never imports a network library. Unit tests use
in-memory fakes of them, integration tests the real protocols on loopback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class RawItem:
    """One item taken from a source, before anything is known about it.

    ``key`` is the natural key inside the source (``UIDVALIDITY:UID`` for IMAP, the file name for
    Maildir, the document UID for «ДелоПро»); together with the source name it makes re-delivery
    harmless.
    """

    source: str
    key: str
    data: bytes
    received_at: datetime
    meta: dict[str, str] = field(default_factory=dict)


class SourceError(Exception):
    """A source could not be reached or answered wrongly; the daemon retries later."""


class Source(Protocol):
    """A place requests come from: a mailbox, a Maildir, an export folder."""

    name: str

    def fetch(self, limit: int) -> Sequence[RawItem]:
        """Return up to ``limit`` items not yet acknowledged, oldest first."""
        ...

    def ack(self, items: Sequence[RawItem]) -> None:
        """Mark items as taken (after they were committed): move to a processed folder."""
        ...

    def wait(self, timeout: float) -> None:
        """Block until new items may be there (IMAP IDLE) or ``timeout`` seconds pass."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Envelope:
    """One outgoing message ready to go: the SMTP envelope and the complete RFC 822 bytes."""

    key: str
    sender: str
    recipients: tuple[str, ...]
    data: bytes


class TransientDeliveryError(Exception):
    """Try again later: connection lost, timeout, 4xx."""


class PermanentDeliveryError(Exception):
    """Do not retry: 5xx; the message is held with this reason for a human."""


class Transport(Protocol):
    """Where outgoing mail goes: SMTP, or a folder of .eml files in the demo."""

    def send(self, envelopes: Sequence[Envelope], *,
             on_sent: Callable[[str], None] | None = None) -> dict[str, Exception | None]:
        """Send each envelope; map its key to None (sent) or the delivery error.

        ``on_sent(key)`` is called as soon as the server has accepted that envelope, before the
        next one goes; an exception it raises stops the batch and propagates."""
        ...

    def close(self) -> None: ...


# --- EDMS packages («ДелоПро») ------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentPerson:
    """A person named on a registration card: the author (our client) or an executor."""

    name: str
    email: str | None = None
    post: str = ""
    department: str = ""
    phone: str | None = None


@dataclass(frozen=True)
class DocumentFile:
    """A file of an EDMS package, checked by the connector; its bytes are read when stored."""

    name: str
    content_type: str = "application/octet-stream"
    role: str = "attachment"  # main | attachment | signature
    data: bytes | None = field(default=None, repr=False)
    path: Path | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        if self.path is None:
            raise ValueError(f"file {self.name!r} has neither bytes nor a path")
        return self.path.read_bytes()


@dataclass(frozen=True)
class Document:
    """An incoming EDMS document, whatever format its package came in.

    ``key`` is the document UID (the natural key); ``executors`` lists the responsible executor
    first. ``original`` is the registration card exactly as exported.
    """

    source: str
    key: str
    reg_number: str
    reg_date: date | None
    author: DocumentPerson | None
    summary: str
    text: str
    original_name: str
    original: bytes = field(repr=False)
    format: str = ""
    package: str = ""
    correspondent: str | None = None
    deadline: date | None = None
    executors: tuple[DocumentPerson, ...] = ()
    resolution_id: str | None = None
    files: tuple[DocumentFile, ...] = ()


@dataclass(frozen=True)
class PackageProblem:
    """A package that cannot be taken; ``message`` is Russian and says what to fix."""

    package: str
    code: str
    message: str
    file: str | None = None


@dataclass(frozen=True)
class AnswerReceipt:
    """The EDMS's word on one of our answer packages: imported (``ok``) or refused."""

    package: str
    ok: bool
    text: str


class PackageSource(Protocol):
    """An EDMS export folder: packages in, each finished or failed after the store commits."""

    name: str

    def fetch(self, limit: int) -> Sequence[tuple[Any, Document | PackageProblem]]:
        """Claim up to ``limit`` complete packages; each with an opaque handle."""
        ...

    def ack(self, handle: Any, request_number: str) -> None:
        """The package is registered (committed): move it to processed."""
        ...

    def fail(self, handle: Any, code: str, message: str, file: str | None = None,
             first_seen: datetime | None = None) -> None:
        """The package cannot be taken: move it aside with the (Russian) reason."""
        ...

    def receipts(self) -> Sequence[AnswerReceipt]:
        """Receipts for our answer packages that arrived since the last call."""
        ...

    def wait(self, timeout: float) -> None: ...

    def close(self) -> None: ...
