"""Parsing of incoming mail into plain values the pipeline can route on: pure functions, no I/O
but one: a big attachment of a big letter is decoded into an anonymous temporary file
(:mod:`buhdesk.route.bigparts`) rather than into memory.

Real mail from a ministry's correspondents is often broken: raw 8-bit headers, wrong or unknown
charsets, missing boundaries, truncated base64. Nothing here raises on such mail; what went wrong is
written to ``defects`` for the logs. Only bytes that are not an e-mail at all raise
:class:`MessageParseError`. The stdlib ``email`` package builds the tree with ``compat32`` (several
times faster than ``policy.default``); headers, parameters and charsets are decoded here.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.errors import InvalidBase64LengthDefect
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from types import MappingProxyType
from urllib.parse import unquote_to_bytes

import charset_normalizer

from buhdesk.route.bigparts import Cut, Decoded, Spooled, cut
from buhdesk.route.htmltext import html_to_text, sanitize_html

KEPT_HEADERS = (
    "auto-submitted", "precedence", "x-autoreply", "x-autorespond", "x-auto-response-suppress",
    "list-id", "list-unsubscribe", "return-path", "content-type", "x-buhdesk-loop",
    "x-failed-recipients", "x-mailer", "sender",
)
_MAIL_HEADERS = frozenset(
    {"from", "to", "cc", "subject", "date", "message-id", "received", "return-path", "sender",
     "mime-version", "content-type", "reply-to", "delivered-to", "in-reply-to", "references"}
)
MAX_FORWARD_DEPTH = 3
MAX_FILENAME = 180


@dataclass(frozen=True)
class Attachment:
    """A file carried by a message; ``data`` is empty when it was over the size limit. A big
    attachment of a big letter comes as :class:`~buhdesk.route.bigparts.Spooled`, a read-only buffer
    over a temporary file that is read like ``bytes``."""

    filename: str
    content_type: str
    data: bytes | Spooled
    size: int
    sha256: str
    inline: bool
    truncated: bool


@dataclass(frozen=True)
class ParsedMessage:
    """Everything routing needs from one message, decoded; raw bytes are kept elsewhere."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_addr: str | None
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    subject: str
    date: datetime | None
    body_text: str
    body_html: str | None
    attachments: tuple[Attachment, ...]
    forwarded: tuple[ParsedMessage, ...]
    headers: Mapping[str, str]
    defects: tuple[str, ...]
    parts_ignored: int = 0  # MIME parts past the limit: not read at all (the raw letter has them)


