"""Stage 2, route: parse a stored message, recognise automated mail, join it to its request or
open a new one, classify and assign; every decision is recorded in the audit trail.

Each message is routed in its own transaction; a failure holds that message with the reason and
the loop goes on.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.agent.mail_commands import handle_commands
from buhdesk.agent.merging import surviving
from buhdesk.feedback.settings import ClosureSettings, closure_settings
from buhdesk.reply import outbox
from buhdesk.reply.closure import followup_policy, open_linked
from buhdesk.route.automated import detect_automated
from buhdesk.route.bounces import join_bounce
from buhdesk.route.courtesy import is_courtesy
from buhdesk.route.lifecycle import next_state
from buhdesk.route.mime import MessageParseError, ParsedMessage, parse_message
from buhdesk.route.opening import Batch, Opening, Prepared, open_request
from buhdesk.route.participants import copied, is_participant
from buhdesk.route.quoting import split_signature, strip_quoted
from buhdesk.rules.book import RuleBook, with_duty_accountant
from buhdesk.rules.classify import Letter
from buhdesk.service.runtime import Runtime
from buhdesk.store.append_rows import event_values, insert_events
from buhdesk.store.blobs import BlobStore
from buhdesk.store.engine import is_postgres
from buhdesk.store.models import Attachment, Message, Request, flushed_id
from buhdesk.store.raw import has_raw, read_raw, read_raws, splice_raw
from buhdesk.trust.floods import notify_capped
from buhdesk.trust.holds import hold_if_flooding, hold_if_unauthentic
from buhdesk.trust.keys import THREAD
from buhdesk.trust.staff_letters import for_assignee, handle_staff_letter
from buhdesk.trust.tokens import Token, find_subject_tag, find_token

log = logging.getLogger(__name__)

PREFETCH_BYTES = 256 * 1024  # larger messages are read one at a time, not a batch at once

@dataclass(frozen=True)
class Thread:
    request: Request | None
    token: Token | None
    how: str  # "token", "subject-tag", "" (new)


def event(session: Session, stage: str, action: str, *, request: Request | None = None,
          message: Message | None = None, actor: str = "buhdesk", **detail: Any) -> None:
    insert_events(session, [event_of(stage, action, request=request, message=message,
                                     actor=actor, **detail)])


def event_of(stage: str, action: str, *, request: Request | None = None,
             message: Message | None = None, actor: str = "buhdesk",
             **detail: Any) -> dict[str, Any]:
    """The values of one audit-trail row, for :func:`insert_events`."""
    return event_values(
        request_id=request.id if request else None,
        message_pk=message.id if message else None, stage=stage, action=action, actor=actor,
        detail=json.dumps(detail, ensure_ascii=False, default=str),
    )


def route_pending(rt: Runtime, *, limit: int = 50, stop: threading.Event | None = None) -> int:
    """Route up to ``limit`` stored messages in one transaction. Returns how many were handled.
    On PostgreSQL rows another instance is routing are skipped (SKIP LOCKED).

    The batch is first routed in one go; when any message of it fails, that attempt is rolled
    back whole and the batch is routed again with each message in its own savepoint, so that
    the failing one is rolled back alone and held with the reason."""
    try:
        return _route_batch(rt, limit, stop, isolated=False)
    except Exception as e:  # noqa: BLE001  # any failure: the careful way holds the culprit
        reason = str(e).splitlines()[0] if str(e) else ""
        log.warning("route: the batch failed (%s: %s), routing it one message at a time",
                    type(e).__name__, reason)
        return _route_batch(rt, limit, stop, isolated=True)


def _route_batch(rt: Runtime, limit: int, stop: threading.Event | None, *,
                 isolated: bool) -> int:
    with Session(rt.engine) as session:
        stmt = (select(Message).where(col(Message.direction) == "in",
                                      col(Message.status) == "received")
                .order_by(col(Message.id)).limit(limit))
        if is_postgres(rt.engine):
            stmt = stmt.with_for_update(skip_locked=True)
        messages = list(session.execute(stmt).scalars())
        raws = _raws(session, [m.id for m in messages if m.size <= PREFETCH_BYTES], rt.blobs)
        batch = Batch(session, rt)
        _prepare(batch, raws)
        batch.acks.prefetch(session, rt, (p.parsed.from_addr for p in batch.prepared.values()))
        done = 0
        for msg in messages:
            if stop is not None and stop.is_set():
                break
            if isolated:
                _route_isolated(batch, msg, raws)
            else:
                _route(batch, msg, raws)
            done += 1
        batch.write()
        session.commit()
    return done


def _prepare(batch: Batch, raws: dict[int, bytes | bytearray]) -> None:
    """Parse and classify the batch's letters before routing them: the first request opened
    takes the numbering row's lock for the rest of the transaction, and other instances wait
    for it (PostgreSQL), so what needs neither the store nor the batch's counts is done first.
    A letter that fails here is parsed again in turn and held with the reason there."""
    rules = batch.rt.rules
    limit = batch.rt.config.limits.max_attachment_bytes
    for pk, data in raws.items():
        try:
            parsed = parse_message(data, max_attachment_bytes=limit)
        except MessageParseError:
            continue
        prepared = batch.prepared[pk] = Prepared(parsed)
        try:
            prepared.classified = rules.ruleset.classifier.classify(letter_of(parsed))
            prepared.rules = rules
        except Exception:  # noqa: BLE001  # classified again in turn, where a failure holds it
            log.debug("route: classifying ahead failed", exc_info=True)


def _raws(session: Session, ids: Sequence[int | None],
          blobs: BlobStore) -> dict[int, bytes | bytearray]:
    """The batch's raw bytes, read in one query and handed out once each."""
    return read_raws(session, [pk for pk in ids if pk is not None], blobs)


