"""Stage 3, reply: outgoing letters are rows written in the same transaction as the state change
that causes them (the outbox). The deliver stage sends them later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlmodel import Session, col

from buhdesk.kb.library import KbError
from buhdesk.kb.mail import (
    KbSettingsError,
    articles_for,
    min_share,
    offered_event,
    public_url,
)
from buhdesk.reply.attachment_labels import attachment_labels
from buhdesk.reply.compose import FileToSend, compose
from buhdesk.reply.templating import Rendered
from buhdesk.route.mime import ParsedMessage
from buhdesk.rules.book import Decision
from buhdesk.service.runtime import Runtime
from buhdesk.store.append_rows import event_values, insert_events, insert_raws, insert_rows
from buhdesk.store.engine import table_of
from buhdesk.store.models import Message, Request, flushed_id
from buhdesk.trust.keys import THREAD

log = logging.getLogger(__name__)


CHANNEL_LABELS = {
    "email": "электронная почта",
    "delopro": "СЭД «ДелоПро»",
    "phone": "телефон",
    "office": "личный приём",
}


Row = dict[str, Any]  # an outgoing ``messages`` row's values, inserted with Core


@dataclass
class Letters:
    """Outgoing letters and audit-trail rows of one step, written together: one insert for the
    rows, one for their bytes and one for the events (in the order they were added). Composing
    functions return them; the caller writes them (:meth:`write`) or hands them to its batch."""

    rows: list[tuple[Row, bytes]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def event(self, values: dict[str, Any]) -> None:
        self.events.append(values)

    def extend(self, other: Letters) -> None:
        self.rows.extend(other.rows)
        self.events.extend(other.events)

    def write(self, session: Session) -> None:
        """The rows, their bytes and the events, in the caller's transaction."""
        if self.rows:
            ids = insert_rows(session, Message, [row for row, _ in self.rows])
            for (row, _), pk in zip(self.rows, ids, strict=True):
                row["id"] = pk
            insert_raws(session, [(row["id"], data) for row, data in self.rows])
        if self.events:
            insert_events(session, self.events)
        self.rows, self.events = [], []



def enqueue(session: Session, rt: Runtime, *, request: Request | None, kind: str, to: Sequence[str],
            rendered: Rendered, reply_to_ids: Sequence[str] = (), auto: str | None = None,
            files: Sequence[FileToSend] = (), stored_kind: str | None = None,
            cc: Sequence[str] = ()) -> None:
    """Write one outgoing letter into the outbox (committed by the caller's transaction)."""
    letters = Letters()
    add_letter(letters, rt, request=request, kind=kind, to=to, rendered=rendered,
               reply_to_ids=reply_to_ids, auto=auto, files=files, stored_kind=stored_kind, cc=cc)
    letters.write(session)


def add_letter(letters: Letters, rt: Runtime, *, request: Request | None, kind: str,
               to: Sequence[str], rendered: Rendered, reply_to_ids: Sequence[str] = (),
               auto: str | None = None, files: Sequence[FileToSend] = (),
               stored_kind: str | None = None, cc: Sequence[str] = ()) -> Row:
    """Compose one outgoing letter into ``letters`` (written by ``letters.write``). ``kind``
    goes into the letter's token (what a reply to it means); ``stored_kind``, when given, is
    the row's kind instead of it."""
    svc = rt.config.service
    out = compose(
        secret=rt.keys.signing_key(THREAD), kind=kind,
        request_id=flushed_id(request) if request else 0,
        sender_name=svc.name, sender=svc.address, domain=svc.domain, to=to,
        subject=rendered.subject, body=rendered.body, now=rt.now(), reply_to_ids=reply_to_ids,
        auto_submitted=auto, files=files, staff=_addressee(rt, kind, to), cc=cc,
    )
    request_id = request.id if request else None
    row = outgoing_row(kind=stored_kind or kind, request_id=request_id, message_id=out.message_id,
                       from_addr=svc.address, to_addrs=", ".join(out.to), subject=out.subject,
                       # the text is in the letter's bytes (compose.text_of), kept once
                       body_text=None, size=len(out.data), created_at=rt.now())
    # the row is the letter's record in the trail: when, to whom (copies too), of which request
    letters.rows.append((row, out.data))
    return row


def _addressee(rt: Runtime, kind: str, to: Sequence[str]) -> str:
    """The login a notice or a returned answer is issued to (its token names them), or ""."""
    if kind not in ("notice", "return") or len(to) != 1:
        return ""
    member = rt.rules.staff_by_email(to[0])
    return member.login if member else ""


def client_thread(session: Session, request: Request) -> list[str]:
    """Message-IDs of the client's side of the request, oldest first, for threading: the
    client's letters and buhdesk's own to them, never an accountant's (internal) letter."""
    rows = session.execute(
        select(col(Message.message_id)).where(
            col(Message.request_id) == request.id,
            col(Message.message_id).is_not(None),
            or_(and_(col(Message.direction) == "in",
                     col(Message.kind).in_(("request", "followup"))),
                and_(col(Message.direction) == "out", col(Message.kind).in_(("ack", "answer")))),
        ).order_by(col(Message.id))
    ).scalars().all()
    return [r for r in rows if r]


def outgoing_row(**values: Any) -> Row:
    """An outgoing letter's row: pending, to be sent by the deliver stage."""
    return {"direction": "out", "status": "pending", "source": None, "source_key": None,
            "automated": None, "raw_sha256": "", "attempts": 0, "next_attempt_at": None,
            "reason": None, "done_at": None, **values}


