"""Composing outgoing letters: headers that thread and stop mail loops, and the RFC 822 bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from datetime import datetime

from buhdesk.tokens import make_message_id

LOOP_HEADER = "X-Buhdesk-Loop"


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
    """Build one letter; ``reply_to_ids`` is the thread (oldest first) it continues."""
    message_id = make_message_id(secret, kind, request_id, domain)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((sender_name, sender))
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}>"
    if reply_to_ids:
        msg["In-Reply-To"] = f"<{reply_to_ids[-1]}>"
        msg["References"] = " ".join(f"<{i}>" for i in reply_to_ids[-20:])
    if auto_submitted:
        msg["Auto-Submitted"] = auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    msg[LOOP_HEADER] = domain
    msg.set_content(body, charset="utf-8", cte="quoted-printable")
    for f in files:
        maintype, _, subtype = f.content_type.partition("/")
        msg.add_attachment(
            f.data, maintype=maintype or "application", subtype=subtype or "octet-stream",
            filename=f.filename,
        )
    return Outgoing(message_id=message_id, to=tuple(to), subject=subject, data=msg.as_bytes())