class MessageParseError(Exception):
    """The bytes are not an e-mail at all (empty, no header block, binary data).

    ``str(e)`` is the English detail for logs; ``e.reason`` says the same in Russian for the people
    who read the held list and the head's digest."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


# --- charsets -------------------------------------------------------------------------------

_ALIASES = {
    "x-mac-cyrillic": "mac_cyrillic", "x-mac-ukrainian": "mac_cyrillic", "win-1251": "cp1251",
    "x-cp1251": "cp1251", "cp-1251": "cp1251", "windows1251": "cp1251", "x-win1251": "cp1251",
    "koi8r": "koi8_r", "koi8": "koi8_r", "x-koi8-r": "koi8_r", "ibm866": "cp866",
    "x-ibm866": "cp866", "dos-866": "cp866", "866": "cp866", "cp-866": "cp866",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "ks_c_5601-1987": "cp949", "gb2312": "gb18030",
    "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8",
}
_NOT_TEXT = frozenset({"unicode_escape", "raw_unicode_escape", "idna", "punycode", "utf-7",
                       "charmap", "undefined", "mbcs", "oem", "rot-13"})
_SINGLE_BYTE = frozenset({"cp1251", "koi8-r", "koi8-u", "cp866", "cp1252", "iso8859-5",
                          "mac-cyrillic", "iso8859-2", "iso8859-15", "iso8859-1"})
_LATIN = frozenset({"cp1252", "iso8859-1", "iso8859-2", "iso8859-15"})
_CYRILLIC_GUESSES = ("cp1251", "koi8_r", "cp866")
# What a mailer means by a narrower label than its bytes need.
_SUPERSETS = {"big5": "big5hkscs", "cp950": "big5hkscs", "shift_jis": "cp932", "euc_kr": "cp949",
              "iso2022_jp": "iso2022_jp_2", "euc_jp": "euc_jis_2004", "gbk": "gb18030"}
# cp1251 is by far the commonest in Russian mail: it wins near-ties (e.g. text in capitals).
_PRIOR = {"cp1251": 0.4}
# Frequencies of Russian letters (per mille), for a plausibility score of decoded text.
_FREQ = dict(zip(
    "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
    (110, 85, 80, 74, 67, 63, 55, 47, 45, 44, 35, 32, 30, 28, 26, 20, 19, 17, 17, 16, 16, 14,
     12, 10, 9, 7, 6, 5, 4, 3, 2, 0.4, 1),
    strict=True,
))
_FOREIGN_PENALTY = -9.0
_SAMPLE = 16_384


@lru_cache(maxsize=256)
def _codec(name: str) -> str | None:
    """Python codec name for a declared MIME charset, or None if unknown or not a text charset."""
    label = name.strip().strip("\"'").lower().split("*")[0]
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):  # ValueError: surrogates or NULs in the label
        return None
    if info.name in _NOT_TEXT or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


@lru_cache(maxsize=1)
def _letter_scores() -> dict[str, float]:
    scores = {ch: math.log(f / 1000) for ch, f in _FREQ.items()}
    # Capitals cost a little more: text read in the wrong code page is mostly capitals.
    scores.update({ch.upper(): s - 0.5 for ch, s in scores.items()})
    scores.update(dict.fromkeys("іїєґІЇЄҐ«»№—–…’“”„", -5.0))
    return scores


def cyrillic_score(text: str) -> float:
    """Mean log-likelihood of the non-ASCII characters as Russian letters (higher is likelier)."""
    scores = _letter_scores()
    values = [scores.get(ch, _FOREIGN_PENALTY) for ch in text[:_SAMPLE] if ch > "\x7f"]
    return sum(values) / len(values) if values else 0.0


def guess_decode(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown charset: ASCII (or 7-bit ISO-2022 Japanese/Korean), UTF-8; else
    Cyrillic when the text reads as Russian, else what a detector (charset-normalizer) finds
    (CJK code pages), else Latin (windows-1252, the superset of ISO-8859-1)."""
    if data.isascii():
        escaped = _iso2022(data)
        return (data.decode(escaped, "replace"), escaped) if escaped else (data.decode("ascii"),
                                                                           "ascii")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:_SAMPLE]
    best, score = _best_cyrillic(sample)
    mixed = _mixed_script(sample.decode(best, "replace"))
    if score >= _CYRILLIC_MIN and mixed < _MIXED_MAX:
        return data.decode(best, "replace"), best
    detected = _detect(sample)
    if detected:
        return data.decode(detected, "replace"), detected
    if mixed >= _MIXED_MAX:
        return data.decode("cp1252", "replace"), "cp1252"
    return data.decode(best, "replace"), best


_ISO2022 = ((b"\x1b$)C", "iso2022_kr"), (b"\x1b$B", "iso2022_jp_2"), (b"\x1b$@", "iso2022_jp_2"),
            (b"\x1b$(D", "iso2022_jp_2"), (b"\x1b(J", "iso2022_jp_2"))
# Below this mean score the text is not Russian (Russian prose scores about -3; CJK text read
# in a Cyrillic code page about -5).
_CYRILLIC_MIN = -4.3
# Above this share of words mixing Latin and non-ASCII letters the text is Latin («Müller» read
# in cp1251 is «Mьller»; Russian words are never mixed).
_MIXED_MAX = 0.3
_CJK = frozenset({"gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950", "shift_jis",
                  "shift_jis_2004", "shift_jisx0213", "cp932", "euc_jp", "euc_jis_2004",
                  "euc_jisx0213", "euc_kr", "cp949", "johab"})
