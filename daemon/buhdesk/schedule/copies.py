"""The copies of letters and packages the system keeps outside its store, which retention must
destroy too (152-ФЗ: the act covers every copy): the letters moved to each mailbox's processed
folder (IMAP, found by Message-ID, deleted and expunged; Maildir, found by the file's unique
name) and the «ДелоПро» packages moved to ``processed/`` (found by the request number in their
receipt.json). Attachment files are the
store's (retention.py deletes them)."""

from __future__ import annotations

import contextlib
import imaplib
import json
import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from buhdesk.config import (
    Config,
    DeloproSourceConfig,
    ImapSourceConfig,
    MaildirSourceConfig,
)

log = logging.getLogger(__name__)


class CopiesUnavailable(Exception):
    """A place holding copies could not be reached or changed; the message is Russian."""


@dataclass(frozen=True)
class ItemCopies:
    """What identifies one purge item's copies: its request number (None for letters without a
    request), and the Message-IDs and source keys of its incoming letters per source name."""

    request_number: str | None
    message_ids: Mapping[str, Sequence[str]] = field(default_factory=dict)
    source_keys: Mapping[str, Sequence[str]] = field(default_factory=dict)


class CopyKeeper(Protocol):
    """A place that keeps copies; ``label`` names it in the act (Russian)."""

    label: str

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def destroy(self, item: ItemCopies) -> int:
        """Destroy the item's copies here; how many went."""
        ...


class MailboxCopies:
    """The processed folder of an IMAP source; one connection for the whole purge."""

    def __init__(self, source: ImapSourceConfig) -> None:
        self.source = source
        self.label = f"письма в папке «{source.processed_folder}» ящика «{source.name}»"
        self._client: imaplib.IMAP4 | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client.logout()

    def destroy(self, item: ItemCopies) -> int:
        ids = item.message_ids.get(self.source.name, ())
        if not ids:
            return 0
        from buhdesk_connectors.imap_admin import MailboxRefused, delete_letters

        src = self.source
        try:
            client = self._connected()
            return delete_letters(client, src.processed_folder, ids)
        except MailboxRefused as e:
            raise CopiesUnavailable(f"почтовый ящик «{src.name}»: сервер отказал ({e}); копии "
                                    "писем не удалены") from e
        except (OSError, imaplib.IMAP4.error) as e:  # the connection broke: a fresh one next
            self._client = None
            raise CopiesUnavailable(f"почтовый ящик «{src.name}» ({src.host}:{src.port}) "
                                    f"недоступен ({e}); копии писем не удалены") from e

    def _connected(self) -> imaplib.IMAP4:
        if self._client is None:
            from buhdesk_connectors.imap_admin import Mailbox, open_mailbox

            src = self.source
            self._client = open_mailbox(Mailbox(src.host, src.port, src.security, src.user,
                                                src.password(), src.cafile))
        return self._client


class MaildirCopies:
    """The processed folder of a Maildir source (``.Processed/cur``), where taken letters go."""

    def __init__(self, source: MaildirSourceConfig) -> None:
        self.name = source.name
        self.root = source.path / f".{source.processed_folder}" / "cur"
        self.label = f"письма в папке {self.root}"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def destroy(self, item: ItemCopies) -> int:
        from buhdesk_connectors.maildir import unique_part

        keys = set(item.source_keys.get(self.name, ()))
        if not keys or not self.root.is_dir():
            return 0
        gone = 0
        for path in self.root.iterdir():
            if unique_part(path.name) in keys:
                try:
                    path.unlink()
                except OSError as e:
                    raise CopiesUnavailable(f"письмо {path} не удалено: {e.strerror or e}") from e
                gone += 1
        return gone


class PackageCopies:
    """The ``processed/`` packages of a «ДелоПро» export folder."""

    def __init__(self, source: DeloproSourceConfig) -> None:
        self.root = source.path / "processed"
        self.label = f"пакеты «ДелоПро» в {self.root}"
        self._by_request: dict[str, list[Path]] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._by_request = None

    def _index(self) -> dict[str, list[Path]]:
        """Processed packages by request number (read once per purge)."""
        if self._by_request is None:
            found: dict[str, list[Path]] = {}
            for receipt in sorted(self.root.glob("*/*/*/receipt.json")):
                try:
                    number = json.loads(receipt.read_text(encoding="utf-8")).get("request")
                except (OSError, ValueError, AttributeError) as e:
                    log.warning("retention: %s unreadable (%s); package kept", receipt, e)
                    continue
                if isinstance(number, str):
                    found.setdefault(number, []).append(receipt.parent)
            self._by_request = found
        return self._by_request

    def destroy(self, item: ItemCopies) -> int:
        if item.request_number is None:
            return 0
        packages = self._index().pop(item.request_number, [])
        for package in packages:
            try:
                shutil.rmtree(package)
            except OSError as e:
                raise CopiesUnavailable(f"пакет «ДелоПро» {package} не удалён: "
                                        f"{e.strerror or e}") from e
        return len(packages)


def copy_keepers(config: Config) -> list[CopyKeeper]:
    """Every place of ``config`` that keeps copies outside the store."""
    keepers: list[CopyKeeper] = []
    for source in config.sources:
        if isinstance(source, ImapSourceConfig):
            keepers.append(MailboxCopies(source))
        elif isinstance(source, MaildirSourceConfig):
            keepers.append(MaildirCopies(source))
        else:
            keepers.append(PackageCopies(source))
    return keepers
