"""Merging a duplicate request into another and splitting letters off again.

``merge`` (by «#объединить НОМЕР» in an answer to the notice, or ``buhdesk merge``): the
duplicate's letters from the client — with their attachments — move to the surviving request,
the duplicate becomes ``merged`` (``requests.merged_into`` names the survivor), its client and
the people they copied become participants of the survivor, the earlier deadline is kept, and
the duplicate's client is told once, in their own thread, which number the answer will come
under. Replies to the duplicate's letters join the survivor (:func:`surviving`). A merged
request is neither open nor counted: the survey and the SLA figures see the survivor only.

``split`` (``buhdesk split NUMBER LETTER…``): the named client letters leave the request. When
they are exactly what a merge brought, the merged request comes back with them; otherwise they
open a new request, decided as a new letter would be, and its client is acknowledged.

The audit trail keeps both sides: ``merged``/``merged-into`` and ``split``/``split-from``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlmodel import Session, col

from buhdesk.reply.outbox import client_thread, enqueue, request_vars
from buhdesk.route.channels import Intake, open_from_intake
from buhdesk.route.lifecycle import OPEN_STATES, TransitionError, next_state
from buhdesk.route.opening import Batch
from buhdesk.route.participants import add_participants, participants_of
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Event, Message, Request
from buhdesk.store.moments import as_utc

log = logging.getLogger(__name__)

TEMPLATE = "merged"
CLIENT_KINDS = ("request", "followup")  # the client's own letters: what a merge moves
MAX_HOPS = 20  # a chain of merges is kept short (see merge), this only stops a loop


class MergeError(ValueError):
    """The merge or split cannot be done; the message is Russian."""


def surviving(session: Session, request: Request) -> Request:
    """The request that carries on the matter of ``request``: itself, or the one it was merged
    into (followed through earlier merges)."""
    seen = 0
    while request.merged_into is not None and seen < MAX_HOPS:
        target = session.get(Request, request.merged_into)
        if target is None:
            break
        request, seen = target, seen + 1
    return request


def find_request(session: Session, number: str) -> Request:
    found: Request | None = session.execute(select(Request).where(
        col(Request.number) == number.strip().upper())).scalars().first()
    if found is None:
        raise MergeError(f"обращение {number.strip().upper()} не найдено")
    return found


def client_letters(session: Session, request: Request) -> list[Message]:
    return list(session.execute(select(Message).where(
        col(Message.request_id) == request.id, col(Message.direction) == "in",
        col(Message.kind).in_(CLIENT_KINDS)).order_by(col(Message.id))).scalars())


def merge(session: Session, rt: Runtime, into: Request, other: Request, *, actor: str) -> None:
    """Merge ``other`` (the duplicate) into ``into``; committed by the caller."""
    if other.id == into.id:
        raise MergeError(f"обращение {into.number} нельзя объединить с самим собой")
    for r in (into, other):
        if r.state == "merged":
            raise MergeError(f"обращение {r.number} уже присоединено к другому обращению "
                             f"({_number(session, r.merged_into)})")
    now = rt.now()
    previous = other.state
    try:
        other.state = next_state(other.state, "merge")
    except TransitionError as e:
        raise MergeError(f"обращение {other.number} в состоянии «{other.state}» "
                         "объединить нельзя") from e
    thread = client_thread(session, other)  # read before the letters move
    moved = [m.id for m in client_letters(session, other) if m.id is not None]
    if moved:
        session.execute(update(Message).where(col(Message.id).in_(moved))
                        .values(request_id=into.id))
    # requests merged into the duplicate before now follow it to the survivor
    session.execute(update(Request).where(col(Request.merged_into) == other.id)
                    .values(merged_into=into.id))
    other.merged_into, other.closed_at, other.updated_at = into.id, now, now
    add_participants(into, [a.lower() for a in (other.client_email, *participants_of(other))
                            if a and a.lower() != (into.client_email or "").lower()])
    reopened = into.state == "closed" and previous in OPEN_STATES
    if reopened:
        into.state, into.closed_at = next_state(into.state, "reopen"), None
    if into.state in OPEN_STATES and other.due_at is not None and previous in OPEN_STATES and (
            into.due_at is None or as_utc(other.due_at) < as_utc(into.due_at)):
        into.due_at, into.due_rule = other.due_at, other.due_rule
    into.updated_at = now
    session.add(Event(request_id=into.id, stage="route", action="merged", actor=actor,
                      detail=json.dumps({"from": other.number, "letters": moved,
                                         "previous_state": previous, "reopened": reopened},
                                        ensure_ascii=False)))
    session.add(Event(request_id=other.id, stage="route", action="merged-into", actor=actor,
                      detail=json.dumps({"into": into.number}, ensure_ascii=False)))
    _tell_client(session, rt, into, other, thread)
    log.info("merge: %s merged into %s by %s (%d letter(s) moved)", other.number, into.number,
             actor, len(moved))


def _tell_client(session: Session, rt: Runtime, into: Request, other: Request,
                 thread: Sequence[str]) -> None:
    """One letter to the duplicate's client, in the duplicate's thread; a reply to it joins
    the survivor (its token names the survivor)."""
    if not other.client_email:
        return
    rendered = rt.templates.render(TEMPLATE, **request_vars(rt, other, into=into))
    enqueue(session, rt, request=into, kind="ack", to=[other.client_email], rendered=rendered,
            reply_to_ids=thread, stored_kind="merged", auto="auto-replied")


def split(session: Session, rt: Runtime, request: Request, letter_ids: Sequence[int], *,
          actor: str) -> Request:
    """Move the client letters ``letter_ids`` out of ``request``: back to the request a merge
    brought them from, or into a new request. Returns that request; committed by the caller."""
    wanted = sorted(set(letter_ids))
    if not wanted:
        raise MergeError("укажите номера писем, которые нужно выделить")
    own = client_letters(session, request)
    by_id = {m.id: m for m in own}
    strangers = [i for i in wanted if i not in by_id]
    if strangers:
        raise MergeError(f"письма {', '.join(map(str, strangers))} не являются письмами клиента "
                         f"в обращении {request.number}; номера писем показывает "
                         f"«buhdesk show {request.number}»")
    if len(wanted) == len(own):
        raise MergeError(f"в обращении {request.number} должно остаться хотя бы одно письмо "
                         "клиента")
    letters = [by_id[i] for i in wanted]
    restored = _merged_from(session, request, wanted)
    if restored is not None:
        session.execute(update(Message).where(col(Message.id).in_(wanted))
                        .values(request_id=restored.id))
        restored.state = next_state(restored.state, "split")
        restored.merged_into, restored.closed_at = None, None
        restored.updated_at = request.updated_at = rt.now()
        other = restored
    else:
        first = letters[0]
        batch = Batch(session, rt)
        other = open_from_intake(batch, Intake(
            channel=request.channel, source=first.source or request.source,
            client_email=first.from_addr or request.client_email,
            client_name=request.client_name if (first.from_addr or "").lower() == (
                request.client_email or "").lower() else "",
            subject=first.subject or request.subject, text=first.body_text or "",
            at=as_utc(first.created_at), actor=actor, parent_id=request.id), message=first)
        batch.write()
        if len(wanted) > 1:
            session.execute(update(Message).where(col(Message.id).in_(wanted[1:]))
                            .values(request_id=other.id))
    session.add(Event(request_id=request.id, stage="route", action="split", actor=actor,
                      detail=json.dumps({"new": other.number, "letters": wanted},
                                        ensure_ascii=False)))
    session.add(Event(request_id=other.id, stage="route", action="split-from", actor=actor,
                      detail=json.dumps({"from": request.number, "letters": wanted},
                                        ensure_ascii=False)))
    log.info("split: %d letter(s) of %s moved to %s by %s", len(wanted), request.number,
             other.number, actor)
    return other


def _merged_from(session: Session, request: Request, wanted: list[int]) -> Request | None:
    """The request merged into ``request`` whose moved letters are exactly ``wanted``."""
    rows = session.execute(select(col(Event.detail)).where(
        col(Event.request_id) == request.id, col(Event.action) == "merged")
        .order_by(col(Event.id).desc())).scalars()
    for detail in rows:
        d = json.loads(detail or "{}")
        if sorted(int(i) for i in d.get("letters", [])) != wanted:
            continue
        found: Request | None = session.execute(select(Request).where(
            col(Request.number) == d.get("from"))).scalars().first()
        if found is not None and found.merged_into == request.id:
            return found
    return None


def _number(session: Session, request_id: int | None) -> str:
    found = session.get(Request, request_id) if request_id is not None else None
    return found.number if found else "номер неизвестен"


def merged_clients(session: Session, request: Request) -> list[str]:
    """The clients of the requests merged into ``request`` other than its own client: the
    answer is theirs too, whatever the copy policy says about participants."""
    own = (request.client_email or "").lower()
    found = session.execute(select(col(Request.client_email)).where(
        col(Request.merged_into) == request.id).order_by(col(Request.id))).scalars()
    return list(dict.fromkeys(a.lower() for a in found if a and a.lower() != own))


def merge_numbers(rt: Runtime, into_number: str, other_numbers: Sequence[str], *,
                  actor: str) -> Request:
    """``buhdesk merge INTO OTHER…``: each duplicate merged, all in one transaction."""
    with Session(rt.engine) as session:
        into = find_request(session, into_number)
        for number in other_numbers:
            merge(session, rt, into, find_request(session, number), actor=actor)
        session.commit()
        session.refresh(into)
        return into


def split_number(rt: Runtime, number: str, letter_ids: Sequence[int], *,
                 actor: str) -> Request:
    """``buhdesk split NUMBER LETTER…``: the request the letters went to."""
    with Session(rt.engine) as session:
        request = find_request(session, number)
        if request.state == "merged":
            raise MergeError(f"обращение {request.number} присоединено к "
                             f"{_number(session, request.merged_into)}: выделяйте письма оттуда")
        other = split(session, rt, request, letter_ids, actor=actor)
        session.commit()
        session.refresh(other)
        return other