_WORDS = re.compile(r"[^\W\d_]+")


def _iso2022(data: bytes) -> str | None:
    """The ISO-2022 code a 7-bit text switches into by its escape sequences, if any."""
    if b"\x1b" not in data:
        return None
    return next((codec for escape, codec in _ISO2022 if escape in data), None)


def _mixed_script(text: str) -> float:
    """Share of the words with non-ASCII letters that also have ASCII letters."""
    words = [w for w in _WORDS.findall(text) if not w.isascii()]
    if not words:
        return 0.0
    return sum(1 for w in words if any(ch.isascii() for ch in w)) / len(words)


def _detect(sample: bytes) -> str | None:
    """A CJK code page charset-normalizer finds for the bytes, or None (it is not trusted to tell
    Russian or Latin code pages apart on short mail text: those are decided here)."""
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        return None
    codec = _codec(best.encoding)
    return codec if codec in _CJK else None


def _best_cyrillic(sample: bytes) -> tuple[str, float]:
    scored = {c: cyrillic_score(sample.decode(c, "replace")) + _PRIOR.get(c, 0.0)
              for c in _CYRILLIC_GUESSES}
    best = max(scored, key=scored.__getitem__)
    return best, scored[best]


def _looks_miscoded(data: bytes, codec: str) -> str | None:
    """A better Cyrillic code page when a declared single-byte charset gives implausible text."""
    sample = data[:_SAMPLE]
    high = sum(b > 0x7F for b in sample)
    letters = sum(chr(b).isalpha() for b in sample if b < 0x80)
    if high < (1 if codec in _LATIN else 6) or high < 0.3 * (high + letters):
        return None
    declared = cyrillic_score(sample.decode(codec, "replace"))
    best, score = _best_cyrillic(sample)
    if _mixed_script(sample.decode(best, "replace")) >= _MIXED_MAX:
        return None  # Latin text with its accents: «Müller» is not «Mьller»
    return best if score > declared + 0.7 else None