@dataclass
class AcksToday:
    """Acknowledgments sent since ``midnight`` to each address, for one batch: an address's
    stored count is read when first asked (one index range of at most the day's cap of rows,
    whatever the store holds; read anew when the day changes), and the batch's own
    acknowledgments, not written yet, are added as the batch adds letters."""

    midnight: datetime | None = None
    stored: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)

    def copy(self) -> AcksToday:
        return AcksToday(self.midnight, dict(self.stored), dict(self.added))

    def today(self, session: Session, rt: Runtime, address: str) -> int:
        self._day(rt)
        if address not in self.stored:
            self.stored[address] = acks_since(session, address, self._midnight())
        return self.stored[address] + self.added.get(address, 0)

    def prefetch(self, session: Session, rt: Runtime, addresses: Iterable[str | None]) -> None:
        """Read the stored counts of the addresses a batch is about to acknowledge in one
        statement (the same index ranges as one :meth:`today` each)."""
        self._day(rt)
        wanted = sorted({a for a in addresses if a is not None and a not in self.stored})
        if wanted:
            self.stored.update(acks_since_each(session, wanted, self._midnight()))

    def _day(self, rt: Runtime) -> None:
        tz = rt.config.service.tz
        midnight = datetime.combine(rt.now().astimezone(tz).date(), time(), tzinfo=tz)
        if self.midnight != midnight:
            self.midnight, self.stored, self.added = midnight, {}, {}

    def _midnight(self) -> datetime:
        if self.midnight is None:
            raise RuntimeError("the day of the acknowledgment counts is not set")
        return self.midnight

    def count(self, letters: Letters) -> None:
        """The acknowledgments among ``letters``, now part of the batch."""
        for row, _ in letters.rows:
            if row["kind"] != "ack" or self.midnight is None:
                continue
            at = row["created_at"]
            if at.tzinfo is None:  # cannot tell the day here: read the counts anew
                self.midnight = None
            elif at >= self.midnight:
                self.added[row["to_addrs"]] = self.added.get(row["to_addrs"], 0) + 1


_OUT = table_of(Message).c
# Built once: making the statement costs several times running it, and it runs per letter.
_ACKS_SINCE = select(func.count()).where(
    _OUT.to_addrs == bindparam("address"), _OUT.kind == "ack",
    _OUT.created_at >= bindparam("midnight"), _OUT.direction == "out")


_ACKS_SINCE_EACH = (
    select(_OUT.to_addrs, func.count())
    .where(_OUT.to_addrs.in_(bindparam("addresses", expanding=True)), _OUT.kind == "ack",
           _OUT.created_at >= bindparam("midnight"),
           # `|| ''` keeps the direction out of the index choice: given it, SQLite reads the
           # whole day's acknowledgments through the direction index instead of the recipients'
           _OUT.direction + "" == "out")
    .group_by(_OUT.to_addrs))


def acks_since_each(session: Session, addresses: Sequence[str],
                    midnight: datetime) -> dict[str, int]:
    """:func:`acks_since` of several addresses in one statement; every address is in the
    answer (0 when it had none)."""
    counts = dict.fromkeys(addresses, 0)
    for address, count in session.connection().execute(
            _ACKS_SINCE_EACH, {"addresses": list(addresses), "midnight": midnight}):
        counts[address] = int(count)
    return counts


def acks_since(session: Session, address: str, midnight: datetime) -> int:
    """Acknowledgments to ``address`` since ``midnight``: a range of the recipient index. Read
    without flushing the session (acknowledgments are written with Core, never pending in it),
    so that a batch's changes are flushed once, not before every letter's count."""
    return int(session.connection().execute(
        _ACKS_SINCE, {"address": address, "midnight": midnight}).scalar_one())


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


def acknowledge(session: Session, rt: Runtime, acks: AcksToday, request: Request, msg: Message,
                parsed: ParsedMessage, decision: Decision) -> Letters:
    """The acknowledgment to the client and the notice to the responsible accountant."""
    letters = Letters()
    attachments = attachment_labels(parsed, max_bytes=rt.config.limits.max_attachment_bytes,
                                    number=request.number)
    _ack_client(session, rt, acks, letters, request,
                [*parsed.references, *([msg.message_id] if msg.message_id else [])],
                text=f"{parsed.subject}\n{parsed.body_text}")
    _notice(rt, letters, request, "notice", body_text=parsed.body_text, attachments=attachments,
            reasons=list(decision.reasons))
    return letters


def acknowledge_document(session: Session, rt: Runtime, acks: AcksToday, request: Request,
                         decision: Decision, *, body_text: str,
                         attachments: Sequence[str]) -> Letters:
    """The same for a request opened from an EDMS document or by an accountant (phone, office):
    the client hears only when there is an address."""
    letters = Letters()
    _ack_client(session, rt, acks, letters, request, [], text=f"{request.subject}\n{body_text}")
    _notice(rt, letters, request, "notice", body_text=body_text, attachments=list(attachments),
            reasons=list(decision.reasons))
    return letters


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


def _ack_client(session: Session, rt: Runtime, acks: AcksToday, letters: Letters,
                request: Request, reply_to_ids: Sequence[str], *, text: str) -> None:
    client = request.client_email
    if client and acks.today(session, rt, client) < rt.config.service.auto_reply_daily_cap:
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
