"""Stage 1, intake: store raw items and commit them before the source is acknowledged.

Natural keys make re-delivery harmless: an item whose ``(source, key)`` or whose exact bytes the
store already holds for that source is a duplicate and only needs acknowledging again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from buhdesk.interfaces import RawItem
from buhdesk.models import Event, Message, Raw

log = logging.getLogger(__name__)


@dataclass
class IntakeResult:
    stored: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


def _known(session: Session, source: str, keys: list[str], hashes: list[str]) -> set[str]:
    rows = session.execute(
        select(Message.source_key, Message.raw_sha256).where(
            Message.source == source,
            or_(Message.source_key.in_(keys), Message.raw_sha256.in_(hashes)),  # type: ignore[union-attr]
        )
    )
    known: set[str] = set()
    for key, sha in rows:
        known.update((f"k:{key}", f"h:{sha}"))
    return known


def take_in(engine: Engine, items: Sequence[RawItem], *, max_bytes: int) -> IntakeResult:
    """Store ``items`` in one transaction; return what was stored, skipped and held."""
    result = IntakeResult()
    by_source: dict[str, list[RawItem]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item)
    with Session(engine) as session:
        new_rows: list[tuple[Message, bool]] = []
        for source, group in by_source.items():
            hashes = {id(i): hashlib.sha256(i.data).hexdigest() for i in group}
            known = _known(session, source, [i.key for i in group], list(hashes.values()))
            for item in group:
                sha = hashes[id(item)]
                if f"k:{item.key}" in known or f"h:{sha}" in known:
                    result.duplicates.append(item.key)
                    continue
                known.update((f"k:{item.key}", f"h:{sha}"))
                new_rows.append(_store(session, item, sha, max_bytes))
        session.commit()
        for msg, too_big in new_rows:
            (result.held if too_big else result.stored).append(msg.id)  # type: ignore[arg-type]
    for key in result.duplicates:
        log.info("intake: %s already stored, acknowledging again", key)
    return result


def _store(session: Session, item: RawItem, sha: str, max_bytes: int) -> tuple[Message, bool]:
    too_big = len(item.data) > max_bytes
    msg = Message(
        direction="in",
        status="held" if too_big else "received",
        source=item.source,
        source_key=item.key,
        raw_sha256=sha,
        size=len(item.data),
        reason=f"размер письма {len(item.data)} байт больше допустимого ({max_bytes})"
        if too_big
        else None,
        created_at=item.received_at,
    )
    session.add(msg)
    session.flush()
    session.add(Raw(message_pk=msg.id, data=item.data))  # type: ignore[arg-type]
    detail = {"source": item.source, "key": item.key, "size": len(item.data), **item.meta}
    session.add(Event(message_pk=msg.id, stage="intake", action="held" if too_big else "stored",
                      detail=json.dumps(detail, ensure_ascii=False)))
    if too_big:
        log.warning("intake: %s:%s held: %s", item.source, item.key, msg.reason)
    return msg, too_big
