"""Big base64 bodies of a message, cut out before parsing and decoded in pieces.

The stdlib parser holds a message several times over: as text, as lines, as the payload joined
again, then encoded and decoded; a 35 MB letter took some 250 MB. :func:`cut` replaces each long
run of base64 lines by a one-line token first, so the parser reads a small skeleton. A part whose
body is such a run is decoded from the original bytes piece by piece into an anonymous temporary
file (:meth:`Cut.spool`); any other part holding a token gets its text back (:meth:`Cut.restore`)
and is read the usual way. Either way the values are the ones the plain parse gives.
"""

from __future__ import annotations

import binascii
import hashlib
import mmap
import re
import secrets
import tempfile
import weakref
from dataclasses import dataclass
from email.message import Message
from typing import IO

MIN_MESSAGE = 1 << 20  # smaller messages are parsed whole
MIN_RUN = 1 << 20  # base64 text at least this long is cut out
_PIECE = 1 << 20  # base64 text decoded at a time
# A stretch of base64 characters and line breaks, found from its first character on.
_STRETCH = re.compile(rb"(?<![A-Za-z0-9+/\r\n])[A-Za-z0-9+/\r\n]{%d,}" % MIN_RUN)
_TAIL = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_EOL = b"\r\n"


class Spooled(mmap.mmap):
    """The decoded bytes of a big attachment in an anonymous temporary file, mapped read-only.

    It is a buffer like ``bytes`` (``len``, slices, hashing, writing to a file); ``sha256`` is
    the hash of the bytes, and :class:`buhdesk.store.blobs.BlobStore` copies ``file`` without
    reading it into memory. The file goes away with the object.
    """

    sha256: str
    file: IO[bytes]

    def __eq__(self, other: object) -> bool:
        try:
            return memoryview(self) == memoryview(other)  # type: ignore[arg-type]  # any buffer; TypeError else
        except TypeError:
            return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # unhashable like bytearray: equal by content


def spooled(file: IO[bytes], digest: str) -> Spooled:
    """The written ``file`` as a :class:`Spooled` that closes (and so removes) it when it goes."""
    file.flush()
    data = Spooled(file.fileno(), 0, access=mmap.ACCESS_READ)
    data.sha256, data.file = digest, file
    weakref.finalize(data, file.close)
    return data


@dataclass(frozen=True)
class Decoded:
    """A spooled part: its decoded size, and the bytes unless over the size limit."""

    size: int
    data: Spooled | None


