"""Administrators' work on a mailbox, outside the daemon's reading: try the login and the folders'
rights as the daemon needs them (``buhdesk check --connect``), and destroy the copies of letters
kept in the processed folder (retention). One short connection each, plain imaplib."""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .imap import _quote

_READ_WRITE = re.compile(rb"\[READ-WRITE\]", re.IGNORECASE)


class MailboxRefused(Exception):
    """The server refused the login or a command; the message is the server's answer."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    security: str
    user: str
    password: str
    cafile: Path | None = None
    timeout: float = 15.0


def open_mailbox(box: Mailbox) -> imaplib.IMAP4:
    """A logged-in connection; OSError/ssl.SSLError when the server cannot be reached,
    MailboxRefused when it refuses the login."""
    context = ssl.create_default_context(cafile=str(box.cafile) if box.cafile else None)
    if box.security == "ssl":
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context,
                                                  timeout=box.timeout)
    else:
        client = imaplib.IMAP4(box.host, box.port, timeout=box.timeout)
        if box.security == "starttls":
            client.starttls(ssl_context=context)
    try:
        client.login(box.user, box.password)
    except imaplib.IMAP4.error as e:
        _close(client)
        raise MailboxRefused(_text(e.args[0] if e.args else e)) from e
    return client


def _close(client: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        client.logout()


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


@dataclass(frozen=True)
class FolderRights:
    folder: str
    exists: bool
    writable: bool
    answer: str = ""


def folder_rights(client: imaplib.IMAP4, folder: str) -> FolderRights:
    """Whether ``folder`` opens for reading and writing (flags, expunge, moving out)."""
    typ, data = client.select(_quote(folder))
    if typ != "OK":
        return FolderRights(folder, exists=False, writable=False, answer=_text(data))
    _typ, codes = client.response("READ-WRITE")
    writable = bool(codes and codes[0] is not None) or any(
        _READ_WRITE.search(d) for d in data if isinstance(d, bytes))
    client.close()
    return FolderRights(folder, exists=True, writable=writable)


def create_folder(client: imaplib.IMAP4, folder: str) -> str | None:
    """Create ``folder`` as the daemon would; None when done, else the server's answer."""
    typ, data = client.create(_quote(folder))
    joined = _text(data)
    return None if typ == "OK" or "ALREADYEXISTS" in joined.upper() else joined


def delete_letters(client: imaplib.IMAP4, folder: str, message_ids: Iterable[str]) -> int:
    """Delete and expunge the letters of ``folder`` with these Message-IDs; how many went.
    A folder that does not exist holds none."""
    wanted = sorted({m for m in message_ids if m and '"' not in m and "\\" not in m})
    if not wanted:
        return 0
    typ, _data = client.select(_quote(folder))
    if typ != "OK":
        return 0
    uids: set[bytes] = set()
    for mid in wanted:
        typ, data = client.uid("SEARCH", "HEADER", "Message-ID", f'"<{mid}>"')
        if typ != "OK":
            raise MailboxRefused(f"SEARCH {folder}: {_text(data)}")
        uids.update(u for chunk in data if chunk for u in chunk.split())
    if uids:
        uid_set = b",".join(sorted(uids, key=int)).decode("ascii")
        typ, data = client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
        if typ != "OK":
            raise MailboxRefused(f"STORE {folder}: {_text(data)}")
        if "UIDPLUS" in client.capabilities:
            typ, data = client.uid("EXPUNGE", uid_set)
        else:
            typ, data = client.expunge()
        if typ != "OK":
            raise MailboxRefused(f"EXPUNGE {folder}: {_text(data)}")
    client.close()
    return len(uids)


__all__ = ["FolderRights", "Mailbox", "MailboxRefused", "create_folder", "delete_letters",
           "folder_rights", "open_mailbox"]
