"""Composing outgoing letters: headers that thread and stop mail loops, and the RFC 822 bytes.

A plain-text letter (every acknowledgment and notice) is written directly: the same headers in the
same order as the ``email.mime`` classes write them, RFC 2047 words and quoted-printable from the C
codecs in ``binascii``. A letter with files, or with a value that needs the email package's care
(a non-ASCII address, a multi-line subject), goes through ``email.mime``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import base64mime, charset, encoders, message_from_bytes, quoprimime
from email import policy as email_policy
from email.header import Header
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from functools import lru_cache

from buhdesk.reply.wireformat import (
    MAX_HEADER_LINE,
    MAX_WORD,
    PLAIN_VALUE,
    encoded_words,
    folded,
    quoted_printable,
)
from buhdesk.route.bigparts import Spooled
from buhdesk.trust.tokens import make_message_id

LOOP_HEADER = "X-Buhdesk-Loop"


class _Utf8Headers(charset.Charset):
    """utf-8 whose header encoding splits lines exactly as ``Charset`` does, measuring each line
    as it grows instead of re-encoding it after every character (quadratic on long subjects)."""

    def header_encode_lines(self, string: str, maxlengths: Iterator[int]) -> list[str | None]:
        codec = self.output_codec or "us-ascii"
        module = self._get_encoder(  # type: ignore[attr-defined]  # private, not in typeshed
            string.encode(codec))
        if codec != "utf-8" or self.get_output_charset() != codec or module not in (
                quoprimime, base64mime):
            return super().header_encode_lines(string, maxlengths)
        extra = len(codec) + charset.RFC2047_CHROME_LEN
        lines: list[str | None] = []
        current: list[str] = []
        size = 0  # bytes of the current line (base64) or their encoded length (Q)
        maxlen = next(maxlengths) - extra
        for character in string:
            piece = character.encode(codec)
            grown = size + (len(piece) if module is base64mime else quoprimime.header_length(piece))
            length = (grown + 2) // 3 * 4 if module is base64mime else grown  # header_length
            if length > maxlen:
                if not lines and not current:
                    lines.append(None)
                else:
                    lines.append(module.header_encode("".join(current).encode(codec), codec))
                current = [character]
                size = grown - size
                maxlen = next(maxlengths) - extra
            else:
                current.append(character)
                size = grown
        lines.append(module.header_encode("".join(current).encode(codec), codec))
        return lines


_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP
_UTF8_HEADERS = _Utf8Headers("utf-8")
_ADDRESS = re.compile(r"[!-~]+\Z")
# What MIMEText writes first, in its order.
_TEXT_HEAD = ('Content-Type: text/plain; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
              "Content-Transfer-Encoding: quoted-printable\r\n")


class _WirePolicy(Compat32):
    """compat32 with CRLF; a short plain-ASCII header is written as is instead of through the
    ``Header`` folding machinery (the same bytes, a tenth of the time)."""

    def fold_binary(self, name: str, value: object) -> bytes:
        if (isinstance(value, str) and len(name) + len(value) <= 76
                and PLAIN_VALUE.match(value)):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)  # type: ignore[arg-type]  # str or Header


_WIRE = _WirePolicy(linesep="\r\n")


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    to: tuple[str, ...]
    subject: str
    data: bytes


@dataclass(frozen=True)
class FileToSend:
    filename: str
    content_type: str
    data: bytes | Spooled  # a big attachment of a letter stays in its temporary file


def compose(
    *,
    secret: bytes,
    kind: str,
    request_id: int,
    sender_name: str,
    sender: str,
    domain: str,
    to: Sequence[str],
    subject: str,
    body: str,
    now: datetime,
    reply_to_ids: Sequence[str] = (),
    auto_submitted: str | None = None,
    files: Sequence[FileToSend] = (),
    staff: str = "",
    cc: Sequence[str] = (),
) -> Outgoing:
    """Build one letter; ``reply_to_ids`` is the thread (oldest first) it continues; ``staff``
    is the login of the staff member the letter's token is issued to."""
    message_id = make_message_id(secret, kind, request_id, domain, staff=staff)
    letter = _letter(message_id=message_id, sender_name=sender_name, sender=sender,
                     domain=domain, to=to, subject=subject, body=body, now=now,
                     reply_to_ids=reply_to_ids, auto_submitted=auto_submitted, cc=cc)
    data = None if files else _plain_bytes(letter)
    if data is None:
        data = _mime_bytes(letter, files)
    return Outgoing(message_id=message_id, to=(*to, *cc), subject=subject, data=data)


@dataclass(frozen=True, slots=True)
class _Letter:
    """One letter's header values and body, as both writers take them."""

    sender_name: str
    sender: str
    to: str
    subject: str
    body: str
    fields: tuple[tuple[str, str], ...]  # Date onwards, in order