def decode_text(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Text of a body part and a defect note when the declared charset could not be trusted."""
    if not declared:
        text, used = guess_decode(data)
        return text, (f"no charset declared for 8-bit text, decoded as {used}"
                      if used not in ("ascii", "utf-8") else None)
    codec = _codec(declared)
    if codec is None:
        text, used = guess_decode(data)
        return text, f"charset {declared!r} unknown, decoded as {used}"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        wider = _SUPERSETS.get(codec)
        if wider:  # a GB2312 label on GBK text, Big5 with HKSCS characters …
            try:
                return data.decode(wider), None
            except UnicodeDecodeError:
                pass
        text, used = guess_decode(data)
        return text, f"charset {declared!r} does not fit the bytes, decoded as {used}"
    better = _looks_miscoded(data, codec) if codec in _SINGLE_BYTE else None
    if better and better != codec:
        return data.decode(better, "replace"), f"charset {declared!r} is wrong, decoded as {better}"
    return text, None


# --- headers and parameters -----------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/]")


def _to_bytes(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def lenient_b64decode(text: str | bytes) -> tuple[bytes, bool]:
    """Base64 decoded even with missing padding or a cut-off end; True when it was clean."""
    try:
        return binascii.a2b_base64(text), True
    except (binascii.Error, ValueError):
        pass
    clean = _NOT_B64.sub("", text if isinstance(text, str) else text.decode("latin-1"))
    clean = clean[: len(clean) - (len(clean) % 4 == 1)]
    try:
        return binascii.a2b_base64(clean + "=" * (-len(clean) % 4)), False
    except binascii.Error:
        return b"", False


def _decode_word(kind: str, text: str) -> bytes:
    if kind in "qQ":
        return binascii.a2b_qp(text.encode("ascii", "replace"), header=True)
    return lenient_b64decode(text)[0]


def _decode_chunk(data: bytes, charset: str | None) -> str:
    return decode_text(data, charset)[0] if charset else guess_decode(data)[0]


def decode_header(value: str) -> str:
    """Decoded header value: RFC 2047 words (also broken ones) and raw 8-bit bytes, unfolded."""
    value = _FOLD.sub("", value)
    if value.isascii() and "=?" not in value:
        return value.replace("\x00", "")
    out: list[str] = []
    pending: tuple[str, bytearray] | None = None
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos:match.start()]
        if gap and not (pending and gap.isspace()):
            if pending:
                out.append(_decode_chunk(bytes(pending[1]), pending[0]))
                pending = None
            out.append(_decode_chunk(_to_bytes(gap), None))
        charset = match.group(1).split("*")[0]
        data = _decode_word(match.group(2), match.group(3))
        if pending and pending[0].lower() == charset.lower():
            pending[1].extend(data)
        else:
            if pending:
                out.append(_decode_chunk(bytes(pending[1]), pending[0]))
            pending = (charset, bytearray(data))
        pos = match.end()
    if pending:
        out.append(_decode_chunk(bytes(pending[1]), pending[0]))
    out.append(_decode_chunk(_to_bytes(value[pos:]), None))
    return "".join(out).replace("\x00", "")


_PARAM = re.compile(r';\s*([^\s=;]+)\s*(?:=\s*("(?:\\.|[^"\\])*"?|[^;]*))?')
_CONTINUATION = re.compile(r"^(.+?)\*(\d+)(\*?)$")


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"'):
        value = re.sub(r"\\(.)", r"\1", value[1:-1] if value.endswith('"') else value[1:])
    return value


def _decode_2231(pieces: list[tuple[str, bool]]) -> str:
    """Join RFC 2231 pieces (value, percent-encoded?) and decode with their declared charset."""
    first, encoded = pieces[0]
    charset = None
    if encoded and first.count("'") >= 2:
        charset, _, first = first.split("'", 2)
        pieces = [(first, True), *pieces[1:]]
    chunks: list[bytes] = []
    encoded_run = ""
    for value, enc in pieces:
        if enc:
            encoded_run += value  # joined first: some mailers split a %XX escape across pieces
            continue
        chunks.extend((unquote_to_bytes(_to_bytes(encoded_run)), _to_bytes(value)))
        encoded_run = ""
    chunks.append(unquote_to_bytes(_to_bytes(encoded_run)))
    return decode_text(b"".join(chunks), charset or None)[0]


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type/Disposition value into its lower-case token and decoded params."""
    token, _, rest = _FOLD.sub("", value).partition(";")
    plain: dict[str, str] = {}
    pieces: dict[str, list[tuple[int, str, bool]]] = {}
    for name, raw in _PARAM.findall(";" + rest):
        name = name.lower()
        cont = _CONTINUATION.match(name)
        if cont:
            pieces.setdefault(cont[1], []).append((int(cont[2]), _unquote(raw), bool(cont[3])))
        elif name.endswith("*"):
            pieces.setdefault(name[:-1], []).append((0, _unquote(raw), True))
        else:
            plain.setdefault(name, decode_header(_unquote(raw)))
    for name, parts in pieces.items():
        parts.sort(key=lambda p: p[0])
        plain[name] = _decode_2231([(v, enc) for _, v, enc in parts])
    return token.strip().lower(), plain


def raw_headers(msg: Message) -> dict[str, str]:
    """First occurrence of each header, lower-case name to raw (undecoded) value."""
    heads: dict[str, str] = {}
    for name, value in msg.raw_items():
        heads.setdefault(name.lower(), value if isinstance(value, str) else str(value))
    return heads


# --- attachment names -----------------------------------------------------------------------

_RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul", "clock$"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(10)}
)
_EXTENSIONS = {
    "application/pdf": ".pdf", "application/msword": ".doc", "application/zip": ".zip",
    "application/vnd.ms-excel": ".xls", "application/ms-tnef": ".dat", "text/plain": ".txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "text/html": ".html",
    "message/rfc822": ".eml", "message/delivery-status": ".txt", "text/calendar": ".ics",
    "application/pkcs7-signature": ".p7s", "application/x-pkcs7-signature": ".p7s",
    "text/rfc822-headers": ".txt", "application/xml": ".xml", "text/xml": ".xml",
}
_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')


