"""Answers going back into the EDMS: an outbox row per answer package, written in the same
transaction as the answer. Its raw bytes are a small JSON description; the «ДелоПро» transport
turns it into ``outgoing/RPKG/`` (answer.xml, files, READY). Receipts are recorded on the request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.interfaces import AnswerReceipt
from buhdesk.reply.compose import FileToSend
from buhdesk.reply.templating import Rendered
from buhdesk.route.document_snapshot import latest_snapshot
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Event, Message, Raw, Request, flushed_id

log = logging.getLogger(__name__)
CHANNEL = "delopro"  # the request channel of documents registered from «ДелоПро»
KIND = "delopro-answer"
SCHEME = "delopro:"


def destination(source: str) -> str:
    """The outbox address of an EDMS source: ``delopro:<source name>``."""
    return f"{SCHEME}{source}"


def _executor(rt: Runtime, login: str) -> dict[str, str]:
    member = rt.rules.staff[login]
    return {"fio": member.name, "post": member.position, "email": member.email,
            "phone": member.phone}


def _addressee(request: Request, snapshot: dict[str, Any] | None) -> dict[str, str]:
    author = (snapshot or {}).get("author") or {}
    return {"fio": author.get("name") or request.client_name,
            "post": author.get("post") or "",
            "department": author.get("department") or request.client_department,
            "email": author.get("email") or request.client_email or "",
            "phone": author.get("phone") or ""}


def describe(rt: Runtime, session: Session, request: Request, login: str, summary: str,
             files: Sequence[tuple[str, str, str]], *, closing: bool) -> dict[str, Any]:
    """The answer package as data; ``files`` are (name, content type, blob sha256)."""
    snapshot = latest_snapshot(session, request.id) if request.id else None
    return {
        "request": request.number,
        "in_reply_to": {
            "number": request.external_number or "",
            "date": request.external_date.isoformat() if request.external_date else None,
            "doc_uid": request.external_uid or "",
            "resolution_id": (snapshot or {}).get("resolution_id"),
        },
        "result": "executed" if closing else "explained",
        "executor": _executor(rt, login),
        "summary": summary,
        "addressee": _addressee(request, snapshot),
        "files": [{"name": n, "content_type": t, "sha256": s} for n, t, s in files],
        "created": rt.now().isoformat(),
    }


def queue_answer_package(session: Session, rt: Runtime, request: Request, login: str,
                         rendered: Rendered, files: Sequence[FileToSend], *,
                         closing: bool) -> Message:
    """Write the answer package row into the outbox (committed by the caller)."""
    stored = [(f.filename, f.content_type, rt.blobs.stage(session, f.data)) for f in files]
    payload = describe(rt, session, request, login, rendered.body, stored, closing=closing)
    row = Message(direction="out", kind=KIND, status="pending", request_id=request.id,
                  from_addr=rt.config.service.address, to_addrs=destination(request.source),
                  subject=f"[{request.number}] Ответ в СЭД «ДелоПро»", body_text=rendered.body,
                  created_at=rt.now())
    session.add(row)
    session.flush()
    row.message_id = payload["package"] = f"{request.number}-{row.id}"
    data = json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8")
    row.size = len(data)
    session.add(Raw.of(flushed_id(row), data))  # the row is the package's record
    log.info("reply: %s answer package %s queued for %s", request.number, row.message_id,
             row.to_addrs)
    return row


def record_receipts(session: Session, source: str, receipts: Sequence[AnswerReceipt]) -> int:
    """An event on the request whose answer package each receipt is about."""
    for receipt in receipts:
        row = session.execute(
            select(Message).where(col(Message.kind) == KIND,
                                  col(Message.message_id) == receipt.package)
        ).scalars().first()
        action = "receipt-ok" if receipt.ok else "receipt-error"
        session.add(Event(request_id=row.request_id if row else None,
                          message_pk=row.id if row else None, stage="deliver", action=action,
                          detail=json.dumps({"source": source, "package": receipt.package,
                                             "text": receipt.text}, ensure_ascii=False)))
        log_at = log.info if receipt.ok else log.warning
        log_at("deliver: receipt %s for answer package %s%s: %s", action, receipt.package,
               "" if row else " (unknown package)", receipt.text)
    return len(receipts)
