"""An IMAP mailbox as a buhdesk Source: fetch raw messages by UID, move acknowledged ones away.

Keys are ``UIDVALIDITY:UID``. Messages are read with ``BODY.PEEK[]`` (flags untouched) in bulk
UID FETCH commands; acknowledged ones are moved to a processed folder. One fetch hands out at most
``batch_bytes`` of mail (by ``RFC822.SIZE``), so a letter bigger than that comes alone and a few
big letters are never held at once. Lost connections are re-opened with exponential back-off; a
failed login is reported at once.
"""

from __future__ import annotations

import imaplib
import io
import logging
import re
import select
import ssl
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal, TypeVar

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError, MailboxStarttlsError
from imap_tools.imap_utf7 import utf7_encode
from imap_tools.mailbox import BaseMailBox
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from buhdesk.interfaces import RawItem, SourceError

log = logging.getLogger(__name__)

Security = Literal["ssl", "starttls", "none"]
T = TypeVar("T")

# RFC 2177: re-issue IDLE at least every 29 minutes.
IDLE_MAX = 28 * 60.0
_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_WAKE = re.compile(rb"^\* \d+ (EXISTS|RECENT)\b")
# Errors after which the connection is dropped and the operation retried on a new one.
TRANSIENT = (OSError, EOFError, imaplib.IMAP4.abort)


class _Unusable(Exception):
    """The server answered in a way that makes this connection unusable; reconnect."""


def parse_internaldate(value: bytes) -> datetime:
    """Parse an IMAP INTERNALDATE (``17-Jul-1996 02:44:25 -0700``) into aware UTC."""
    text = value.decode("ascii").strip()
    return datetime.strptime(text, "%d-%b-%Y %H:%M:%S %z").astimezone(UTC)


