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

from buhdesk.store.append_rows import event_values, insert_events, new_row
from buhdesk.interfaces import RawItem
from buhdesk.store.models import Message
from buhdesk.store.raw import store_raws

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
        new_rows: list[tuple[Message, RawItem, bool]] = []
        for source, group in by_source.items():
            hashes = {id(i): hashlib.sha256(i.data).hexdigest() for i in group}
            known = _known(session, source, [i.key for i in group], list(hashes.values()))
            for item in group:
                sha = hashes[id(item)]
                if f"k:{item.key}" in known or f"h:{sha}" in known:
                    result.duplicates.append(item.key)
                    continue
                known.update((f"k:{item.key}", f"h:{sha}"))
                new_rows.append(_row(item, sha, max_bytes))
        _store(session, new_rows)
        ids = [(msg.id, too_big) for msg, _, too_big in new_rows]
        session.commit()
    for pk, too_big in ids:
        (result.held if too_big else result.stored).append(pk)  # type: ignore[arg-type]
    for key in result.duplicates:
        log.info("intake: %s already stored, acknowledging again", key)
    return result


def _row(item: RawItem, sha: str, max_bytes: int) -> tuple[Message, RawItem, bool]:
    too_big = len(item.data) > max_bytes
    msg = new_row(
        Message,
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
    return msg, item, too_big


def _store(session: Session, rows: list[tuple[Message, RawItem, bool]]) -> None:
    """The rows in one flush, then their bytes and «stored»/«held» events in one insert each."""
    if not rows:
        return
    session.add_all([msg for msg, _, _ in rows])
    session.flush()
    store_raws(session, [(msg.id, item.data) for msg, item, _ in rows])  # type: ignore[misc]
    events = []
    for msg, item, too_big in rows:
        detail = {"source": item.source, "key": item.key, "size": len(item.data), **item.meta}
        events.append(event_values(message_pk=msg.id, stage="intake",
                                   action="held" if too_big else "stored",
                                   detail=json.dumps(detail, ensure_ascii=False)))
        if too_big:
            log.warning("intake: %s:%s held: %s", item.source, item.key, msg.reason)
    insert_events(session, events)