def _truncate_name(name: str) -> str:
    if len(name) <= MAX_FILENAME:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and 0 < len(ext) <= 10:
        return stem[: MAX_FILENAME - len(ext) - 1].rstrip(". ") + "." + ext
    return name[:MAX_FILENAME]


def safe_filename(name: str, content_type: str, index: int) -> str:
    """A file name safe on any disk: no directories, control characters or reserved names."""
    parts = [p for p in name.replace("\\", "/").split("/") if p.strip(" .")]
    name = parts[-1] if parts else ""
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = " ".join(_UNSAFE_CHARS.sub("_", name).split()).strip(". ")
    if name.split(".")[0].strip().lower() in _RESERVED_NAMES:
        name = "_" + name
    name = _truncate_name(name)
    return name or f"вложение-{index}{_EXTENSIONS.get(content_type, '.bin')}"


# --- the MIME tree --------------------------------------------------------------------------

@dataclass
class _Budget:
    """Limits shared by a message and everything forwarded inside it."""

    max_parts: int
    max_bytes: int
    cut: Cut | None = None  # the base64 runs taken out of a big message before parsing
    parts: int = 0
    exhausted: bool = False


@dataclass
class _Walk:
    """What one message's tree yields while it is walked."""

    budget: _Budget
    depth: int
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    forwarded: list[ParsedMessage] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def visit(self, part: Message) -> None:
        if not self._take_part():
            return
        heads = raw_headers(part)
        ctype, cparams = _content_type(heads, part)
        if ctype in ("message/rfc822", "message/global"):
            self._forward(part)
        elif ctype == "message/delivery-status":
            self._attach(ctype, "", "attachment", heads, _status_bytes(part, self.budget.cut))
        elif part.is_multipart():
            for sub in _subparts(part):
                self.visit(sub)
        elif ctype.startswith("multipart/"):
            self._recover_multipart(part, ctype, cparams)
        else:
            self._leaf(part, ctype, cparams, heads)
        self.defects.extend(_parser_defects(part))  # after decoding, which adds base64 defects

    def _take_part(self) -> bool:
        budget = self.budget
        budget.parts += 1
        if budget.parts <= budget.max_parts:
            return True
        if not budget.exhausted:
            budget.exhausted = True
            self.defects.append(f"more than {budget.max_parts} MIME parts, the rest ignored")
        return False

    def _leaf(
        self, part: Message, ctype: str, cparams: dict[str, str], heads: dict[str, str]
    ) -> None:
        disposition, dparams = parse_params(heads.get("content-disposition", ""))
        filename = dparams.get("filename") or cparams.get("name") or ""
        budget = self.budget
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text, defect = decode_text(_payload_bytes(part, budget.cut), cparams.get("charset"))
            if defect:
                self.defects.append(defect)
            (self.plain if ctype == "text/plain" else self.html).append(text)
            return
        spooled = budget.cut.spool(part, budget.max_bytes) if budget.cut else None
        if spooled is None:
            self._attach(ctype, filename, disposition, heads, _payload_bytes(part, budget.cut))
        else:
            self._attach(ctype, filename, disposition, heads, b"", spooled)

    def _attach(self, ctype: str, filename: str, disposition: str, heads: dict[str, str],
                data: bytes, spooled: Decoded | None = None) -> None:
        name = safe_filename(filename, ctype, len(self.attachments) + 1)
        size = spooled.size if spooled else len(data)
        kept: bytes | Spooled = data
        truncated = size > self.budget.max_bytes
        if truncated:
            self.defects.append(f"attachment {name!r} over limit ({size} bytes), not kept")
            kept = b""
        elif spooled and spooled.data is not None:
            kept = spooled.data
        inline = disposition == "inline" or (not disposition and "content-id" in heads)
        digest = kept.sha256 if isinstance(kept, Spooled) else hashlib.sha256(kept).hexdigest()
        self.attachments.append(Attachment(name, ctype, kept, size, digest, inline, truncated))

    def _forward(self, part: Message) -> None:
        if self.depth >= MAX_FORWARD_DEPTH:
            self.defects.append(f"forwarded message nested over {MAX_FORWARD_DEPTH} deep, skipped")
            return
        if part.is_multipart():  # the parser made the enclosed message a sub-tree
            inner = _subparts(part)[0]
            text = inner.get_payload()
            if not inner.keys() and isinstance(text, str):
                inner = _reparse_encoded(self.budget.cut.restore(text) if self.budget.cut
                                         else text, part)
        else:
            inner = BytesParser(policy=compat32).parsebytes(
                _payload_bytes(part, self.budget.cut).lstrip())
        self.forwarded.append(_build(inner, self.budget, self.depth + 1))

    def _recover_multipart(self, part: Message, ctype: str, cparams: dict[str, str]) -> None:
        data = _payload_bytes(part, self.budget.cut)
        found = re.search(rb"^--([^\s\"]{1,200}?)(?:--)?[ \t]*\r?$", data, re.MULTILINE)
        if found:
            head = _to_bytes(f'Content-Type: {ctype}; boundary="') + found[1] + b'"\r\n\r\n'
            rebuilt = BytesParser(policy=compat32).parsebytes(head + data)
            if rebuilt.is_multipart():
                self.defects.append(f"{ctype} boundary missing or wrong, recovered from the body")
                for sub in _subparts(rebuilt):
                    self.visit(sub)
                return
        self.defects.append(f"{ctype} without usable boundary, read as text")
        self.plain.append(decode_text(data, cparams.get("charset"))[0])


