"""Closing requests: by the accountant's ``#закрыть`` (in :mod:`buhdesk.reply.answers`), by
``buhdesk close``, or automatically some working days after an answer the client did not reply
to. A follow-up within the reopening period reopens a closed request; a later one opens a new
request linked to the old one.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlmodel import Session, col

from buhdesk.feedback.settings import ClosureSettings, closure_settings
from buhdesk.route.channels import Intake, open_from_intake
from buhdesk.route.lifecycle import TransitionError, next_state
from buhdesk.route.opening import Batch
from buhdesk.service.runtime import Runtime
from buhdesk.store.append_rows import event_values
from buhdesk.store.engine import is_postgres
from buhdesk.store.models import Event, Message, Request
from buhdesk.store.moments import as_utc

log = logging.getLogger(__name__)


class CloseError(ValueError):
    """The request cannot be closed; the message is Russian."""


def close(session: Session, request: Request, *, now: datetime, actor: str, rule: str) -> None:
    """Close ``request`` and record who did it and by which rule."""
    try:
        request.state = next_state(request.state, "close")
    except TransitionError as e:
        raise CloseError(f"обращение {request.number} в состоянии «{request.state}» "
                         "закрыть нельзя") from e
    request.closed_at = request.updated_at = now
    session.add(Event(request_id=request.id, stage="schedule" if actor == "buhdesk" else "reply",
                      action="closed", actor=actor, detail=json.dumps({"rule": rule})))


def close_by_number(rt: Runtime, number: str, *, actor: str) -> Request:
    """``buhdesk close NUMBER``."""
    with Session(rt.engine) as session:
        request: Request | None = session.execute(select(Request).where(
            col(Request.number) == number.strip().upper())).scalars().first()
        if request is None:
            raise CloseError(f"обращение {number} не найдено")
        close(session, request, now=rt.now(), actor=actor, rule="cli")
        session.commit()
        session.refresh(request)
        log.info("close: %s closed by %s", request.number, actor)
        return request


def _last_answers(session: Session, ids: list[int]) -> dict[int, datetime]:
    rows = session.execute(select(col(Event.request_id), func.max(col(Event.at))).where(
        col(Event.request_id).in_(ids), col(Event.action) == "answered",
    ).group_by(col(Event.request_id)))
    return {rid: as_utc(at) for rid, at in rows}


def auto_close(rt: Runtime, settings: ClosureSettings | None = None) -> int:
    """Close answered requests whose client has not replied for ``auto_close_days`` working days
    after the last answer. Returns how many were closed."""
    settings = settings or closure_settings(rt.config)
    now, tz = rt.now(), rt.config.service.tz
    today = now.astimezone(tz).date()
    with Session(rt.engine) as session:
        stmt = select(Request).where(col(Request.state) == "answered")
        if is_postgres(rt.engine):  # a follow-up being routed meanwhile is not overwritten
            stmt = stmt.with_for_update(skip_locked=True)
        answered = list(session.execute(stmt).scalars())
        last = _last_answers(session, [r.id for r in answered])
        closed = 0
        for request in answered:
            at = last.get(request.id) or (as_utc(request.answered_at)
                                         if request.answered_at else None)
            if at is None:
                continue
            due = rt.rules.calendar.add_working_days(at.astimezone(tz), settings.auto_close_days)
            if today >= due:
                close(session, request, now=now, actor="buhdesk", rule="auto-close")
                log.info("close: %s closed automatically, no reply since %s", request.number,
                         at.isoformat())
                closed += 1
        session.commit()
    return closed


def followup_policy(request: Request, now: datetime, *,
                    reopen_days: int = ClosureSettings.reopen_days) -> Literal["reopen",
                                                                               "new-linked"]:
    """What a client's follow-up does: an open request, or one closed less than ``reopen_days``
    ago, is continued (reopened); a follow-up after that opens a new, linked request."""
    if request.state != "closed" or request.closed_at is None:
        return "reopen"
    return "reopen" if as_utc(now) - as_utc(request.closed_at) <= timedelta(
        days=reopen_days) else "new-linked"


def open_linked(batch: Batch, parent: Request, msg: Message, *, subject: str, text: str,
                client_name: str = "") -> Request:
    """A new request for a follow-up to ``parent`` that came after the reopening period; the
    incoming ``msg`` moves to it. The client is acknowledged with the new number."""
    request = open_from_intake(batch, Intake(
        channel=parent.channel, source=msg.source or parent.source,
        client_email=msg.from_addr or parent.client_email,
        client_name=client_name or parent.client_name, subject=subject, text=text,
        at=as_utc(msg.created_at), parent_id=parent.id), message=msg)
    batch.event(event_values(request_id=parent.id, message_pk=msg.id, stage="route",
                             action="followup-linked",
                             detail=json.dumps({"new": request.number}, ensure_ascii=False)))
    return request
