"""Requests taken by phone or in person (order 76, §2.2): an accountant registers them so they get
a number, a deadline, an answer and a survey like a letter does. Also the one place that opens a
request from a decision, reused for follow-ups that come after the reopening period.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from buhdesk.reply import outbox
from buhdesk.route.absences import absences_from_store
from buhdesk.rules.classify import Letter
from buhdesk.route.lifecycle import OPEN_STATES, next_state
from buhdesk.store.models import Event, Message, Request
from buhdesk.rules.book import with_duty_accountant
from buhdesk.service.runtime import Runtime
from buhdesk.store.engine import next_number

log = logging.getLogger(__name__)
OFFLINE_CHANNELS = {"phone": "телефон", "office": "личный приём"}


class RegistrationError(ValueError):
    """The request cannot be registered; the message is Russian."""


@dataclass(frozen=True)
class Intake:
    """What a new request is made of, whatever the channel."""

    channel: str
    source: str
    client_email: str | None
    client_name: str
    subject: str
    text: str
    at: datetime
    actor: str = "buhdesk"
    parent_id: int | None = None


def open_counts(session: Session) -> dict[str, int]:
    """Open requests per accountant (as :func:`buhdesk.route.letters.open_counts`; route imports us)."""
    rows = session.execute(select(Request.assignee, func.count()).where(
        Request.state.in_(OPEN_STATES), Request.assignee.is_not(None),  # type: ignore[attr-defined]
    ).group_by(Request.assignee))
    return {login: n for login, n in rows}


def open_request(session: Session, rt: Runtime, intake: Intake,
                 message: Message | None = None) -> tuple[Request, Message]:
    """Decide, number and store a request with its first incoming message (``message`` when it is
    already stored, else a new one from the intake); acknowledge it to the client (when there is
    an address) and notify the accountant."""
    letter = Letter(subject=intake.subject, body=intake.text, sender=intake.client_email or "",
                    sender_name=intake.client_name)
    decision = with_duty_accountant(rt.rules.decide(
        letter=letter, at=intake.at, open_counts=open_counts(session),
        absences=[*rt.rules.ruleset.absences, *absences_from_store(session)],
    ), rt.config.service.duty_accountant)
    request = Request(
        number=next_number(session, rt.config.service.number_prefix,
                           intake.at.astimezone(rt.config.service.tz).year),
        channel=intake.channel, source=intake.source, client_email=intake.client_email,
        client_name=intake.client_name, subject=intake.subject[:500], process=decision.process,
        need=decision.need, assignee=decision.assignee, due_at=decision.due_at,
        due_rule=decision.due_rule, parent_id=intake.parent_id, created_at=intake.at,
    )
    if decision.assignee:
        request.state = next_state(request.state, "assign")
    session.add(request)
    session.flush()
    msg = message or Message(direction="in", source=intake.source,
                             source_key=f"{intake.source}:{request.number}",
                             from_addr=intake.client_email, subject=intake.subject[:500],
                             body_text=intake.text, created_at=intake.at)
    msg.request_id, msg.kind, msg.status = request.id, "request", "routed"
    session.add(msg)
    session.flush()
    for action, detail in (("registered", {"number": request.number, "channel": intake.channel,
                                           "parent_id": intake.parent_id}),
                           ("decided", {"rules": decision.rules})):
        session.add(Event(request_id=request.id, message_pk=msg.id, stage="route", action=action,
                          actor=intake.actor,
                          detail=json.dumps(detail, ensure_ascii=False, default=str)))
    outbox.acknowledge_document(session, rt, request, decision, body_text=intake.text,
                                attachments=[])
    return request, msg


def register_offline(session: Session, rt: Runtime, channel: str, client_email: str | None,
                     client_name: str, subject: str, text: str, taken_by: str) -> Request:
    """Register a request taken by phone or in the office by the accountant ``taken_by``."""
    if channel not in OFFLINE_CHANNELS:
        raise RegistrationError(f"канал «{channel}» не подходит: укажите phone (телефон) "
                                "или office (личный приём)")
    if taken_by not in rt.rules.staff:
        raise RegistrationError(f"сотрудник с логином «{taken_by}» не найден в списке сотрудников")
    email = (client_email or "").strip().lower() or None
    if email is not None and ("@" not in email or " " in email):
        raise RegistrationError(f"«{client_email}» не похоже на адрес электронной почты")
    if not subject.strip():
        raise RegistrationError("укажите тему обращения")
    request, _msg = open_request(session, rt, Intake(
        channel=channel, source=channel, client_email=email, client_name=client_name.strip(),
        subject=subject.strip(), text=text.strip() or subject.strip(), at=rt.now(),
        actor=taken_by))
    log.info("register: %s taken by %s via %s, %s/%s, assigned to %s", request.number, taken_by,
             channel, request.process, request.need, request.assignee)
    return request
