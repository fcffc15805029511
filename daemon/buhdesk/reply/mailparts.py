"""Letters with an HTML part (digests): multipart/alternative with the same loop-stopping headers
as :mod:`buhdesk.reply.compose`, written into the outbox like
:func:`buhdesk.reply.outbox.enqueue` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from jinja2 import TemplateError
from sqlmodel import Session

from buhdesk.reply.compose import LOOP_HEADER, Outgoing
from buhdesk.reply.templating import TemplateProblem
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Message, Raw, flushed_id
from buhdesk.trust.keys import THREAD
from buhdesk.trust.tokens import make_message_id


def compose_alternative(*, secret: bytes, sender_name: str, sender: str, domain: str,
                        to: Sequence[str], subject: str, text: str, html: str, now: datetime,
                        auto_submitted: str = "auto-generated") -> Outgoing:
    """An automatic informational letter: a plain-text part and its HTML alternative."""
    message_id = make_message_id(secret, "info", 0, domain)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((sender_name, sender))
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}>"
    msg["Auto-Submitted"] = auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    msg[LOOP_HEADER] = domain
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return Outgoing(message_id=message_id, to=tuple(to), subject=subject, data=msg.as_bytes())


def enqueue_alternative(session: Session, rt: Runtime, *, to: Sequence[str], subject: str,
                        text: str, html: str) -> Message:
    """Write one text+HTML letter into the outbox (committed by the caller's transaction)."""
    svc = rt.config.service
    out = compose_alternative(secret=rt.keys.signing_key(THREAD), sender_name=svc.name,
                              sender=svc.address,
                              domain=svc.domain, to=to, subject=subject, text=text, html=html,
                              now=rt.now())
    row = Message(direction="out", kind="info", status="pending", message_id=out.message_id,
                  from_addr=svc.address, to_addrs=", ".join(to), subject=out.subject,
                  body_text=text, size=len(out.data), created_at=rt.now())
    session.add(row)
    session.flush()
    session.add(Raw.of(flushed_id(row), out.data))  # the row is the letter's record
    return row


def render_html(rt: Runtime, filename: str, **variables: object) -> str:
    """Render an HTML template (e.g. ``digest.html.j2``) with autoescaping on; strict and sandboxed
    like every template."""
    env = rt.templates.env.overlay(autoescape=True)
    try:
        return env.get_template(filename).render(**variables)
    except TemplateError as e:
        raise TemplateProblem(f"{filename}: {e}") from e
