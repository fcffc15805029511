"""`buhdesk explain`: what buhdesk would do with a letter, and why — a dry run that changes nothing.

It runs the same parsing, automated-mail detection, threading and rule decisions as the route
stage. With a configuration it looks up existing requests in the store (read only); without one it
uses the shipped rules and treats every letter as new unless it is automated.

A «ДелоПро» package (a folder or PKG.zip) is explained the same way when the caller passes a
loader: the CLI gives the connector's read-only loader, so the core imports no connector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, col

from buhdesk.interfaces import Document, PackageProblem
from buhdesk.kb.library import MIN_SHARE, KnowledgeBase
from buhdesk.kb.mail import articles_for
from buhdesk.route.absences import absences_from_store
from buhdesk.route.automated import detect_automated
from buhdesk.route.document_snapshot import content_digest, file_digests, source_key
from buhdesk.route.documents import DocumentConflict, check_same_registration, find_by_uid
from buhdesk.route.letters import find_thread, letter_of
from buhdesk.route.mime import MessageParseError, ParsedMessage, parse_message
from buhdesk.route.opening import open_counts
from buhdesk.rules.book import RuleBook, with_duty_accountant
from buhdesk.rules.documents import (
    DocumentSettingsError,
    decide_document,
    load_document_settings,
)
from buhdesk.rules.routing import Absence
from buhdesk.store.models import Message, Request
from buhdesk.trust.entitlement import token_authority
from buhdesk.trust.sender_auth import hold_reason
from buhdesk.trust.settings import AuthSettings
from buhdesk.trust.tokens import find_token

FIELDS = ("file", "from", "subject", "body_text", "attachments", "automated", "action", "request",
          "process", "need", "assignee", "due_at", "rules", "articles", "error")


PackageLoader = Callable[[Path], Document | PackageProblem]


@dataclass
class ExplainContext:
    rules: RuleBook
    own_address: str
    thread_keys: tuple[bytes, ...] = ()  # empty without a usable secret: no threading
    engine: Engine | None = None
    max_attachment_bytes: int = 30_000_000
    duty_accountant: str | None = None
    load_package: PackageLoader | None = None
    kb: KnowledgeBase | None = None
    auth: AuthSettings = field(default_factory=AuthSettings)
    kb_share: float = MIN_SHARE


def _blank(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(FIELDS)
    out["file"], out["attachments"], out["rules"], out["articles"] = str(path), [], [], []
    return out


def explain_path(ctx: ExplainContext, path: Path, *, at: datetime | None = None) -> dict[str, Any]:
    """One result object for one file; errors become an ``error`` field, never an exception."""
    if ctx.load_package is not None and is_package(path):
        return explain_package(ctx, path, ctx.load_package, at=at)
    out = _blank(path)
    try:
        raw = path.read_bytes()
        parsed = parse_message(raw, max_attachment_bytes=ctx.max_attachment_bytes)
    except (OSError, MessageParseError) as e:
        out["error"] = f"{type(e).__name__}: {e}"
        out["action"] = "hold"
        return out
    _describe(out, parsed)
    when = at or parsed.date or datetime.now(UTC)
    _decide(ctx, out, parsed, when, raw)
    return out


def _describe(out: dict[str, Any], parsed: ParsedMessage) -> None:
    out["from"] = parsed.from_addr
    out["subject"] = parsed.subject
    out["body_text"] = parsed.body_text
    out["attachments"] = [a.filename for a in parsed.attachments]


def _decide(ctx: ExplainContext, out: dict[str, Any], parsed: ParsedMessage, at: datetime,
            raw: bytes = b"") -> None:
    automated = detect_automated(parsed, own_addresses={ctx.own_address})
    joined = _joined_request(ctx, parsed)
    out["automated"] = automated
    if automated:
        out["action"], out["request"] = "ignore", joined
        out["rules"] = [{"stage": "route", "rule": f"automated:{automated}"}]
        return
    staff = ctx.rules.staff_by_email(parsed.from_addr)
    held = hold_reason(ctx.auth, raw, parsed.from_addr, staff=staff is not None)
    if held:
        out["action"], out["request"], out["error"] = "hold", joined, held
        out["rules"] = [{"stage": "route", "rule": "sender-authentication", "reason": held}]
        return
    if joined:
        out["action"], out["request"] = _on_request(ctx, parsed, joined, at), joined
        return
    counts, absences = _workload(ctx)
    decision = with_duty_accountant(
        ctx.rules.decide(letter=letter_of(parsed), at=at, open_counts=counts, absences=absences),
        ctx.duty_accountant)
    out["action"], out["request"] = "new-request", "new"
    out["process"], out["need"] = decision.process, decision.need
    out["assignee"] = decision.assignee
    out["due_at"] = decision.due_at.isoformat() if decision.due_at else None
    out["rules"] = decision.rules
    if ctx.kb is not None:
        stub = Request(number="", subject=parsed.subject, process=decision.process,
                       need=decision.need)
        offered = articles_for(ctx.kb, stub, parsed.body_text, share=ctx.kb_share)
        out["articles"] = [a["slug"] for a in offered]
        out["rules"].append({"stage": "kb", "articles": [
            {"slug": a["slug"], "reasons": a["reasons"]} for a in offered]})


def _on_request(ctx: ExplainContext, parsed: ParsedMessage, number: str, at: datetime) -> str:
    """"answer" from a staff member the rules entitle, "note" from other staff, else
    "followup" (read only, from the store)."""
    member = ctx.rules.staff_by_email(parsed.from_addr)
    if member is None or not ctx.thread_keys or ctx.engine is None:
        return "followup"
    token = find_token(ctx.thread_keys, [*parsed.references, *parsed.in_reply_to])
    with Session(ctx.engine) as session:
        request = session.execute(select(Request).where(
            col(Request.number) == number)).scalars().one()
        if (parsed.from_addr or "").lower() == (request.client_email or "").lower():
            return "followup"
        absences = [*ctx.rules.ruleset.absences, *absences_from_store(session)]
        allowed = token_authority(ctx.rules.staff, absences, request, member.login, token,
                                  at.date()).allowed
    return "answer" if allowed else "note"


def _workload(ctx: ExplainContext) -> tuple[dict[str, int], list[Absence]]:
    """Open requests per accountant and every absence, as the route reads them (read only)."""
    absences: list[Absence] = list(ctx.rules.ruleset.absences)
    if ctx.engine is None:
        return {}, absences
    try:
        with Session(ctx.engine) as session:
            counts = open_counts(session)
            absences += absences_from_store(session)
            session.rollback()
    except (OperationalError, ProgrammingError):  # a store not created yet holds no requests
        return {}, absences
    return counts, absences


def _joined_request(ctx: ExplainContext, parsed: ParsedMessage) -> str | None:
    """The number of the request this letter would join, looked up read-only in the store."""
    if ctx.engine is None or not ctx.thread_keys:
        return None
    with Session(ctx.engine) as session:
        thread = find_thread(session, ctx.thread_keys, ctx.rules, parsed)
        number = thread.request.number if thread.request else None
        session.rollback()
    return number


# --- «ДелоПро» packages ------------------------------------------------------------------------


def is_package(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() == ".zip"


def explain_package(ctx: ExplainContext, path: Path, load: PackageLoader, *,
                    at: datetime | None = None) -> dict[str, Any]:
    """What registering this package would do; the package is only read, never moved."""
    out = _blank(path)
    loaded = load(path)
    if isinstance(loaded, PackageProblem):
        out["action"], out["error"] = "fail", f"{loaded.code}: {loaded.message}"
        return out
    doc = loaded
    out["from"] = (doc.author.email or doc.author.name) if doc.author else doc.correspondent
    out["subject"], out["body_text"] = doc.summary, doc.text
    out["attachments"] = [f.name for f in doc.files]
    out["document"] = {  # for the text output only: the JSON keys are FIELDS
        "reg_number": doc.reg_number, "reg_date": doc.reg_date,
        "author": doc.author.name if doc.author else doc.correspondent}
    known = _known_document(ctx, doc)
    if known is not None:
        out["action"], out["request"], out["error"] = known
        return out
    try:
        settings = load_document_settings(ctx.rules.directory)
    except DocumentSettingsError as e:
        out["action"], out["error"] = "hold", str(e)
        return out
    counts, absences = _workload(ctx)
    decision = with_duty_accountant(decide_document(
        ctx.rules, doc, at=at or datetime.now(UTC), settings=settings, open_counts=counts,
        absences=absences), ctx.duty_accountant)
    out["action"], out["request"] = "new-request", "new"
    out["process"], out["need"] = decision.process, decision.need
    out["assignee"] = decision.assignee
    out["due_at"] = decision.due_at.isoformat() if decision.due_at else None
    out["rules"] = decision.rules
    return out


def _known_document(ctx: ExplainContext, doc: Document) -> tuple[str, str, str | None] | None:
    """(action, request number, error) when the store already holds this document's UID."""
    if ctx.engine is None:
        return None
    with Session(ctx.engine) as session:
        request = find_by_uid(session, doc.key)
        if request is None:
            return None
        try:
            check_same_registration(request, doc)
        except DocumentConflict as e:
            return "conflict", request.number, e.message
        number = request.number
        key = source_key(doc, content_digest(doc, file_digests(doc)))
        stored = session.execute(
            select(col(Message.id)).where(col(Message.request_id) == request.id,
                                          col(Message.source_key) == key)
        ).first()
        session.rollback()  # expires the row: its number was read above
    return ("duplicate" if stored else "amendment"), number, None