class ImapSource:
    """Read a folder of an IMAP mailbox; ``ack`` moves messages into ``processed_folder``.

    Within one connection a UID is handed out once; items not acknowledged come again after a
    reconnect (or ``close()``), so a crash between fetch and commit loses nothing.
    """

    def __init__(
        self, *, name: str, host: str, port: int, user: str, password: str,
        folder: str = "INBOX", processed_folder: str = "Processed",
        security: Security = "ssl", use_idle: bool = True, timeout: float = 30.0,
        batch: int = 100, cafile: str | None = None, reconnect_tries: int = 5,
        reconnect_wait: float = 1.0, reconnect_wait_max: float = 60.0,
        batch_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        if security not in ("ssl", "starttls", "none"):
            raise ValueError(f"unknown IMAP security {security!r}")
        self.name = name
        self.host, self.port, self.user = host, port, user
        self._password = password
        self.folder, self.processed_folder = folder, processed_folder
        self.security, self.use_idle = security, use_idle
        self.timeout, self.batch, self.cafile = timeout, max(1, batch), cafile
        self.batch_bytes = batch_bytes
        self.reconnect_tries = max(1, reconnect_tries)
        self.reconnect_wait, self.reconnect_wait_max = reconnect_wait, reconnect_wait_max
        self._box: BaseMailBox | None = None
        self._uidvalidity = ""
        self._handed: set[int] = set()
        self._processed_ready = False

    def __repr__(self) -> str:
        return (f"ImapSource(name={self.name!r}, {self.user}@{self.host}:{self.port}, "
                f"folder={self.folder!r}, security={self.security!r})")

    # -- Source protocol ----------------------------------------------------------------------

    def fetch(self, limit: int) -> Sequence[RawItem]:
        """Return up to ``limit`` messages not handed out on this connection, oldest first, of
        ``batch_bytes`` together at most (always at least one)."""
        if limit <= 0:
            return []
        return self._run("fetch", lambda: self._fetch(limit))

    def ack(self, items: Sequence[RawItem]) -> None:
        """Move the items to the processed folder (only those of the current UIDVALIDITY)."""
        if items:
            self._run("ack", lambda: self._ack(items))

    def wait(self, timeout: float) -> None:
        """Block until the folder changes (IDLE) or ``timeout`` passes."""
        if timeout <= 0:
            return
        box = self._box
        if not self.use_idle or box is None or not self._has(box, "IDLE"):
            time.sleep(timeout)
            return
        try:
            self._idle(box, min(timeout, IDLE_MAX))
        except (*TRANSIENT, _Unusable, imaplib.IMAP4.error) as e:
            log.warning("%s: IDLE interrupted (%s); reconnecting on next fetch", self.name, e)
            self._drop()

    def close(self) -> None:
        """Log out; un-acknowledged items will be fetched again on the next connection."""
        box, self._box = self._box, None
        self._handed.clear()
        if box is not None:
            try:
                box.logout()
            except (*TRANSIENT, imaplib.IMAP4.error):
                pass
            self._shutdown(box)

    # -- connection -----------------------------------------------------------------------------

    def _run(self, what: str, operation: Callable[[], T]) -> T:
        """Run ``operation`` on a live connection, reconnecting with back-off on transient
        errors."""
        retrying = Retrying(
            stop=stop_after_attempt(self.reconnect_tries),
            wait=wait_exponential(multiplier=self.reconnect_wait, max=self.reconnect_wait_max),
            retry=retry_if_exception_type((*TRANSIENT, _Unusable)),
            before_sleep=self._log_retry,
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    try:
                        self._ensure_connected()
                        return operation()
                    except (*TRANSIENT, _Unusable):
                        self._drop()
                        raise
        except RetryError as e:
            cause = e.last_attempt.exception()
            raise SourceError(
                f"{self.name}: IMAP {what} failed after {self.reconnect_tries} attempts "
                f"({self.user}@{self.host}:{self.port}): {cause}"
            ) from cause
        except imaplib.IMAP4.error as e:
            self._drop()
            raise SourceError(f"{self.name}: IMAP {what} failed: {e}") from e
        raise AssertionError("unreachable")  # pragma: no cover - Retrying always returns or raises

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s: IMAP connection to %s:%s lost (%s); retry %d in %.1f s",
                    self.name, self.host, self.port, error, state.attempt_number, delay)

    def _ensure_connected(self) -> None:
        if self._box is not None:
            return
        box = self._open()
        try:
            box.login(self.user, self._password, initial_folder=None)
        except MailboxLoginError as e:
            self._shutdown(box)
            raise SourceError(
                f"{self.name}: IMAP login as {self.user!r} to {self.host}:{self.port} was "
                f"refused; check the user name and password ({e.command_result[1]!r})"
            ) from e
        self._refresh_capabilities(box)
        self._uidvalidity = self._select(box)
        self._box = box
        self._handed.clear()
        self._processed_ready = False
        log.info("%s: connected to %s:%s as %s, folder %r, UIDVALIDITY %s",
                 self.name, self.host, self.port, self.user, self.folder, self._uidvalidity)

    def _open(self) -> BaseMailBox:
        try:
            if self.security == "none":
                return MailBoxUnencrypted(self.host, self.port, timeout=self.timeout)
            context = ssl.create_default_context(cafile=self.cafile)
            if self.security == "ssl":
                return MailBox(self.host, self.port, timeout=self.timeout, ssl_context=context)
            return MailBoxStartTls(self.host, self.port, timeout=self.timeout,
                                   ssl_context=context)
        except MailboxStarttlsError as e:
            raise SourceError(f"{self.name}: STARTTLS refused by {self.host}:{self.port}") from e
        except ssl.SSLCertVerificationError as e:
            raise SourceError(f"{self.name}: TLS certificate of {self.host} rejected: {e}") from e

    @staticmethod
    def _refresh_capabilities(box: BaseMailBox) -> None:
        # Servers announce MOVE, UIDPLUS and friends only after login.
        typ, data = box.client.capability()
        if typ == "OK" and data and data[0]:
            box.client.capabilities = tuple(data[0].decode("ascii", "replace").upper().split())

    @staticmethod
    def _has(box: BaseMailBox, capability: str) -> bool:
        return capability in box.client.capabilities

    def _select(self, box: BaseMailBox) -> str:
        typ, data = box.client.select(_quote(self.folder))
        if typ != "OK":
            raise SourceError(f"{self.name}: cannot open IMAP folder {self.folder!r}: {data!r}")
        _typ, values = box.client.response("UIDVALIDITY")
        if not values or not isinstance(values[0], bytes):
            raise _Unusable("server sent no UIDVALIDITY")
        return values[0].decode("ascii")

    def _drop(self) -> None:
        box, self._box = self._box, None
        self._handed.clear()
        if box is not None:
            self._shutdown(box)

    @staticmethod
    def _shutdown(box: BaseMailBox) -> None:
        try:
            box.client.shutdown()
        except (*TRANSIENT, imaplib.IMAP4.error):
            pass

    def _client(self) -> imaplib.IMAP4:
        if self._box is None:
            raise _Unusable("not connected")
        return self._box.client

    # -- fetch ----------------------------------------------------------------------------------

    def _fetch(self, limit: int) -> list[RawItem]:
        client = self._client()
        client.untagged_responses.clear()  # unsolicited EXISTS/FETCH would pile up otherwise
        typ, data = client.uid("SEARCH", "ALL")
        _check(typ, data, "UID SEARCH")
        uids = sorted(int(u) for u in b" ".join(d for d in data if d).split())
        wanted = self._within_budget(client, [u for u in uids if u not in self._handed][:limit])
        items: list[RawItem] = []
        for start in range(0, len(wanted), self.batch):
            items.extend(self._fetch_chunk(client, wanted[start:start + self.batch]))
        self._handed.update(int(i.meta["uid"]) for i in items)
        return items

    def _within_budget(self, client: imaplib.IMAP4, uids: list[int]) -> list[int]:
        """The first of ``uids`` whose sizes add up to ``batch_bytes`` at most, at least one."""
        if not uids:
            return uids
        typ, data = client.uid("FETCH", _uid_set(uids), "(UID RFC822.SIZE)")
        _check(typ, data, "UID FETCH RFC822.SIZE")
        sizes = _sizes(data)
        total = 0
        for count, uid in enumerate(uids):
            total += sizes.get(uid, 0)  # gone meanwhile: the FETCH of its body finds nothing
            if total > self.batch_bytes and count:
                return uids[:count]
        return uids

    def _fetch_chunk(self, client: imaplib.IMAP4, uids: list[int]) -> list[RawItem]:
        typ, data = client.uid("FETCH", _uid_set(uids), "(UID INTERNALDATE BODY.PEEK[])")
        _check(typ, data, "UID FETCH")
        wanted = set(uids)
        found = {uid: (raw, date) for uid, raw, date in _parse_fetch(data) if uid in wanted}
        return [self._item(uid, *found[uid]) for uid in uids if uid in found]

    def _item(self, uid: int, raw: bytes, date: datetime | None) -> RawItem:
        meta = {"uidvalidity": self._uidvalidity, "uid": str(uid), "folder": self.folder}
        return RawItem(source=self.name, key=f"{self._uidvalidity}:{uid}", data=raw,
                       received_at=date or datetime.now(UTC), meta=meta)

    # -- ack ------------------------------------------------------------------------------------

    def _ack(self, items: Sequence[RawItem]) -> None:
        client = self._client()
        uids = self._current_uids(items)
        if not uids:
            return
        self._ensure_processed_folder(client)
        for start in range(0, len(uids), 500):
            self._move(client, uids[start:start + 500])
        self._handed.difference_update(uids)
        log.debug("%s: moved %d messages to %r", self.name, len(uids), self.processed_folder)

    def _current_uids(self, items: Sequence[RawItem]) -> list[int]:
        uids = []
        for item in items:
            meta = item.meta
            if (item.source != self.name or meta.get("folder") != self.folder
                    or meta.get("uidvalidity") != self._uidvalidity):
                log.warning("%s: not acknowledging %s: UIDVALIDITY or folder changed",
                            self.name, item.key)
                continue
            uids.append(int(meta["uid"]))
        return sorted(set(uids))

    def _ensure_processed_folder(self, client: imaplib.IMAP4) -> None:
        if self._processed_ready:
            return
        typ, data = client.list('""', _quote(self.processed_folder))
        if not (typ == "OK" and data and data[0]):
            typ, data = client.create(_quote(self.processed_folder))
            if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(
                    d for d in data if isinstance(d, bytes)):
                raise SourceError(f"{self.name}: cannot create folder "
                                  f"{self.processed_folder!r}: {data!r}")
            log.info("%s: created folder %r", self.name, self.processed_folder)
        self._processed_ready = True

    def _move(self, client: imaplib.IMAP4, uids: list[int]) -> None:
        uid_set, target = _uid_set(uids), _quote(self.processed_folder)
        if "MOVE" in client.capabilities:
            typ, data = client.uid("MOVE", uid_set, target)
            _check(typ, data, "UID MOVE")
            return
        typ, data = client.uid("COPY", uid_set, target)
        _check(typ, data, "UID COPY")
        typ, data = client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
        _check(typ, data, "UID STORE")
        if "UIDPLUS" in client.capabilities:
            typ, data = client.uid("EXPUNGE", uid_set)
        else:
            typ, data = client.expunge()
        _check(typ, data, "EXPUNGE")

    # -- idle -----------------------------------------------------------------------------------

    def _idle(self, box: BaseMailBox, timeout: float) -> None:
        client = box.client
        # imaplib has no public IDLE before Python 3.14.
        tag = client._command("IDLE")
        while client._get_response() is not None:  # None means the "+ idling" continuation
            if client.tagged_commands.get(tag) is not None:
                raise _Unusable(f"IDLE refused: {client.tagged_commands[tag]!r}")
        deadline = time.monotonic() + timeout
        try:
            while self._readable(client, deadline - time.monotonic()):
                line = client._get_line()
                if line.startswith(b"* BYE"):
                    raise _Unusable(line.decode("ascii", "replace"))
                if _WAKE.match(line):
                    break
        finally:
            client.send(b"DONE\r\n")
        typ, data = client._command_complete("IDLE", tag)
        _check(typ, data, "IDLE")

    @staticmethod
    def _readable(client: imaplib.IMAP4, timeout: float) -> bool:
        """True when a line is ready: already buffered, or the socket polls readable in time."""
        if timeout <= 0:
            return False
        sock = client.sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        if _buffered(client):
            return True
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(timeout * 1000))