def _subparts(part: Message) -> list[Message]:
    """The parts of a multipart part (its payload is a list of them)."""
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _content_type(heads: dict[str, str], part: Message) -> tuple[str, dict[str, str]]:
    ctype, params = parse_params(heads.get("content-type", ""))
    if ctype.count("/") != 1 or not all(ctype.split("/")):
        ctype = part.get_default_type()
    return ctype, params


def _reparse_encoded(text: str, part: Message) -> Message:
    """A message/rfc822 part sent base64- or QP-encoded (not allowed, yet common)."""
    cte = raw_headers(part).get("content-transfer-encoding", "").strip().lower()
    data = _to_bytes(text)
    if cte == "base64":
        data = lenient_b64decode(text)[0]
    elif cte == "quoted-printable":
        data = binascii.a2b_qp(data)
    return BytesParser(policy=compat32).parsebytes(data.lstrip())


def _payload_bytes(part: Message, cut: Cut | None = None) -> bytes:
    """The decoded body of a leaf part; base64 cut off mid-quantum is decoded as far as it goes,
    and so is a body whose transfer encoding is spelled oddly («"base64"», «base64; x»)."""
    if cut is not None:
        cut.restore_part(part)
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return b""
    if part.defects and isinstance(part.defects[-1], InvalidBase64LengthDefect):
        data = lenient_b64decode(data)[0]  # the stdlib returned the undecoded text
    cte = str(part.get("content-transfer-encoding", "")).lower()
    token = _CTE_TOKEN.match(cte)
    if token and token[1] != cte:  # the stdlib compares the whole value and did not decode
        if token[1] == "base64":
            data = lenient_b64decode(data)[0]
        elif token[1] == "quoted-printable":
            data = binascii.a2b_qp(data)
    elif not cte and part.get_content_maintype() == "text" and _BARE_BASE64.match(data):
        decoded, clean = lenient_b64decode(data)
        if clean and _reads_as_text(decoded):
            data = decoded  # a mailer that base64-encoded the text and forgot to say so
    return data


