"""The seams between the core and the I/O edge: what a source yields and what a transport sends.

Connectors implement these protocols; the core never imports a network library. Unit tests use
in-memory fakes of them, integration tests the real protocols on loopback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


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

    def send(self, envelopes: Sequence[Envelope]) -> dict[str, Exception | None]:
        """Send each envelope; map its key to None (sent) or the delivery error."""
        ...

    def close(self) -> None: ...
