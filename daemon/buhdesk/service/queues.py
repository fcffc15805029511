"""Queue sizes for status lines, health and metrics."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.store.models import Message


def queue_sizes(engine: Engine) -> dict[str, int]:
    """Messages waiting to be routed, outgoing ones waiting to be sent, and held ones."""
    with Session(engine) as session:
        rows = session.execute(
            select(col(Message.direction), col(Message.status), func.count()).where(
                col(Message.status).in_(("received", "pending", "held"))
            ).group_by(col(Message.direction), col(Message.status))
        ).all()
    sizes = {"received": 0, "pending": 0, "held": 0}
    for _direction, status, count in rows:
        sizes[status] += count
    return sizes
