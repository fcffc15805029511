"""Stage 3, reply: outgoing letters are rows written in the same transaction as the state change
that causes them (the outbox). The deliver stage sends them later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from buhdesk.store.append_rows import event_values, insert_events, insert_new, insert_raws, new_row
from buhdesk.reply.compose import FileToSend, compose
from buhdesk.kb.library import KbError
from buhdesk.kb.mail import (
    KbSettingsError,
    articles_for,
    min_share,
    offered_event,
    public_url,
)
from buhdesk.reply.attachment_labels import attachment_labels
from buhdesk.route.mime import ParsedMessage
from buhdesk.store.models import Message, Request
from buhdesk.rules.book import Decision
from buhdesk.service.runtime import Runtime
from buhdesk.trust.keys import THREAD
from buhdesk.reply.templating import Rendered

log = logging.getLogger(__name__)

_ACKS_TODAY = "buhdesk.acks-today"
_DEFERRED = "buhdesk.deferred-letters"

CHANNEL_LABELS = {
    "email": "электронная почта",
    "delopro": "СЭД «ДелоПро»",
    "phone": "телефон",
    "office": "личный приём",
}


@dataclass
class Letters:
    """Outgoing letters and audit-trail rows of one step, written together: one insert for the
    rows, one for their bytes and one for the events (in the order they were added)."""

    rows: list[tuple[Message, bytes]] = field(default_factory=list)
    events: list[tuple[Message | None, dict[str, Any]]] = field(default_factory=list)

    def event(self, values: dict[str, Any], *, of: Message | None = None) -> None:
        """An event; ``of`` is a letter of this batch whose id goes into ``message_pk``."""
        self.events.append((of, values))

    def extend(self, other: Letters) -> None:
        self.rows.extend(other.rows)
        self.events.extend(other.events)

    def write(self, session: Session) -> None:
        self._count_acks(session)
        self.insert(session)

    def write_or_defer(self, session: Session) -> None:
        """Write now, or keep in the session's :func:`deferred_letters` when one is open."""
        deferred = session.info.get(_DEFERRED)
        if deferred is None:
            self.write(session)
        else:
            self._count_acks(session)
            deferred.extend(self)

    def insert(self, session: Session) -> None:
        """The rows, their bytes and the events, without counting acknowledgments again."""
        if self.rows:
            insert_new(session, [row for row, _ in self.rows])
            insert_raws(session, [(row.id, data) for row, data in self.rows])  # type: ignore[misc]
        for row, values in self.events:
            if row is not None:
                values["message_pk"] = row.id
        if self.events:
            insert_events(session, [values for _, values in self.events])
        self.rows, self.events = [], []

    def _count_acks(self, session: Session) -> None:
        for row, _ in self.rows:
            if row.kind == "ack":
                _count_ack(session, row)


@contextmanager
def deferred_letters(session: Session) -> Iterator[Letters]:
    """Acknowledgments and notices of new requests queued inside the block are kept in the
    yielded :class:`Letters` instead of being inserted at once; the caller writes them, in one
    go for many requests, before its transaction commits, or drops them with a rolled-back
    savepoint. Safe because nobody reads a letter back before it is sent, and nobody can
    answer a letter that is not sent yet."""
    kept, outer = Letters(), session.info.get(_DEFERRED)
    session.info[_DEFERRED] = kept
    try:
        yield kept
    finally:
        if outer is None:
            session.info.pop(_DEFERRED, None)
        else:
            session.info[_DEFERRED] = outer


def enqueue(session: Session, rt: Runtime, *, request: Request | None, kind: str, to: Sequence[str],
            rendered: Rendered, reply_to_ids: Sequence[str] = (), auto: str | None = None,
            files: Sequence[FileToSend] = (), stored_kind: str | None = None,
            cc: Sequence[str] = ()) -> Message:
    """Write one outgoing letter into the outbox (committed by the caller's transaction)."""
    letters = Letters()
    row = add_letter(letters, rt, request=request, kind=kind, to=to, rendered=rendered,
                     reply_to_ids=reply_to_ids, auto=auto, files=files, stored_kind=stored_kind,
                     cc=cc)
    letters.write(session)
    return row