_CTE_TOKEN = re.compile(r"^[\s\"']*(base64|quoted-printable)\b")
_BARE_BASE64 = re.compile(rb"\A\s*(?:[A-Za-z0-9+/]{16,}={0,2}[ \t]*\r?\n)+"
                          rb"(?:[A-Za-z0-9+/]*={0,2}\s*)?\Z")


def _reads_as_text(data: bytes) -> bool:
    """Decoded bytes that are text: UTF-8 or 8-bit, without control characters."""
    if not data:
        return False
    controls = sum(b < 9 or 13 < b < 32 for b in data)
    return controls == 0 and (data.isascii() or bool(re.search(rb"[\x80-\xff]", data)))


def _status_bytes(part: Message, cut: Cut | None) -> bytes:
    if not part.is_multipart():
        return _payload_bytes(part, cut)
    blocks = ("\n".join(f"{k}: {v}" for k, v in b.raw_items()) for b in _subparts(part))
    return _to_bytes("\n\n".join(blocks) + "\n")


def _parser_defects(part: Message) -> list[str]:
    return [f"MIME defect {type(d).__name__}" + (f": {d}" if str(d) else "")
            for d in getattr(part, "defects", ())]


# --- header fields --------------------------------------------------------------------------

_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def _ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    value = decode_header(value)
    found = _ANGLE_ID.findall(value) or [t.strip("<>") for t in re.split(r"[\s,]+", value)]
    return tuple(dict.fromkeys(i for i in found if i))