def _route_isolated(batch: Batch, msg: Message, raws: dict[int, bytes | bytearray]) -> None:
    session, rt = batch.session, batch.rt
    key = f"{msg.source}:{msg.source_key}"
    part = batch.part()
    try:
        with session.begin_nested():
            _route(part, msg, raws)
            part.write()
        batch.adopt(part)
    except Exception as e:  # one bad message never stops the others
        log.exception("route: %s failed, holding it", key)
        part.discard()
        msg.status, msg.reason = "held", f"ошибка обработки: {type(e).__name__}: {e}"
        _describe_held(session, rt, msg)
        event(session, "route", "held", message=msg, reason=msg.reason)


def _describe_held(session: Session, rt: Runtime, msg: Message) -> None:
    """Sender and subject for the held list, after the failed attempt was rolled back (the
    bytes read as the route reads them: a big letter is not kept in the session)."""
    if not has_raw(session, flushed_id(msg)):
        return  # destroyed under the retention term: nothing to describe
    try:
        parsed = parse_message(read_raw(session, flushed_id(msg), rt.blobs),
                               max_attachment_bytes=0)
    except MessageParseError:
        return
    _describe(msg, parsed)


def _route(batch: Batch, msg: Message, raws: dict[int, bytes | bytearray]) -> None:
    session, rt = batch.session, batch.rt
    pk = flushed_id(msg)
    stored = raws.pop(pk, None)
    # a big letter is read alone, not kept in the session: it is held once
    data: bytes | bytearray = stored if stored is not None else read_raw(session, pk, rt.blobs)
    prepared = batch.prepared.pop(pk, None)
    try:
        parsed = prepared.parsed if prepared else parse_message(
            data, max_attachment_bytes=rt.config.limits.max_attachment_bytes)
    except MessageParseError as e:
        msg.status, msg.reason = "held", f"не удалось разобрать письмо: {e.reason}"
        event(session, "route", "held", message=msg, reason=msg.reason)
        log.warning("route: %s:%s held: %s", msg.source, msg.source_key, e)
        return
    thread = find_thread(session, rt.keys.keys(THREAD), rt.rules, parsed)
    automated = detect_automated(parsed, own_addresses={rt.config.service.address})
    if automated:
        _fill_message(session, rt, msg, parsed, data)
        _ignore_automated(session, msg, thread, automated)
        if automated == "bounce":
            join_bounce(session, rt, msg, parsed, batch.absences)
        return
    staff = rt.rules.staff_by_email(parsed.from_addr)
    request = thread.request
    by_staff = request is not None and staff is not None and not _is_client(
        request, parsed.from_addr)
    _describe(msg, parsed)  # what a held letter is listed as
    # Before anything the sender's address causes: is the sender real, is it a flood.
    if hold_if_unauthentic(session, rt, msg, data, parsed, staff=staff is not None,
                           request=request) or (
            not by_staff and _opens_request(rt, request) and
            hold_if_flooding(session, rt, msg, parsed.from_addr or "")):
        return
    _fill_message(session, rt, msg, parsed, data)
    if handle_commands(session, rt, msg, parsed, data, member=staff if request is None or by_staff
                       else None, request=request, token=thread.token):
        return  # a letter of staff commands (#мои, #найти, #история): answered, nothing else
    if by_staff and request is not None and staff is not None:
        handle_staff_letter(session, rt, msg, parsed, request, thread.token, staff,
                            batch.absences)
    elif request is not None:
        _followup(batch, msg, parsed, request, thread)
    else:
        _new_request(batch, msg, parsed, prepared)


