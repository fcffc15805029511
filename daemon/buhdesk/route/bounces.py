"""Bounces joined to the letter they report: a delivery status notification (RFC 3464) names
our letter by its Message-ID (inside the returned message or its headers); the token in that id
leads to the request. The bounce is recorded on the request, the address marked undeliverable
(shown in ``buhdesk list``) and the accountant told — once per bounced letter.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.reply.outbox import notify
from buhdesk.route.mime import Attachment, ParsedMessage
from buhdesk.rules.routing import Absence
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Event, Message, Request, Undeliverable
from buhdesk.trust.keys import THREAD
from buhdesk.trust.staff_letters import for_assignee
from buhdesk.trust.tokens import find_token

log = logging.getLogger(__name__)

_MESSAGE_ID = re.compile(r"^message-id:\s*<([^>\s]+)>", re.IGNORECASE | re.MULTILINE)
_RECIPIENT = re.compile(r"^(?:final|original)-recipient:\s*rfc822;\s*<?([^>\s]+@[^>\s]+?)>?\s*$",
                        re.IGNORECASE | re.MULTILINE)
_ACTION = re.compile(r"^action:\s*(\w+)", re.IGNORECASE | re.MULTILINE)
_STATUS = re.compile(r"^(?:diagnostic-code|status):\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_REPORT_PARTS = ("message/delivery-status", "message/global-delivery-status",
                 "text/rfc822-headers", "message/rfc822-headers", "message/rfc822")
# Letters to clients: their bounce is news for the accountant. A bounced notice to staff is not.
_TO_CLIENT = ("ack", "answer")


@dataclass(frozen=True)
class Report:
    """What a delivery status notification says about one of our letters."""

    message_ids: tuple[str, ...]
    recipients: tuple[str, ...]
    failed: bool  # False: only delayed, delivery goes on
    reason: str


def _text(a: Attachment) -> str:
    data = a.data if isinstance(a.data, bytes) else b""
    return data.decode("utf-8", "replace")


def read_report(parsed: ParsedMessage) -> Report:
    texts = [parsed.body_text, *(_text(a) for a in parsed.attachments
                                 if a.content_type.lower() in _REPORT_PARTS)]
    ids = [m.message_id for m in parsed.forwarded if m.message_id]
    ids += [i for t in texts for i in _MESSAGE_ID.findall(t)]
    recipients = [r.lower() for t in texts for r in _RECIPIENT.findall(t)]
    recipients += [r.strip().lower() for r in
                   parsed.headers.get("x-failed-recipients", "").split(",") if "@" in r]
    actions = {a.lower() for t in texts for a in _ACTION.findall(t)}
    reasons = [r.strip() for t in texts for r in _STATUS.findall(t)]
    failed = not actions or bool(actions - {"delayed", "relayed", "delivered", "expanded"})
    return Report(tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(recipients)), failed,
                  "; ".join(dict.fromkeys(reasons))[:500])


def join_bounce(session: Session, rt: Runtime, msg: Message, parsed: ParsedMessage,
                absences: Sequence[Absence]) -> Request | None:
    """Record the bounce on the request of the letter it reports; None when it names none."""
    report = read_report(parsed)
    token = find_token(rt.keys.keys(THREAD), report.message_ids)
    if token is None:
        return None
    request = session.get(Request, token.request_id)
    if request is None:
        return None
    bounced = session.execute(select(Message).where(
        col(Message.message_id).in_(report.message_ids), col(Message.direction) == "out",
    ).order_by(col(Message.id).desc()).limit(1)).scalars().first()
    addresses = list(report.recipients) or (
        [a.strip() for a in bounced.to_addrs.split(",") if a.strip()] if bounced else [])
    msg.request_id = request.id
    detail = {"addresses": addresses, "failed": report.failed, "reason": report.reason,
              "letter": bounced.kind if bounced else None}
    session.add(Event(request_id=request.id, message_pk=msg.id, stage="route",
                      action="bounced" if report.failed else "delivery-delayed",
                      detail=json.dumps(detail, ensure_ascii=False)))
    if not report.failed:
        return request
    for address in addresses:
        _mark(session, rt, address, request, report.reason)
    log.info("route: %s:%s is a bounce of %s's %s to %s", msg.source, msg.source_key,
             request.number, detail["letter"], ", ".join(addresses))
    if bounced is not None and bounced.kind in _TO_CLIENT:
        for_assignee(rt, request, absences, lambda login: notify(
            session, rt, request, "bounce", login=login, addresses=addresses,
            bounce_reason=report.reason, bounced_subject=bounced.subject))
    return request


def _mark(session: Session, rt: Runtime, address: str, request: Request, reason: str) -> None:
    row = session.get(Undeliverable, address)
    if row is None:
        session.add(Undeliverable(address=address, reason=reason, request_id=request.id,
                                  first_at=rt.now(), last_at=rt.now()))
        return
    row.last_at, row.bounces, row.reason, row.request_id = (rt.now(), row.bounces + 1,
                                                            reason or row.reason, request.id)


def undeliverable(session: Session, addresses: Sequence[str]) -> dict[str, Undeliverable]:
    """The undeliverable marks of ``addresses`` (for listings)."""
    wanted = [a.lower() for a in addresses if a]
    if not wanted:
        return {}
    rows = session.execute(select(Undeliverable).where(
        col(Undeliverable.address).in_(wanted))).scalars()
    return {r.address: r for r in rows}