def _letter(*, message_id: str, sender_name: str, sender: str, domain: str, to: Sequence[str],
            subject: str, body: str, now: datetime, reply_to_ids: Sequence[str] = (),
            auto_submitted: str | None = None, cc: Sequence[str] = ()) -> _Letter:
    fields = [("Date", format_datetime(now)), ("Message-ID", f"<{message_id}>")]
    if cc:
        fields.insert(0, ("Cc", ", ".join(cc)))
    if reply_to_ids:
        fields.append(("In-Reply-To", f"<{reply_to_ids[-1]}>"))
        fields.append(("References", " ".join(f"<{i}>" for i in reply_to_ids[-20:])))
    if auto_submitted:
        fields.append(("Auto-Submitted", auto_submitted))
        fields.append(("X-Auto-Response-Suppress", "All"))
    fields.append((LOOP_HEADER, domain))
    return _Letter(sender_name=sender_name, sender=sender, to=", ".join(to), subject=subject,
                   body=body, fields=tuple(fields))


def _plain_bytes(letter: _Letter) -> bytes | None:
    """The letter as text/plain quoted-printable, or None when a value is not the common case."""
    subject = letter.subject
    if not subject or subject.splitlines() != [subject]:
        return None  # the email package folds line breaks in a subject its own way
    try:
        body = quoted_printable(letter.body)
        subject_words = encoded_words(subject, MAX_HEADER_LINE - len("Subject: "), MAX_WORD)
    except UnicodeEncodeError:
        return None  # lone surrogates: the email package decides
    head = [_TEXT_HEAD]
    for line in (_from_field(letter.sender_name, letter.sender), folded("To", letter.to),
                 "Subject: " + "\r\n ".join(subject_words),
                 *(folded(name, value) for name, value in letter.fields)):
        if line is None:
            return None  # a value the email package has to encode or fold
        head.append(line + "\r\n")
    head.append("\r\n")
    return "".join(head).encode("ascii") + body


@lru_cache(maxsize=32)
def _from_field(name: str, address: str) -> str | None:
    """``From:`` with a non-ASCII display name as one RFC 2047 word, as ``formataddr`` writes it.

    One word even past 75 characters: the whitespace between two encoded words of a display name
    is dropped by RFC 2047 readers but kept by Python's address parser (CPython gh-128110), so a
    name split into words would read differently in the two.
    """
    if not _ADDRESS.match(address):
        return None
    if name.isascii():
        return folded("From", formataddr((name, address)))
    (word,) = encoded_words(name, sys.maxsize, sys.maxsize)
    first, mailbox = f"From: {word}", f"<{address}>"
    lines = [first] if len(first) <= MAX_HEADER_LINE else ["From:", word]
    if len(lines[-1]) + 1 + len(mailbox) <= MAX_HEADER_LINE:
        lines[-1] += " " + mailbox
    else:
        lines.append(mailbox)
    return "\r\n ".join(lines)


def _mime_bytes(letter: _Letter, files: Sequence[FileToSend] = ()) -> bytes:
    """The letter through the compat32 ``email.mime`` classes (several times faster than
    ``EmailMessage`` with the default policy, several times slower than :func:`_plain_bytes`)."""
    text = MIMEText(letter.body, "plain", _UTF8_QP)  # type: ignore[arg-type]  # a Charset too
    msg: MIMEBase = text
    if files:
        msg = MIMEMultipart()
        msg.attach(text)
        for f in files:
            msg.attach(_attachment(f))
    msg["From"] = formataddr((letter.sender_name, letter.sender), charset="utf-8")
    msg["To"] = letter.to
    subject = Header(letter.subject, _UTF8_HEADERS, header_name="Subject")
    msg["Subject"] = subject  # type: ignore[assignment]  # compat32 takes a Header
    for name, value in letter.fields:
        msg[name] = value
    return msg.as_bytes(policy=_WIRE)


def _attachment(f: FileToSend) -> MIMEBase:
    maintype, _, subtype = f.content_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(f.data)  # type: ignore[arg-type]  # Spooled: a buffer read like bytes
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", f.filename))
    return part


def text_of(data: bytes | bytearray) -> str:
    """The text of a letter :func:`compose` wrote (its ``body``, lines ending in ``\\n``): an
    outgoing letter's text is kept only in its stored bytes."""
    msg = message_from_bytes(bytes(data), policy=email_policy.default)
    if not isinstance(msg, EmailMessage):
        raise TypeError("the default policy parses into EmailMessage")
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    text = part.get_content()
    return text.replace("\r\n", "\n") if isinstance(text, str) else ""