def _opens_request(rt: Runtime, request: Request | None) -> bool:
    """Whether a letter from outside the staff opens a new request: it joins none, or it
    follows up one closed longer ago than the reopening period."""
    reopen_days = closure_settings(rt.config).reopen_days
    return request is None or followup_policy(request, rt.now(),
                                              reopen_days=reopen_days) == "new-linked"


def _is_client(request: Request, address: str | None) -> bool:
    if not address:
        return False
    return address.lower() == (request.client_email or "").lower()


def _describe(msg: Message, parsed: ParsedMessage) -> None:
    """Sender and subject of a held letter, for the held list."""
    msg.from_addr, msg.subject, msg.message_id = parsed.from_addr, parsed.subject[:500], \
        parsed.message_id


def _fill_message(session: Session, rt: Runtime, msg: Message, parsed: ParsedMessage,
                  data: bytes | bytearray) -> None:
    """The message's fields and attachments from the parsed letter; the stored letter is then
    kept without the base64 of the files just staged (``store.splice``)."""
    msg.message_id = parsed.message_id
    msg.from_addr = parsed.from_addr
    msg.to_addrs = ", ".join(parsed.to)
    msg.subject = parsed.subject[:500]
    msg.body_text = parsed.body_text
    files = set()
    for att in parsed.attachments:
        sha = rt.blobs.stage(session, att.data) if not att.truncated else ""
        session.add(Attachment(message_pk=flushed_id(msg), filename=att.filename,
                               content_type=att.content_type, size=att.size, sha256=sha,
                               purged=att.truncated))
        if sha:
            files.add(sha)
    splice_raw(session, flushed_id(msg), data, files)
    if parsed.defects:
        event(session, "route", "parsed-with-defects", message=msg, defects=list(parsed.defects))


def find_thread(session: Session, keys: Sequence[bytes], rules: RuleBook,
                parsed: ParsedMessage) -> Thread:
    """Our signed Message-ID in the references first, then the subject tag from a participant;
    a request merged into another stands for the one it joined."""
    found = _find_thread(session, keys, rules, parsed)
    if found.request is not None and found.request.merged_into is not None:
        return Thread(surviving(session, found.request), found.token, found.how)
    return found


def _find_thread(session: Session, keys: Sequence[bytes], rules: RuleBook,
                 parsed: ParsedMessage) -> Thread:
    token = find_token(keys, [*parsed.references, *parsed.in_reply_to])
    if token is not None:
        request = session.get(Request, token.request_id)
        if request is not None:
            return Thread(request, token, "token")
    request = _referenced_request(session, parsed)
    if request is not None and _is_participant(rules, request, parsed.from_addr):
        return Thread(request, None, "reference")
    number = find_subject_tag(parsed.subject)
    if number:
        request = session.execute(
            select(Request).where(col(Request.number) == number)
        ).scalars().first()
        if request is not None and _is_participant(rules, request, parsed.from_addr):
            return Thread(request, None, "subject-tag")
    return Thread(None, None, "")


def _referenced_request(session: Session, parsed: ParsedMessage) -> Request | None:
    """The request of a letter this one replies to, found by Message-ID: a colleague the client
    copied answers the client's own letter, which carries no token of ours."""
    ids = [i.strip("<>") for i in (*parsed.in_reply_to, *parsed.references)][-20:]
    if not ids:
        return None
    request_id = session.execute(
        select(col(Message.request_id)).where(col(Message.message_id).in_(ids),
                                              col(Message.request_id).is_not(None))
        .order_by(col(Message.id).desc()).limit(1)).scalar()
    return session.get(Request, request_id) if request_id is not None else None