def _addresses(value: str | None) -> list[tuple[str, str]]:
    if not value:
        return []
    pairs = getaddresses([_FOLD.sub("", value)])
    out: list[tuple[str, str]] = []
    for name, addr in pairs:
        name, addr = decode_header(name).strip(), decode_header(addr).strip()
        if " " in addr or "<" in addr:  # a whole mailbox in one encoded word
            inner = getaddresses([addr])
            out.extend((decode_header(n).strip() or name, a.strip().lower()) for n, a in inner)
        else:
            out.append((name, addr.lower()))
    return [(name, addr) for name, addr in out if addr]


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(decode_header(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _clean_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").lstrip("\ufeff")


_INVISIBLE = re.compile("[\\s\u00a0\u00ad\u034f\u115f\u1160\u180e\u200b-\u200f\u2028-\u202f"
                        "\u205f-\u2064\u3000\u3164\ufeff\ufffc]*")


def _visible(text: str) -> bool:
    return not _INVISIBLE.fullmatch(text)


def _body(walk: _Walk) -> tuple[str, str | None]:
    """The letter's text: its plain parts, else its HTML as text; "" when nothing in it shows
    (blank lines, non-breaking and zero-width spaces, an HTML body of ``<br>`` and images)."""
    plain = "\n\n".join(t for t in walk.plain if _visible(t))
    html = "\n".join(walk.html) if walk.html else None
    text = plain if plain or html is None else html_to_text(html)
    text = _clean_text(text).strip("\n") if _visible(text) else ""
    return text, sanitize_html(_clean_text(html)) if html else None


def _build(msg: Message, budget: _Budget, depth: int) -> ParsedMessage:
    walk = _Walk(budget, depth)
    walk.visit(msg)
    heads = raw_headers(msg)
    sender = _addresses(heads.get("from"))
    text, html = _body(walk)
    message_ids = _ids(heads.get("message-id"))
    return ParsedMessage(
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=_ids(heads.get("in-reply-to")),
        references=_ids(heads.get("references")),
        from_addr=sender[0][1] if sender else None,
        from_name=sender[0][0] if sender else "",
        to=tuple(dict.fromkeys(a for _, a in _addresses(heads.get("to")))),
        cc=tuple(dict.fromkeys(a for _, a in _addresses(heads.get("cc")))),
        reply_to=tuple(dict.fromkeys(a for _, a in _addresses(heads.get("reply-to")))),
        subject=" ".join(decode_header(heads.get("subject", "")).split()),
        date=_date(heads.get("date")),
        body_text=text,
        body_html=html,
        attachments=tuple(walk.attachments),
        forwarded=tuple(walk.forwarded),
        headers=MappingProxyType(
            {n: " ".join(decode_header(heads[n]).split()) for n in KEPT_HEADERS if n in heads}
        ),
        defects=tuple(dict.fromkeys(walk.defects)),
        parts_ignored=max(0, walk.budget.parts - walk.budget.max_parts),
    )


# --- entry point ----------------------------------------------------------------------------

_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
_LEADING_BLANKS = re.compile(rb"[\r\n\t ]*")
_ONLY_BLANKS = re.compile(rb"[ \t\n\r\x0b\x0c]*\Z")


def _strip_envelope(raw: bytes | bytearray) -> bytes | bytearray:
    """The message without leading blank lines and an mbox ``From `` line; raise if not mail.
    A message without either is returned as it is, not copied (a big letter may be a
    ``bytearray``)."""
    blanks = _LEADING_BLANKS.match(raw)  # matches always, if only the empty string
    start = blanks.end() if blanks else 0
    if raw.startswith((b"From ", b">From "), start):
        newline = raw.find(b"\n", start)
        start = len(raw) if newline < 0 else newline + 1
    if _ONLY_BLANKS.match(raw, start):
        raise MessageParseError("empty message", "письмо пустое (нет ни заголовков, ни текста)")
    if not _HEADER_LINE.match(raw, start):
        raise MessageParseError("no header block: the data does not start with a header line",
                                "это не письмо: данные не начинаются с заголовков")
    return raw[start:] if start else raw


def parse_message(raw: bytes | bytearray, *, max_attachment_bytes: int = 30_000_000,
                  max_parts: int = 500) -> ParsedMessage:
    """Parse one RFC 822 message; never raises on broken mail, only on data that is not mail."""
    raw = _strip_envelope(raw)
    skeleton, runs = cut(raw)  # a big letter without its long base64 runs
    parser = BytesParser(policy=compat32)
    try:
        msg = parser.parsebytes(skeleton)
    except RecursionError:  # thousands of nested parts: keep the headers, read the body as text
        return _parse_flat(raw, max_attachment_bytes, max_parts)
    del skeleton
    if not raw_headers(msg).keys() & _MAIL_HEADERS:
        raise MessageParseError("no e-mail headers (From, To, Subject, Date, Message-ID, ...)",
                                "в данных нет заголовков письма (От, Кому, Тема, Дата)")
    try:
        return _build(msg, _Budget(max_parts, max_attachment_bytes, runs), 0)
    except RecursionError:
        return _parse_flat(raw, max_attachment_bytes, max_parts)


def _parse_flat(raw: bytes | bytearray, max_attachment_bytes: int, max_parts: int) -> ParsedMessage:
    msg = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    if not raw_headers(msg).keys() & _MAIL_HEADERS:
        raise MessageParseError("no e-mail headers (From, To, Subject, Date, Message-ID, ...)",
                                "в данных нет заголовков письма (От, Кому, Тема, Дата)")
    msg.set_type("text/plain")
    parsed = _build(msg, _Budget(max_parts, max_attachment_bytes), 0)
    return replace(parsed, defects=(*parsed.defects, "MIME nesting too deep, body read as text"))
