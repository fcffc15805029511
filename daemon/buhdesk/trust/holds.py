"""Holding letters a human must look at before anything their sender would cause: a sender our
mail server did not authenticate, and a flood of new requests from one address.

A held letter is never dropped: it stays in the store with the Russian reason, appears in
``buhdesk held`` and in the audit trail, and the administrators are told (one letter per held
letter, and past the hourly cap one summary). ``buhdesk requeue`` after a human looked at it
releases it: the letter is routed again and these checks let it pass (the trail keeps the
release).
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.reply.outbox import notify_admins
from buhdesk.route.mime import ParsedMessage
from buhdesk.service.runtime import Runtime
from buhdesk.store.append_rows import insert_event
from buhdesk.store.models import Event, Message, Request
from buhdesk.trust.floods import bump
from buhdesk.trust.sender_auth import hold_reason
from buhdesk.trust.settings import auth_settings, flood_settings

log = logging.getLogger(__name__)

HELD_ACTION = "held-untrusted"


def released(session: Session, msg: Message) -> bool:
    """Whether a human requeued this letter after it was last held by these checks."""
    actions = session.execute(select(col(Event.action)).where(
        col(Event.message_pk) == msg.id,
        col(Event.action).in_((HELD_ACTION, "requeued")),
    ).order_by(col(Event.id))).scalars().all()
    return HELD_ACTION in actions and actions[-1] == "requeued"


def hold_if_unauthentic(session: Session, rt: Runtime, msg: Message,
                        data: bytes | bytearray,
                        parsed: ParsedMessage, *, staff: bool,
                        request: Request | None) -> bool:
    """Hold the letter when our mail server says its sender is not who ``From:`` claims."""
    reason = hold_reason(auth_settings(rt.config), data, parsed.from_addr, staff=staff)
    if reason is None or released(session, msg):
        return False
    _hold(session, rt, msg, reason, request=request, check="auth")
    return True


def hold_if_flooding(session: Session, rt: Runtime, msg: Message, sender: str) -> bool:
    """Hold a new request from an address that sent more than the hourly threshold of them."""
    cap = flood_settings(rt.config).registrations_per_hour
    step = bump(session, f"registrations:{sender.lower()}", rt.now(), cap)
    if step.within or released(session, msg):
        return False
    reason = (f"с адреса {sender} за час пришло больше {cap} новых обращений: письмо задержано "
              "до проверки человеком")
    _hold(session, rt, msg, reason, request=None, check="flood", tell=step.first_over)
    return True


def _hold(session: Session, rt: Runtime, msg: Message, reason: str, *,
          request: Request | None, check: str, tell: bool = True) -> None:
    msg.status, msg.reason, msg.kind = "held", reason, ""
    insert_event(session, stage="route", action=HELD_ACTION, message_pk=msg.id,
                 request_id=request.id if request else None,
                 detail=json.dumps({"check": check, "reason": reason, "from": msg.from_addr},
                                   ensure_ascii=False))
    log.warning("route: %s:%s held: %s", msg.source, msg.source_key, reason)
    if tell:
        _tell_admins(session, rt, msg, reason)


def _tell_admins(session: Session, rt: Runtime, msg: Message, reason: str) -> None:
    """One letter per held letter; past the hourly cap one summary, then silence."""
    cap = flood_settings(rt.config).notices_per_hour
    step = bump(session, "admins:held", rt.now(), cap)
    if step.within:
        notify_admins(session, rt, "письмо задержано до проверки", text=(
            f"Письмо №{msg.id} от {msg.from_addr} «{msg.subject}» задержано.\n\n"
            f"Причина: {reason}.\n\nОтправителю и клиенту ничего не отправлено. Проверьте "
            f"письмо («buhdesk held»); если оно подлинное, верните его в обработку командой "
            f"«buhdesk requeue {msg.id}»."))
    elif step.first_over:
        notify_admins(session, rt, "задержано много писем", text=(
            f"За этот час задержано больше {cap} писем; о следующих задержанных в этот час "
            "письма не отправляются. "
            "Список и причины: «buhdesk held»."))