def _is_participant(rules: RuleBook, request: Request, address: str | None) -> bool:
    if not address:
        return False
    return (_is_client(request, address) or is_participant(request, address)
            or rules.staff_by_email(address) is not None)


def _ignore_automated(session: Session, msg: Message, thread: Thread, kind: str) -> None:
    msg.status, msg.kind, msg.automated = "ignored", "automated", kind
    msg.request_id = thread.request.id if thread.request else None
    event(session, "route", "automated", request=thread.request, message=msg, kind=kind)
    log.info("route: %s:%s is automated mail (%s), no answer", msg.source, msg.source_key, kind)


def letter_of(parsed: ParsedMessage, department: str | None = None) -> Letter:
    return Letter(subject=parsed.subject, body=parsed.body_text, sender=parsed.from_addr or "",
                  sender_name=parsed.from_name, department=department)


def _new_request(batch: Batch, msg: Message, parsed: ParsedMessage,
                 prepared: Prepared | None = None) -> None:
    rt = batch.rt
    at = msg.created_at
    classified = prepared.classified if prepared and prepared.rules is rt.rules else None
    decision = with_duty_accountant(rt.rules.decide(
        letter=letter_of(parsed), at=at, open_counts=batch.counts, absences=batch.absences,
        classified=classified,
    ), rt.config.service.duty_accountant)
    request = open_request(batch, Opening(
        channel="email", source=msg.source or "", client_email=parsed.from_addr,
        client_name=parsed.from_name, subject=parsed.subject, at=at, decision=decision,
        participants=",".join(copied(parsed.to, parsed.cc, client=parsed.from_addr,
                                     own=[rt.config.service.address])),
        registered={"source": msg.source, "key": msg.source_key}), message=msg)
    log.info("route: %s:%s registered as %s, %s/%s, assigned to %s", msg.source, msg.source_key,
             request.number, decision.process, decision.need, decision.assignee)
    batch.add(outbox.acknowledge(batch.session, rt, batch.acks, request, msg, parsed, decision))


def _is_courtesy(rt: Runtime, parsed: ParsedMessage, settings: ClosureSettings) -> bool:
    """Thanks or a confirmation, nothing asked (see :mod:`buhdesk.route.courtesy`)."""
    own, _signature = split_signature(strip_quoted(parsed.body_text))
    if not own.strip() and parsed.attachments:
        return False  # a file sent after closing is news for the accountant
    need = rt.rules.ruleset.classifier.classify(letter_of(parsed)).need
    return is_courtesy(own, thanks=settings.thanks,
                       max_other_words=settings.thanks_max_other_words, need=need or "other")


def _followup(batch: Batch, msg: Message, parsed: ParsedMessage, request: Request,
              thread: Thread) -> None:
    session, rt = batch.session, batch.rt
    settings = closure_settings(rt.config)
    if request.state == "closed" and _is_courtesy(rt, parsed, settings):
        msg.request_id, msg.kind, msg.status = request.id, "followup", "routed"
        event(session, "route", "courtesy-after-close", request=request, message=msg,
              joined_by=thread.how)
        log.info("route: %s:%s thanks on closed %s, recorded without reopening", msg.source,
                 msg.source_key, request.number)
        return
    if followup_policy(request, rt.now(), reopen_days=settings.reopen_days) == "new-linked":
        open_linked(batch, request, msg, subject=parsed.subject[:500], text=parsed.body_text,
                    client_name=parsed.from_name)
        return
    reopened = request.state == "closed"
    request.state = next_state(request.state, "followup")
    request.updated_at = rt.now()
    if reopened:
        request.closed_at = None
    msg.request_id, msg.kind, msg.status = request.id, "followup", "routed"
    event(session, "route", "followup", request=request, message=msg, joined_by=thread.how,
          reopened=reopened)
    notify_capped(session, rt, request, parsed.from_addr or "", lambda: for_assignee(
        rt, request, batch.absences, lambda login: outbox.notify_followup(
            session, rt, request, msg, parsed, reopened=reopened, login=login)))