def add_letter(letters: Letters, rt: Runtime, *, request: Request | None, kind: str,
               to: Sequence[str], rendered: Rendered, reply_to_ids: Sequence[str] = (),
               auto: str | None = None, files: Sequence[FileToSend] = (),
               stored_kind: str | None = None, cc: Sequence[str] = ()) -> Message:
    """Compose one outgoing letter into ``letters`` (written by ``letters.write``). ``kind``
    goes into the letter's token (what a reply to it means); ``stored_kind``, when given, is
    the row's kind instead of it."""
    svc = rt.config.service
    out = compose(
        secret=rt.keys.signing_key(THREAD), kind=kind,
        request_id=request.id if request else 0,  # type: ignore[arg-type]
        sender_name=svc.name, sender=svc.address, domain=svc.domain, to=to,
        subject=rendered.subject, body=rendered.body, now=rt.now(), reply_to_ids=reply_to_ids,
        auto_submitted=auto, files=files, staff=_addressee(rt, kind, to), cc=cc,
    )
    request_id = request.id if request else None
    row = new_row(Message, direction="out", kind=stored_kind or kind, status="pending", request_id=request_id,
                  message_id=out.message_id, from_addr=svc.address, to_addrs=", ".join(out.to),
                  subject=out.subject, body_text=rendered.body, size=len(out.data),
                  created_at=rt.now())
    letters.rows.append((row, out.data))
    letters.event(event_values(request_id=request_id, stage="reply", action=f"queued-{kind}",
                               detail=json.dumps({"to": list(to), **({"cc": list(cc)} if cc else {})},
                                                 ensure_ascii=False)), of=row)
    return row


def _addressee(rt: Runtime, kind: str, to: Sequence[str]) -> str:
    """The login a notice or a returned answer is issued to (its token names them), or ""."""
    if kind not in ("notice", "return") or len(to) != 1:
        return ""
    member = rt.rules.staff_by_email(to[0])
    return member.login if member else ""


def client_thread(session: Session, request: Request) -> list[str]:
    """Message-IDs of the client's side of the request, oldest first, for threading."""
    rows = session.exec(  # type: ignore[call-overload]
        select(Message.message_id).where(
            Message.request_id == request.id,
            Message.message_id.is_not(None),  # type: ignore[union-attr]
            Message.kind.in_(("request", "followup", "ack", "answer")),  # type: ignore[attr-defined]
        ).order_by(Message.id)
    ).scalars().all()
    return [r for r in rows if r]


@dataclass
class AcksToday:
    """Acknowledgments sent since ``midnight`` per address, for one routing batch: read in one
    query when first asked (again when the day changes), then kept current by :func:`enqueue`."""

    midnight: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)


def count_acks_per_batch(session: Session) -> None:
    """Let this session's :func:`auto_replies_today` use one :class:`AcksToday` (call again
    after a rollback: the counts are read anew)."""
    session.info[_ACKS_TODAY] = AcksToday()


def auto_replies_today(session: Session, rt: Runtime, address: str) -> int:
    tz = rt.config.service.tz
    midnight = datetime.combine(rt.now().astimezone(tz).date(), time(), tzinfo=tz)
    acks = session.info.get(_ACKS_TODAY)
    if acks is None:
        return _acks_since(session, midnight, address)
    if acks.midnight != midnight:
        acks.midnight, acks.counts = midnight, _acks_since_by_address(session, midnight)
    return acks.counts.get(address, 0)


def _acks_since(session: Session, midnight: datetime, address: str) -> int:
    # Every ack row is flushed when queued, so nothing pending can change the count.
    with session.no_autoflush:
        return session.execute(
            select(func.count()).select_from(Message).where(
                Message.direction == "out", Message.kind == "ack", Message.to_addrs == address,
                Message.created_at >= midnight,
            )
        ).scalar_one()


def _acks_since_by_address(session: Session, midnight: datetime) -> dict[str, int]:
    with session.no_autoflush:
        rows = session.execute(
            select(Message.to_addrs, func.count()).where(
                Message.direction == "out", Message.kind == "ack", Message.created_at >= midnight,
            ).group_by(Message.to_addrs)
        )
        return {address: n for address, n in rows}


def _count_ack(session: Session, row: Message) -> None:
    acks = session.info.get(_ACKS_TODAY)
    if acks is None or acks.midnight is None:
        return
    if row.created_at.tzinfo is None:  # cannot tell the day here: read the counts anew
        acks.midnight = None
    elif row.created_at >= acks.midnight:
        acks.counts[row.to_addrs] = acks.counts.get(row.to_addrs, 0) + 1


def accountant_view(rt: Runtime, login: str | None) -> dict[str, str] | None:
    member = rt.rules.staff.get(login) if login else None
    if member is None:
        return None
    return {"login": member.login, "name": member.name, "position": member.position,
            "phone": member.phone, "email": member.email}


def request_vars(rt: Runtime, request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "service": {"name": rt.config.service.name, "address": rt.config.service.address},
        "request": request,
        "client_name": request.client_name,
        "accountant": accountant_view(rt, request.assignee),
        "process_label": rt.rules.process_label(request.process),
        "need_label": rt.rules.need_label(request.need),
        "channel_label": CHANNEL_LABELS.get(request.channel, request.channel),
        **extra,
    }


