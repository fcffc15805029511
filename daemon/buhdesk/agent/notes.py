"""Internal notes on a request: a line «#заметка …» in a staff member's letter (and the whole
letter of a colleague not entitled to answer, see :mod:`buhdesk.trust.staff_letters`). Notes are
kept in the audit trail, shown in the story and in later notices, and never sent to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.agent.story import first_line
from buhdesk.rules.book import RuleBook
from buhdesk.store.models import Event, Message, Request

log = logging.getLogger(__name__)

STAGE, ACTION = "reply", "note"
NOTE_MAX = 2000  # characters of one note
SHOWN = 5  # the latest notes a notice repeats


def record_notes(session: Session, request: Request, texts: Sequence[str], *, actor: str) -> int:
    """Store each non-empty note on ``request``; returns how many were stored."""
    kept = [t.strip()[:NOTE_MAX] for t in texts if t.strip()]
    for text in kept:
        session.add(Event(request_id=request.id, stage=STAGE, action=ACTION, actor=actor,
                          detail=json.dumps({"text": text}, ensure_ascii=False)))
    if kept:
        session.flush()
        log.info("notes: %s left %d note(s) on %s", actor, len(kept), request.number)
    return len(kept)


def notes_of(session: Session, rules: RuleBook, request: Request) -> list[str]:
    """The latest notes on ``request`` as «Имя: текст» lines (oldest first), for notices: the
    «#заметка» lines and the letters of colleagues kept as notes."""
    if request.id is None:
        return []
    rows = session.execute(select(
        col(Event.actor), col(Event.action), col(Event.detail), col(Event.message_pk)).where(
        col(Event.request_id) == request.id,
        col(Event.action).in_((ACTION, "staff-note")),
    ).order_by(col(Event.id).desc()).limit(SHOWN)).all()
    out = []
    for actor, action, detail, message_pk in reversed(rows):
        member = rules.staff.get(actor)
        who = member.name if member else actor
        if action == ACTION:
            text = str(json.loads(detail or "{}").get("text", ""))
        else:
            letter = session.get(Message, message_pk) if message_pk else None
            body = letter.body_text if letter else ""
            text = first_line(body, own=True) or "(письмо без текста)"
        out.append(f"{who}: {text}")
    return out
