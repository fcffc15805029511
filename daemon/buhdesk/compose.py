"""Composing outgoing letters: headers that thread and stop mail loops, and the RFC 822 bytes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import charset, encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import format_datetime, formataddr

from buhdesk.tokens import make_message_id

LOOP_HEADER = "X-Buhdesk-Loop"
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP
# Printable ASCII words with single spaces: what compat32 folding leaves exactly as it is.
_PLAIN_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*\Z")


class _WirePolicy(Compat32):
    """compat32 with CRLF; a short plain-ASCII header is written as is instead of through the
    ``Header`` folding machinery (the same bytes, a tenth of the time)."""

    def fold_binary(self, name: str, value: object) -> bytes:
        if (isinstance(value, str) and len(name) + len(value) <= 76
                and _PLAIN_VALUE.match(value)):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


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
    data: bytes


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
) -> Outgoing:
    """Build one letter; ``reply_to_ids`` is the thread (oldest first) it continues.

    Built with the compat32 classes: several times faster than ``EmailMessage`` with the
    default policy, which matters when every registered request queues two letters.
    """
    message_id = make_message_id(secret, kind, request_id, domain)
    text = MIMEText(body, "plain", _UTF8_QP)
    msg: MIMEBase = text
    if files:
        msg = MIMEMultipart()
        msg.attach(text)
        for f in files:
            msg.attach(_attachment(f))
    msg["From"] = formataddr((sender_name, sender), charset="utf-8")
    msg["To"] = ", ".join(to)
    msg["Subject"] = Header(subject, "utf-8", header_name="Subject")
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}>"
    if reply_to_ids:
        msg["In-Reply-To"] = f"<{reply_to_ids[-1]}>"
        msg["References"] = " ".join(f"<{i}>" for i in reply_to_ids[-20:])
    if auto_submitted:
        msg["Auto-Submitted"] = auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    msg[LOOP_HEADER] = domain
    data = msg.as_bytes(policy=_WIRE)
    return Outgoing(message_id=message_id, to=tuple(to), subject=subject, data=data)


def _attachment(f: FileToSend) -> MIMEBase:
    maintype, _, subtype = f.content_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(f.data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", f.filename))
    return part