class Cut:
    """The runs cut out of one message: ``token -> (start, end)`` in ``raw``."""

    def __init__(self, raw: bytes | bytearray, prefix: str) -> None:
        self.raw, self.prefix = raw, prefix
        self.spans: dict[str, tuple[int, int]] = {}

    def restore(self, text: str) -> str:
        """``text`` with every token replaced by the original run."""
        if self.prefix not in text:
            return text
        for token, (start, end) in self.spans.items():
            if token in text:
                text = text.replace(token, self.raw[start:end].decode("ascii"))
        return text

    def restore_part(self, part: Message) -> None:
        """Put the original text back into a leaf part that holds a token."""
        payload = part._payload  # type: ignore[attr-defined]  # the body as parsed, undecoded
        if isinstance(payload, str) and self.prefix in payload:
            part.set_payload(self.restore(payload))

    def spool(self, part: Message, max_bytes: int) -> Decoded | None:
        """Decode a base64 leaf whose body is one cut-out run (plus a short clean end) into a
        temporary file; None when the part is anything else, or its base64 is not clean, so
        that the stdlib reads it (and reports the defects it finds)."""
        found = self._run_of(part)
        if found is None:
            return None
        (start, end), tail = found
        chars = end - start - self.raw.count(b"\n", start, end) - self.raw.count(b"\r", start, end)
        if (chars + len(tail)) % 4:
            return None
        last = self._last_chars(end, chars % 4)
        try:
            end_bytes = binascii.a2b_base64(last + tail, strict_mode=True)
        except binascii.Error:
            return None
        size = (chars - len(last)) // 4 * 3 + len(end_bytes)
        if size > max_bytes:
            return Decoded(size, None)
        return Decoded(size, self._decode(start, end, len(last), end_bytes))

    def _run_of(self, part: Message) -> tuple[tuple[int, int], bytes] | None:
        payload = part._payload  # type: ignore[attr-defined]  # the body as parsed, undecoded
        if not isinstance(payload, str) or payload.count(self.prefix) != 1:
            return None
        if str(part.get("content-transfer-encoding", "")).lower() != "base64":
            return None  # the stdlib's test, exactly
        body = payload.lstrip("\r\n")
        if not body.startswith(self.prefix):
            return None
        number, _, tail = body[len(self.prefix):].partition(".")
        span = self.spans.get(f"{self.prefix}{number}.")
        tail = tail.replace("\r", "").replace("\n", "")
        if span is None or not tail.isascii() or not _TAIL.fullmatch(tail):
            return None
        return span, tail.encode("ascii")

    def _last_chars(self, end: int, count: int) -> bytes:
        """The last ``count`` base64 characters of the run ending at ``end``."""
        out = b""
        pos = end
        while len(out) < count:
            pos -= 1
            if self.raw[pos] not in _EOL:
                out = bytes(self.raw[pos:pos + 1]) + out
        return out

    def _decode(self, start: int, end: int, keep: int, end_bytes: bytes) -> Spooled:
        """The run from ``start`` to ``end`` less its last ``keep`` characters, decoded into a
        temporary file, followed by ``end_bytes``."""
        file = tempfile.TemporaryFile(prefix="buhdesk-part-")  # noqa: SIM115 - outlives this
        try:
            digest = hashlib.sha256()
            carry = b""
            view = memoryview(self.raw)
            for pos in range(start, end, _PIECE):
                text = carry + bytes(view[pos:min(pos + _PIECE, end)]).translate(None, _EOL)
                if pos + _PIECE >= end and keep:
                    text = text[:-keep]
                usable = len(text) - len(text) % 4
                chunk = binascii.a2b_base64(text[:usable], strict_mode=True)
                carry = text[usable:]
                digest.update(chunk)
                file.write(chunk)
            if carry:  # _run_of keeps whole base64 quanta: a rest here is a bug, not bad input
                raise RuntimeError("a base64 run less its kept characters is not whole quanta")
            digest.update(end_bytes)
            file.write(end_bytes)
            return spooled(file, digest.hexdigest())
        except BaseException:
            file.close()
            raise


def cut(raw: bytes | bytearray) -> tuple[bytes | bytearray, Cut | None]:
    """The message with its long base64 runs replaced by tokens, and what was cut out (None,
    and ``raw`` itself, when nothing was)."""
    if len(raw) < MIN_MESSAGE:
        return raw, None
    spans = [s for s in (_line_span(raw, *m.span()) for m in _STRETCH.finditer(raw)) if s]
    if not spans:
        return raw, None
    prefix = _fresh_prefix(raw)
    found = Cut(raw, prefix)
    view = memoryview(raw)
    pieces: list[bytes | memoryview] = []
    pos = 0
    for i, (start, end) in enumerate(spans):
        token = f"{prefix}{i}."
        found.spans[token] = (start, end)
        pieces += [view[pos:start], token.encode("ascii")]
        pos = end
    pieces.append(view[pos:])
    return b"".join(pieces), found


def _fresh_prefix(raw: bytes | bytearray) -> str:
    # Tokens are "prefix + number + dot": no base64 run, no header (no colon, no leading blank),
    # no boundary, so the parser treats a token's line as it treats the run's lines.
    while True:
        prefix = f"BUHDESK.CUT.{secrets.token_hex(8)}."
        if prefix.encode("ascii") not in raw:
            return prefix


def _line_span(raw: bytes | bytearray, start: int, end: int) -> tuple[int, int] | None:
    """The stretch narrowed to whole lines: from the start of a line with a base64 character to
    the end of the last whole line, less its line break; None when under ``MIN_RUN``."""
    if start > 0 and raw[start - 1] not in _EOL:  # begins mid-line: from the next line on
        breaks = [p for p in (raw.find(b"\n", start, end), raw.find(b"\r", start, end)) if p >= 0]
        if not breaks:
            return None
        start = min(breaks)
    while start < end and raw[start] in _EOL:
        start += 1
    if end < len(raw) and raw[end] not in _EOL:  # ends mid-line: up to the line before
        end = max(raw.rfind(b"\n", start, end), raw.rfind(b"\r", start, end))
        if end < 0:
            return None
    while end > start and raw[end - 1] in _EOL:
        end -= 1
    return (start, end) if end - start >= MIN_RUN else None
