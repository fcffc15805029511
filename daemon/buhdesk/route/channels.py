"""Requests taken by phone or in person (order 76, §2.2): an accountant registers them so they get
a number, a deadline, an answer and a survey like a letter does. The same opening from a letter's
text serves follow-ups that come after the reopening period (:mod:`buhdesk.reply.closure`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from buhdesk.reply import outbox
from buhdesk.route.opening import Batch, Opening, open_request
from buhdesk.rules.book import with_duty_accountant
from buhdesk.rules.classify import Letter
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Message, Request

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


def open_from_intake(batch: Batch, intake: Intake, message: Message | None = None) -> Request:
    """A request decided from its letter, as the mail route decides one: offline requests and
    follow-ups after the reopening period. Its first incoming message is ``message`` when it is
    already stored, else a new one made from the intake; the client is acknowledged (when there
    is an address) and the accountant notified."""
    rt, session = batch.rt, batch.session
    letter = Letter(subject=intake.subject, body=intake.text, sender=intake.client_email or "",
                    sender_name=intake.client_name)
    decision = with_duty_accountant(rt.rules.decide(
        letter=letter, at=intake.at, open_counts=batch.counts, absences=batch.absences,
    ), rt.config.service.duty_accountant)
    request = open_request(batch, Opening(
        channel=intake.channel, source=intake.source, client_email=intake.client_email,
        client_name=intake.client_name, subject=intake.subject, at=intake.at, decision=decision,
        parent_id=intake.parent_id, actor=intake.actor, first_text=intake.text,
        registered={"channel": intake.channel, "parent_id": intake.parent_id}), message=message)
    batch.add(outbox.acknowledge_document(session, rt, batch.acks, request, decision,
                                          body_text=intake.text, attachments=[]))
    return request


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
    batch = Batch(session, rt)
    request = open_from_intake(batch, Intake(
        channel=channel, source=channel, client_email=email, client_name=client_name.strip(),
        subject=subject.strip(), text=text.strip() or subject.strip(), at=rt.now(),
        actor=taken_by))
    batch.write()
    log.info("register: %s taken by %s via %s, %s/%s, assigned to %s", request.number, taken_by,
             channel, request.process, request.need, request.assignee)
    return request