def acknowledge(session: Session, rt: Runtime, request: Request, msg: Message,
                parsed: ParsedMessage, decision: Decision,
                events: Sequence[dict[str, Any]] = ()) -> None:
    """The acknowledgment to the client and the notice to the responsible accountant; the
    ``events`` that led to them go into the trail first, in the same insert."""
    letters = Letters()
    for values in events:
        letters.event(values)
    attachments = attachment_labels(parsed, max_bytes=rt.config.limits.max_attachment_bytes,
                                    number=request.number)
    _ack_client(session, rt, letters, request,
                [*parsed.references, *([msg.message_id] if msg.message_id else [])],
                text=f"{parsed.subject}\n{parsed.body_text}")
    _notice(rt, letters, request, "notice", body_text=parsed.body_text, attachments=attachments,
            reasons=list(decision.reasons))
    letters.write_or_defer(session)


def acknowledge_document(session: Session, rt: Runtime, request: Request, decision: Decision, *,
                         body_text: str, attachments: Sequence[str]) -> None:
    """The same for a document registered from the EDMS: the author hears only with an address."""
    letters = Letters()
    _ack_client(session, rt, letters, request, [], text=f"{request.subject}\n{body_text}")
    _notice(rt, letters, request, "notice", body_text=body_text, attachments=list(attachments),
            reasons=list(decision.reasons))
    letters.write_or_defer(session)


def offered_articles(rt: Runtime, request: Request, text: str) -> list[dict[str, Any]]:
    """Knowledge-base articles for the acknowledgment; a broken base never blocks it."""
    if rt.kb is None:
        return []
    try:
        return articles_for(rt.kb.get(), request, text, base_url=public_url(rt.config),
                            share=min_share(rt.config))
    except (KbError, KbSettingsError) as e:
        log.error("reply: knowledge base unavailable, no articles offered: %s", e)
        return []


def _ack_client(session: Session, rt: Runtime, letters: Letters, request: Request,
                reply_to_ids: Sequence[str], *, text: str) -> None:
    client = request.client_email
    if client and auto_replies_today(session, rt, client) < rt.config.service.auto_reply_daily_cap:
        articles = offered_articles(rt, request, text)
        rendered = rt.templates.render("ack", **request_vars(rt, request, articles=articles))
        add_letter(letters, rt, request=request, kind="ack", to=[client], rendered=rendered,
                   reply_to_ids=reply_to_ids, auto="auto-replied")
        offered = offered_event(request, [a["slug"] for a in articles])
        if offered is not None:
            letters.event(offered)
    elif client:
        log.warning("reply: daily cap of automatic letters to %s reached, %s not acknowledged",
                    client, request.number)
        letters.event(event_values(request_id=request.id, stage="reply", action="ack-capped",
                                   detail=json.dumps({"to": client}, ensure_ascii=False)))


def notify(session: Session, rt: Runtime, request: Request, template: str, *,
           login: str | None = None, **variables: Any) -> None:
    """A letter to the responsible accountant (or to ``login``, e.g. their acting deputy);
    replying to it answers the request."""
    from buhdesk.agent.notes import notes_of  # the notes module reads letters this one writes

    letters = Letters()
    variables.setdefault("notes", notes_of(session, rt.rules, request))
    _notice(rt, letters, request, template, login=login, **variables)
    letters.write(session)


def _notice(rt: Runtime, letters: Letters, request: Request, template: str, *,
            login: str | None = None, **variables: Any) -> None:
    accountant = accountant_view(rt, login or request.assignee)
    if accountant is None:
        log.info("reply: %s has no accountant yet, no notice", request.number)
        return
    rendered = rt.templates.render(template, **request_vars(rt, request, **variables))
    add_letter(letters, rt, request=request, kind="notice", to=[accountant["email"]],
               rendered=rendered, auto="auto-generated")


def notify_followup(session: Session, rt: Runtime, request: Request, msg: Message,
                    parsed: ParsedMessage, *, reopened: bool, login: str | None = None) -> None:
    notify(session, rt, request, "followup", login=login, body_text=parsed.body_text,
           reopened=reopened, attachments=attachment_labels(
               parsed, max_bytes=rt.config.limits.max_attachment_bytes, number=request.number))


def notify_admins(session: Session, rt: Runtime, topic: str, **variables: Any) -> None:
    """A letter to the administrators (refused rules, failed packages, …)."""
    admins = rt.config.service.admins
    if not admins:
        log.warning("reply: no administrators configured, %s not mailed", topic)
        return
    rendered = rt.templates.render("admin", service={"name": rt.config.service.name},
                                   topic=topic, **variables)
    enqueue(session, rt, request=None, kind="info", to=list(admins), rendered=rendered,
            auto="auto-generated")
