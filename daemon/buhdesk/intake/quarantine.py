"""Held items: what could not be processed, with the reason, listed for a human and requeued."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.store.models import DIRECTIONS, Event, Message
from buhdesk.store.raw import has_raw


@dataclass(frozen=True)
class HeldItem:
    id: int
    direction: str
    source: str
    key: str
    sender: str
    recipients: str
    subject: str
    reason: str
    since: datetime

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["since"] = self.since.isoformat()
        return d


class RequeueError(Exception):
    pass


def held_items(engine: Engine) -> list[HeldItem]:
    with Session(engine) as session:
        rows = session.execute(
            select(Message).where(col(Message.direction).in_(DIRECTIONS),
                                  col(Message.status) == "held").order_by(col(Message.id))
        ).scalars().all()
        return [
            HeldItem(id=r.id, direction=r.direction, source=r.source or "",
                     key=r.source_key or "", sender=r.from_addr or "", recipients=r.to_addrs,
                     subject=r.subject, reason=r.reason or "", since=r.created_at)
            for r in rows
        ]


def requeue(engine: Engine, message_pk: int, *, actor: str = "admin") -> Message:
    """Put a held message back: incoming ones are routed again, outgoing ones sent again."""
    with Session(engine) as session:
        msg = session.get(Message, message_pk)
        if msg is None:
            raise RequeueError(f"сообщение {message_pk} не найдено")
        if msg.status != "held":
            raise RequeueError(f"сообщение {message_pk} не задержано (состояние: {msg.status})")
        if not has_raw(session, message_pk):
            raise RequeueError(f"исходное письмо {message_pk} уничтожено по сроку хранения: "
                               "возвращать в обработку нечего")
        previous = msg.reason
        if msg.direction == "in":
            msg.status = "received"
        else:
            msg.status, msg.attempts, msg.next_attempt_at = "pending", 0, None
        msg.reason = None
        session.add(Event(request_id=msg.request_id, message_pk=msg.id, stage="intake"
                          if msg.direction == "in" else "deliver", action="requeued", actor=actor,
                          detail=json.dumps({"previous_reason": previous}, ensure_ascii=False)))
        session.commit()
        session.refresh(msg)
        return msg