def _buffered(client: imaplib.IMAP4) -> bool:
    """Whether imaplib's read buffer already holds bytes, without blocking."""
    sock = client.sock
    previous = sock.gettimeout()
    sock.settimeout(0)
    file = client.file
    if not isinstance(file, io.BufferedReader):  # imaplib reads through sock.makefile("rb")
        return False
    try:
        return bool(file.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.settimeout(previous)


def _parse_fetch(data: list[object]) -> list[tuple[int, bytes, datetime | None]]:
    """Split an imaplib UID FETCH answer into (uid, raw message, INTERNALDATE)."""
    result: list[tuple[int, bytes, datetime | None]] = []
    head, body = b"", None
    for part in [*data, None]:
        if isinstance(part, tuple):
            _flush(result, head, body)
            head, body = part[0], part[1]
        elif isinstance(part, bytes) and body is not None and not _UID.search(head):
            head += part  # items the server sent after the literal
        else:
            _flush(result, head, body)
            head, body = b"", None
    return result


def _sizes(data: list[object]) -> dict[int, int]:
    """UID to RFC822.SIZE from a ``UID FETCH (UID RFC822.SIZE)`` answer."""
    sizes: dict[int, int] = {}
    for part in data:
        line = part[0] if isinstance(part, tuple) else part
        if isinstance(line, bytes):
            uid, size = _UID.search(line), _SIZE.search(line)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _flush(result: list[tuple[int, bytes, datetime | None]], head: bytes,
           body: bytes | None) -> None:
    uid = _UID.search(head)
    if body is None or uid is None:
        return
    date = _INTERNALDATE.search(head)
    result.append((int(uid.group(1)), body, parse_internaldate(date.group(1)) if date else None))


def _uid_set(uids: Sequence[int]) -> str:
    """Compress sorted UIDs into an IMAP sequence set (``1:5,7,9:10``)."""
    ranges: list[str] = []
    ordered = sorted(uids)
    start = prev = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == prev + 1:
            prev = uid
            continue
        ranges.append(str(start) if start == prev else f"{start}:{prev}")
        if uid is not None:
            start = prev = uid
    return ",".join(ranges)


def _quote(folder: str) -> str:
    """Quote a folder name for the wire, in IMAP's modified UTF-7 (RFC 3501 5.1.3), which is
    ASCII, so imaplib sends the same bytes for it as it would for the encoded form."""
    encoded = utf7_encode(folder).decode("ascii")
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(typ: str, data: list[object], command: str) -> None:
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{command} answered {typ}: {data!r}")
