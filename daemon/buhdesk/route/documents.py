"""Registering EDMS documents («ДелоПро» packages) as requests, in the caller's transaction.

The document UID is the natural key: a new UID opens a request; the same UID with the same
content is a harmless re-delivery; with changed content it is an amendment of the request; with
another registration number or date it is a conflicting duplicate that a human must look at.
The original card and every file are kept with the request.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.interfaces import Document
from buhdesk.reply import outbox
from buhdesk.reply.answer_packages import CHANNEL
from buhdesk.route.absences import absences_from_store
from buhdesk.route.document_snapshot import (
    SNAPSHOT_ACTION,
    SNAPSHOT_STAGE,
    changes,
    content_digest,
    describe_changes,
    file_digests,
    latest_snapshot,
    snapshot_of,
    source_key,
)
from buhdesk.route.letters import event, event_of
from buhdesk.route.lifecycle import TRANSITIONS, next_state
from buhdesk.route.opening import Batch, Opening, open_request
from buhdesk.rules.book import with_duty_accountant
from buhdesk.rules.documents import DocumentSettings, decide_document, load_document_settings
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Attachment, Message, Raw, Request, flushed_id
from buhdesk.store.tallies import count_taken
from buhdesk.trust.staff_letters import for_assignee

log = logging.getLogger(__name__)


class DocumentConflict(Exception):
    """The UID is known with another registration number or date; ``message`` is Russian."""

    def __init__(self, message: str, *, request_number: str, first_seen: datetime) -> None:
        super().__init__(message)
        self.message, self.request_number, self.first_seen = message, request_number, first_seen


def day(value: date | None) -> str:
    return f"{value:%d.%m.%Y}" if value else "без даты"


def aware(value: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def find_by_uid(session: Session, uid: str) -> Request | None:
    return session.execute(
        select(Request).where(col(Request.external_uid) == uid)
    ).scalars().first()


def register_document(session: Session, rt: Runtime, doc: Document, *,
                      settings: DocumentSettings | None = None) -> Request:
    """Register, amend or recognise ``doc``; raise :class:`DocumentConflict` for a clash."""
    digests = file_digests(doc)
    key = source_key(doc, content_digest(doc, digests))
    request = find_by_uid(session, doc.key)
    if request is None:
        settings = settings or load_document_settings(rt.rules.directory)
        return _register(session, rt, doc, key, digests, settings)
    check_same_registration(request, doc)
    if _stored(session, request, key):
        log.info("intake: %s (%s) already registered as %s, unchanged", doc.package, doc.key,
                 request.number)
        return request
    _amend(session, rt, doc, request, key, digests)
    return request


def check_same_registration(request: Request, doc: Document) -> None:
    if (request.external_number, request.external_date) == (doc.reg_number, doc.reg_date):
        return
    raise DocumentConflict(
        f"Документ с идентификатором {doc.key} уже зарегистрирован (обращение {request.number}) "
        f"с регистрационным номером {request.external_number} от {day(request.external_date)}, "
        f"а в пакете указан номер {doc.reg_number} от {day(doc.reg_date)}. Повторная выгрузка "
        "документа должна сохранять его регистрационный номер и дату: проверьте карточку в "
        "СЭД «ДелоПро».",
        request_number=request.number, first_seen=aware(request.created_at),
    )


def _stored(session: Session, request: Request, key: str) -> bool:
    return session.execute(
        select(col(Message.id)).where(col(Message.request_id) == request.id,
                                      col(Message.source_key) == key)
    ).first() is not None


def _register(session: Session, rt: Runtime, doc: Document, key: str, digests: list[str],
              settings: DocumentSettings) -> Request:
    at = rt.now()
    batch = Batch(session, rt)
    decision = with_duty_accountant(decide_document(
        rt.rules, doc, at=at, settings=settings, open_counts=batch.counts,
        absences=batch.absences,
    ), rt.config.service.duty_accountant)
    author = doc.author
    msg = _store_message(session, rt, doc, None, "request", key)
    request = open_request(batch, Opening(
        channel=CHANNEL, source=doc.source,
        client_email=(author.email or "").strip().lower() or None if author else None,
        client_name=author.name if author else (doc.correspondent or ""),
        client_department=author.department if author else "",
        subject=doc.summary or f"Документ № {doc.reg_number}", at=at, decision=decision,
        external_uid=doc.key, external_number=doc.reg_number, external_date=doc.reg_date,
        registered={"source": doc.source, "key": doc.key, "package": doc.package,
                    "reg_number": doc.reg_number, "reg_date": doc.reg_date}), message=msg)
    batch.event(event_of(SNAPSHOT_STAGE, SNAPSHOT_ACTION, request=request, message=msg,
                         **snapshot_of(doc, digests)))
    log.info("intake: package %s (%s, № %s) registered as %s, %s/%s, assigned to %s",
             doc.package, doc.key, doc.reg_number, request.number, decision.process,
             decision.need, decision.assignee)
    batch.add(outbox.acknowledge_document(session, rt, batch.acks, request, decision,
                                          body_text=doc.text or doc.summary,
                                          attachments=[f.name for f in doc.files]))
    batch.write()
    return request


def _store_message(session: Session, rt: Runtime, doc: Document, request: Request | None,
                   kind: str, key: str) -> Message:
    """The card as an incoming message (raw = the card's bytes), with the card and the files."""
    author_mail = doc.author.email if doc.author else None
    msg = Message(direction="in", kind=kind, status="routed", source=doc.source, source_key=key,
                  request_id=request.id if request else None,
                  from_addr=(author_mail or "").lower() or None,
                  subject=doc.summary[:500], body_text=doc.text,
                  raw_sha256=hashlib.sha256(doc.original).hexdigest(), size=len(doc.original),
                  created_at=rt.now())
    session.add(msg)
    session.flush()
    count_taken(session, {doc.source: 1})
    session.add(Raw.of(flushed_id(msg), doc.original))
    _attach(session, msg, doc.original_name, "application/xml",
            rt.blobs.stage(session, doc.original), len(doc.original))
    for f in doc.files:
        data = f.read()
        _attach(session, msg, f.name, f.content_type, rt.blobs.stage(session, data),
                len(data))
    return msg


def _attach(session: Session, msg: Message, name: str, content_type: str, sha: str,
            size: int) -> None:
    session.add(Attachment(message_pk=flushed_id(msg), filename=name,
                           content_type=content_type, size=size, sha256=sha))


def _amend(session: Session, rt: Runtime, doc: Document, request: Request, key: str,
           digests: list[str]) -> None:
    """A changed re-export: keep the new card, record what changed, tell the accountant."""
    found = changes(latest_snapshot(session, flushed_id(request)), snapshot_of(doc, digests))
    msg = _store_message(session, rt, doc, request, "amendment", key)
    event(session, SNAPSHOT_STAGE, SNAPSHOT_ACTION, request=request, message=msg,
          **snapshot_of(doc, digests))
    reopened = request.state == "closed"
    if (request.state, "followup") in TRANSITIONS:
        request.state = next_state(request.state, "followup")
    if reopened:
        request.closed_at = None
    if "summary" in found and doc.summary:
        request.subject = doc.summary[:500]
    if "deadline" in found:
        due = rt.rules.deadlines.due(process=request.process, need=request.need,
                                     received_at=aware(request.created_at),
                                     external_deadline=doc.deadline)
        request.due_at, request.due_rule = due.at, due.rule
    request.updated_at = rt.now()
    event(session, "route", "amended", request=request, message=msg, package=doc.package,
          changes=found, reopened=reopened)
    summary = describe_changes(found)
    log.info("intake: package %s amends %s: %s", doc.package, request.number, summary)
    absences = [*rt.rules.ruleset.absences, *absences_from_store(session)]
    for_assignee(rt, request, absences, lambda login: outbox.notify(
        session, rt, request, "followup", login=login, reopened=reopened,
        attachments=[f.name for f in doc.files],
        body_text=f"Карточка документа в СЭД «ДелоПро» выгружена повторно с изменениями: "
                  f"{summary}.\n\n{doc.text or doc.summary}"))
