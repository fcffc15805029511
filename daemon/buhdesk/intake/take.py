"""Stage 1, intake: store raw items and commit them before the source is acknowledged.

Natural keys make re-delivery harmless: an item whose ``(source, key)`` or whose exact bytes the
store already holds for that source is a duplicate and only needs acknowledging again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, union_all
from sqlalchemy.engine import Engine
from sqlmodel import Session

from buhdesk.interfaces import RawItem
from buhdesk.store.append_rows import event_values, insert_events, insert_rows
from buhdesk.store.engine import table_of
from buhdesk.store.models import Message
from buhdesk.store.raw import store_raws
from buhdesk.store.tallies import count_taken

log = logging.getLogger(__name__)


@dataclass
class IntakeResult:
    stored: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


_M = table_of(Message).c
# One index range per key and per hash, however many letters the source has brought: as one
# `source = ? AND (key IN ... OR hash IN ...)`, a store without the planner's statistics (SQLite
# keeps none) read every letter of the source, the whole mailbox, through the key's index.
_KNOWN = union_all(
    select(_M.source_key, _M.raw_sha256).where(
        _M.source == bindparam("source"), _M.source_key.in_(bindparam("keys", expanding=True))),
    # `|| ''` keeps the source out of the index choice here for the same reason
    select(_M.source_key, _M.raw_sha256).where(
        _M.raw_sha256.in_(bindparam("hashes", expanding=True)),
        _M.source + "" == bindparam("source")))


def _known(session: Session, source: str, keys: list[str], hashes: list[str]) -> set[str]:
    rows = session.execute(_KNOWN, {"source": source, "keys": keys, "hashes": hashes})
    known: set[str] = set()
    for key, sha in rows:
        known.update((f"k:{key}", f"h:{sha}"))
    return known


Row = dict[str, object]  # an incoming ``messages`` row's values, inserted with Core


def take_in(engine: Engine, items: Sequence[RawItem], *, max_bytes: int) -> IntakeResult:
    """Store ``items`` in one transaction; return what was stored, skipped and held."""
    result = IntakeResult()
    by_source: dict[str, list[RawItem]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item)
    with Session(engine) as session:
        new_rows: list[tuple[Row, RawItem, bool]] = []
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
        ids = list(zip(_store(session, new_rows), (too_big for _, _, too_big in new_rows),
                       strict=True))
        count_taken(session, Counter(item.source for _, item, _ in new_rows))
        session.commit()
    for pk, too_big in ids:
        (result.held if too_big else result.stored).append(pk)
    for key in result.duplicates:
        log.info("intake: %s already stored, acknowledging again", key)
    return result


def _row(item: RawItem, sha: str, max_bytes: int) -> tuple[Row, RawItem, bool]:
    too_big = len(item.data) > max_bytes
    msg: Row = {
        "direction": "in", "kind": "", "status": "held" if too_big else "received",
        "source": item.source, "source_key": item.key, "request_id": None, "message_id": None,
        "from_addr": None, "to_addrs": "", "subject": "", "body_text": None, "automated": None,
        "raw_sha256": sha, "size": len(item.data), "attempts": 0, "next_attempt_at": None,
        "reason": f"размер письма {len(item.data)} байт больше допустимого ({max_bytes})"
        if too_big else None,
        "created_at": item.received_at, "done_at": None,
    }
    return msg, item, too_big


def _store(session: Session, rows: list[tuple[Row, RawItem, bool]]) -> list[int]:
    """The rows in one insert, then their bytes and «stored»/«held» events in one insert each;
    the rows' ids, in order."""
    if not rows:
        return []
    ids = insert_rows(session, Message, [msg for msg, _, _ in rows])
    store_raws(session, [(pk, item.data) for pk, (_, item, _) in zip(ids, rows, strict=True)])
    events = []
    for pk, (msg, item, too_big) in zip(ids, rows, strict=True):
        # the source, its key and the size are the row's; the event adds where it came from
        events.append(event_values(message_pk=pk, stage="intake",
                                   action="held" if too_big else "stored",
                                   detail=json.dumps(item.meta, ensure_ascii=False,
                                                     separators=(",", ":"))))
        if too_big:
            log.warning("intake: %s:%s held: %s", item.source, item.key, msg["reason"])
    insert_events(session, events)
    return ids
