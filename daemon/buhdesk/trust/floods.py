"""Flood caps: how often one sender may cause something within a clock hour.

Each count is one row of ``rate_counts`` per key and hour, bumped with one upsert by its primary
key, so a letter costs one indexed statement however large the store is. Callers ask
:func:`bump` and act on the answer (:class:`Step`): under the cap, as usual; the first step over
it, one summary; later steps, nothing but the audit trail.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.reply.outbox import notify
from buhdesk.service.runtime import Runtime
from buhdesk.store.append_rows import insert_event, upserts
from buhdesk.store.engine import affected_rows, table_of
from buhdesk.store.models import RateCount, Request
from buhdesk.store.moments import as_utc
from buhdesk.trust.settings import flood_settings

log = logging.getLogger(__name__)

KEEP = timedelta(days=2)


@dataclass(frozen=True)
class Step:
    count: int  # this one included
    cap: int

    @property
    def within(self) -> bool:
        return self.count <= self.cap

    @property
    def first_over(self) -> bool:
        """The one step that crosses the cap: the moment for the single summary."""
        return self.count == self.cap + 1


def hour_of(now: datetime) -> datetime:
    """The clock hour ``now`` falls in, in UTC."""
    return as_utc(now).replace(minute=0, second=0, microsecond=0)


# the count's upsert, per kind of store; it runs per letter
_RATES = table_of(RateCount)
_UPSERT = upserts(_RATES, {"key": bindparam("key"), "hour": bindparam("hour"), "count": 1},
                  key=["key", "hour"], on_conflict={"count": _RATES.c.count + 1},
                  returning=[_RATES.c.count])


def bump(session: Session, key: str, now: datetime, cap: int) -> Step:
    """Count one more ``key`` in the hour of ``now``; return the count with the cap. Run on the
    session's connection without flushing it (the batch's pending rows are written when it is
    done; the counts are written only here)."""
    connection = session.connection()
    upsert = _UPSERT[connection.dialect.name]
    count = connection.execute(upsert, {"key": key[:300], "hour": hour_of(now)}).scalar_one()
    return Step(int(count), cap)


def purge_counts(engine: Engine, now: datetime) -> int:
    """Forget counts older than :data:`KEEP`; returns how many rows went."""
    with Session(engine) as session:
        result = session.execute(delete(RateCount).where(
            col(RateCount.hour) < hour_of(now - KEEP)))
        session.commit()
    gone = affected_rows(result)
    if gone:
        log.info("floods: %d old hourly count(s) removed", gone)
    return gone


def notify_capped(session: Session, rt: Runtime, request: Request, sender: str,
                  send: Callable[[], None]) -> None:
    """Send a staff notice caused by ``sender`` through ``send`` while the sender is under the
    hourly cap; the first letter over it sends one summary instead, later ones nothing."""
    cap = flood_settings(rt.config).notices_per_hour
    step = bump(session, f"notices:{sender.lower()}", rt.now(), cap)
    if step.within:
        send()
    elif step.first_over:
        until = hour_of(rt.now()) + timedelta(hours=1)
        notify(session, rt, request, "flood", sender=sender, cap=cap, until=until)
        log.warning("floods: %s caused more than %d notices this hour; one summary sent",
                    sender, cap)
    else:
        insert_event(session, stage="reply", action="notice-capped", request_id=request.id,
                     detail=json.dumps({"sender": sender, "count": step.count},
                                       ensure_ascii=False))
