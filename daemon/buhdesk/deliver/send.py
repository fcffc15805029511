"""Stage 4, deliver: send pending outbox rows through a Transport.

Rows are claimed in a short transaction (their next attempt is pushed past a lease, ``lease``
seconds in the configuration, and on
PostgreSQL the claim skips rows another instance has locked), sent outside any transaction, and
then marked sent, rescheduled with back-off (transient failure) or held with the reason (permanent).
Each message is marked sent in its own transaction as soon as the server accepts it (the
transport's ``on_sent`` call), so a crash re-sends at most the message in flight: the one accepted
but not yet recorded, after the lease. Failures are recorded together when the batch ends.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from buhdesk.interfaces import Envelope, PermanentDeliveryError, Transport
from buhdesk.reply.answer_packages import SCHEME
from buhdesk.service.runtime import Runtime
from buhdesk.store import compress
from buhdesk.store.append_rows import event_values, insert_events
from buhdesk.store.engine import is_postgres
from buhdesk.store.models import Message, Raw, flushed_id

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    last_error: str | None = None  # the reason of the last message put off


def backoff(attempts: int, base: float = 30.0) -> timedelta:
    """``base`` seconds, then doubling (30 s, 1 min, 2 min, …), capped at one hour."""
    return timedelta(seconds=min(3600.0, base * 2 ** max(0, attempts - 1)))


def _claim(rt: Runtime, limit: int) -> list[int]:
    now = rt.now()
    with Session(rt.engine) as session:
        stmt = (
            select(Message).where(
                col(Message.direction) == "out", col(Message.status) == "pending",
                or_(col(Message.next_attempt_at).is_(None), col(Message.next_attempt_at) <= now),
            ).order_by(col(Message.id)).limit(limit)
        )
        if is_postgres(rt.engine):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = session.execute(stmt).scalars().all()
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=rt.config.outbox.lease)
        session.commit()
        return [flushed_id(r) for r in rows]


def _envelopes(rt: Runtime, ids: list[int]) -> list[Envelope]:
    with Session(rt.engine) as session:
        rows = session.execute(
            select(col(Message.id), col(Message.to_addrs), col(Raw.codec), col(Raw.data))
            .join(Raw, col(Raw.message_pk) == col(Message.id))
            .where(col(Message.id).in_(ids)))
        found = {mid: (to_addrs, bytes(compress.decode(codec, data)))
                 for mid, to_addrs, codec, data in rows}
    envelopes = []
    for mid in ids:
        if mid not in found:
            continue
        to_addrs, data = found[mid]
        recipients = tuple(a.strip() for a in to_addrs.split(",") if a.strip())
        envelopes.append(Envelope(key=str(mid), sender=rt.config.service.address,
                                  recipients=recipients, data=data))
    return envelopes


def destination_of(env: Envelope) -> str:
    """``delopro:<source>`` for EDMS answer packages, ``smtp`` for mail."""
    first = env.recipients[0] if env.recipients else ""
    return first if first.startswith(SCHEME) else "smtp"


class RecordingFailed(Exception):
    """A message was accepted but the store refused to record it: stop the batch here."""


def _send_all(mail: Transport, others: Mapping[str, Transport], envelopes: list[Envelope],
              on_sent: Callable[[str], None]) -> dict[str, Exception | None]:
    groups: dict[str, list[Envelope]] = {}
    for env in envelopes:
        groups.setdefault(destination_of(env), []).append(env)
    results: dict[str, Exception | None] = {}
    for dest, group in groups.items():
        transport = mail if dest == "smtp" else others.get(dest)
        if transport is None:
            problem = PermanentDeliveryError(f"получатель «{dest}» не настроен")
            results.update({env.key: problem for env in group})
            continue
        try:
            results.update(transport.send(group, on_sent=on_sent))
        except RecordingFailed:
            raise
        except Exception as e:  # noqa: BLE001  # a failing transport: every row is retried later
            log.warning("deliver: transport %s failed for a batch of %d: %s", dest, len(group), e)
            results.update({env.key: e for env in group})
    return results


def deliver_pending(rt: Runtime, transport: Transport, *, limit: int = 50,
                    after_send: Callable[[], None] | None = None,
                    transports: Mapping[str, Transport] | None = None) -> DeliveryReport:
    """Send one batch of due outbox rows; return what happened to each.

    Mail goes through ``transport``; rows addressed ``delopro:<source>`` through
    ``transports["delopro:<source>"]``.
    """
    report = DeliveryReport()
    ids = _claim(rt, limit)
    if not ids:
        return report
    envelopes = _envelopes(rt, ids)
    recorded: set[str] = set()

    def sent(key: str) -> None:
        if after_send is not None:
            after_send()  # the fault-injection point: accepted by the server, not yet recorded
        try:
            _record_rows(rt, [key], {key: None}, report)
        except Exception as e:
            raise RecordingFailed(f"message {key} sent but not recorded: {e}") from e
        recorded.add(key)

    results = _send_all(transport, transports or {}, envelopes, sent)
    rest = [env.key for env in envelopes if env.key not in recorded]
    if rest:
        _record_rows(rt, rest, results, report)
    return report


def _record_rows(rt: Runtime, keys: list[str], results: Mapping[str, Exception | None],
                 report: DeliveryReport) -> None:
    """Record the outcome of the messages ``keys`` in one transaction."""
    with Session(rt.engine) as session:
        wanted = [int(k) for k in keys]
        rows = {row.id: row for row in session.execute(
            select(Message).where(col(Message.id).in_(wanted))
        ).scalars()}
        recorded = (_record(rt, rows[int(key)], results.get(key, RuntimeError("no result")),
                            report) for key in keys if int(key) in rows)
        events = [e for e in recorded if e is not None]
        session.flush()
        insert_events(session, events)
        session.commit()


def _record(rt: Runtime, row: Message, error: Exception | None,
            report: DeliveryReport) -> dict[str, Any] | None:
    """Mark ``row`` sent, rescheduled or held; return its audit-trail event (``event_values``):
    a retry or a hold, with the reason. A letter sent needs none: its row says so, and when
    (``status``, ``done_at``), and it is written once per letter."""
    now = rt.now()
    detail: dict[str, object]
    if error is None:
        row.status, row.done_at, row.reason, row.next_attempt_at = "sent", now, None, None
        report.sent.append(flushed_id(row))
        return None
    elif isinstance(error, PermanentDeliveryError) or row.attempts >= rt.config.outbox.max_attempts:
        kind = "отказ сервера" if isinstance(error, PermanentDeliveryError) else (
            f"не доставлено за {row.attempts} попыток")
        row.status, row.reason = "held", f"{kind}: {error}"
        report.held.append(flushed_id(row))
        action, detail = "held", {"to": row.to_addrs, "reason": row.reason}
        log.warning("deliver: message %s to %s held: %s", row.id, row.to_addrs, row.reason)
    else:
        row.next_attempt_at = now + backoff(row.attempts, rt.config.outbox.retry_base)
        row.reason = f"временная ошибка: {error}"
        report.retried.append(flushed_id(row))
        report.last_error = str(error)
        action, detail = "retry", {"to": row.to_addrs, "reason": row.reason,
                                   "attempt": row.attempts}
        log.info("deliver: message %s to %s will be retried: %s", row.id, row.to_addrs, error)
    return event_values(request_id=row.request_id, message_pk=row.id, stage="deliver",
                        action=action, detail=json.dumps(detail, ensure_ascii=False))
