"""Survey invitations after closure (order 76, §4, §5.2), sent in one batch a day at a random
moment within the configured window, so an invitation's arrival tells nothing about the request.

Each closed request is considered once (``survey_invited``); automated senders, external bodies
(domains outside the internal list, EDMS documents from a correspondent) and people invited within
the rate-limit period get none. Tokens are stored hashed, in an order shuffled apart from the
letters; once a letter has gone out, its stored copy has the token replaced by «[удалено]».
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email import charset, message_from_bytes
from email.policy import compat32

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.feedback.models import SurveyInvited, SurveyRate
from buhdesk.feedback.settings import SurveySettings, survey_settings
from buhdesk.feedback.tokens import (
    TokenLabels,
    new_token,
    period_of,
    quarter_end,
    quarter_of,
    token_row,
)
from buhdesk.reply.compose import compose
from buhdesk.route.document_snapshot import latest_snapshot
from buhdesk.schedule.claims import run_once
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Event, Message, Raw, Request, flushed_id
from buhdesk.store.moments import as_utc
from buhdesk.trust.keys import SURVEY_MOMENT, SURVEY_PERSON, THREAD

log = logging.getLogger(__name__)
JOB = "survey-invitations"
KIND = "survey"
SCRUBBED = "[удалено]"
LOOKBACK_DAYS = 14  # only recent closures are invited (not the whole history on first start)
TOKEN_IN_TEXT = re.compile(r"(/survey/)([A-Za-z0-9_\-]{16,})")
_AUTOMATED_LOCAL = re.compile(
    r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?|robot|daemon|auto|"
    r"notifications?|listserv|majordomo)([+._-].*)?$", re.IGNORECASE)
_RANDOM = random.SystemRandom()
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP


def batch_moment(rt: Runtime, day: date, settings: SurveySettings) -> datetime:
    """Today's moment for the batch: random within the window, unknown without the secret, but
    the same on every poll and every instance."""
    tz = rt.config.service.tz
    start = datetime.combine(day, settings.window_start, tzinfo=tz)
    span = int((datetime.combine(day, settings.window_end, tzinfo=tz) - start).total_seconds())
    key = rt.keys.signing_key(SURVEY_MOMENT)
    digest = hmac.new(key, f"survey-moment:{day.isoformat()}".encode(), hashlib.sha256)
    return start + timedelta(seconds=int.from_bytes(digest.digest()[:8], "big") % max(span, 1))


def person_key(secret: bytes, address: str) -> str:
    """The keyed hash that stands for a person in the rate-limit table."""
    return hmac.new(secret, f"survey-person:{address.strip().lower()}".encode(),
                    hashlib.sha256).hexdigest()


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def send_invitations(rt: Runtime) -> int:
    """The scheduler job: once a day, after the day's moment, invite for requests closed before
    today. Returns the number of invitations queued."""
    settings = survey_settings(rt.config)
    if not settings.enabled:
        return 0
    now = rt.now()
    today = now.astimezone(rt.config.service.tz).date()
    if now < batch_moment(rt, today, settings):
        return 0
    return run_once(rt.engine, JOB, today.isoformat(), now,
                    lambda session: _invite_batch(session, rt, settings, today))


@dataclass(frozen=True)
class _Invite:
    address: str
    token: str
    labels: TokenLabels


def _invite_batch(session: Session, rt: Runtime, settings: SurveySettings, today: date) -> int:
    tz = rt.config.service.tz
    cutoff = as_utc(datetime.combine(today, time(), tzinfo=tz))  # stored times are UTC
    candidates = list(session.execute(select(Request).where(
        col(Request.state) == "closed", col(Request.closed_at).is_not(None),
        col(Request.closed_at) < cutoff,
        col(Request.closed_at) >= cutoff - timedelta(days=LOOKBACK_DAYS),
        col(Request.id).not_in(select(col(SurveyInvited.request_id))),
    )).scalars())
    _RANDOM.shuffle(candidates)
    period = period_of(today, settings.answer_period)
    invites: list[_Invite] = []
    people: set[str] = set()
    for request in candidates:
        session.add(SurveyInvited(request_id=request.id))
        reason = refusal(session, rt, settings, request, today, people)
        if reason:
            log.info("survey: %s gets no invitation: %s", request.number, reason)
            continue
        address = (request.client_email or "").lower()
        person = person_key(rt.keys.signing_key(SURVEY_PERSON), address)
        people.add(person)
        session.merge(SurveyRate(person=person, week=week_of(today)))
        invites.append(_Invite(address, new_token(),
                               TokenLabels(request.process or "", period)))
    _store_tokens(session, invites, quarter_end(quarter_of(today))
                  + timedelta(days=settings.valid_days))
    for invite in _shuffled(invites):
        _queue_letter(session, rt, settings, invite)
    session.add(Event(stage="schedule", action="survey-invitations",
                      detail=json.dumps({"invitations": len(invites)})))
    return len(invites)


def _shuffled(items: Sequence[_Invite]) -> list[_Invite]:
    out = list(items)
    _RANDOM.shuffle(out)
    return out


def _store_tokens(session: Session, invites: Sequence[_Invite], valid_until: date) -> None:
    # Inserted in their own random order: row order must not match the letters' order.
    for invite in _shuffled(invites):
        session.add(token_row(invite.token, invite.labels, valid_until))


def refusal(session: Session, rt: Runtime, settings: SurveySettings, request: Request,
            today: date, people: set[str]) -> str | None:
    """Why this request's client gets no invitation, or None."""
    address = (request.client_email or "").strip().lower()
    if not address or "@" not in address:
        return "нет адреса электронной почты"
    local, _, domain = address.rpartition("@")
    if _AUTOMATED_LOCAL.match(local) or address == rt.config.service.address:
        return "автоматический отправитель"
    if domain not in settings.internal_domains:
        return "внешний адресат (домен не входит в список внутренних)"
    if request.channel == "delopro" and (latest_snapshot(session, flushed_id(request)) or {}).get(
            "correspondent"):
        return "документ внешнего корреспондента из СЭД «ДелоПро»"
    persons = [person_key(key, address) for key in rt.keys.keys(SURVEY_PERSON)]
    since = today - timedelta(days=settings.per_person_days)
    recent = session.execute(select(col(SurveyRate.week)).where(
        col(SurveyRate.person).in_(persons),
        col(SurveyRate.week) > week_of(since))).first()
    if persons[0] in people or (recent is not None and settings.per_person_days > 0):
        return "приглашение этому сотруднику уже отправлялось недавно"
    return None


def _queue_letter(session: Session, rt: Runtime, settings: SurveySettings,
                  invite: _Invite) -> None:
    svc = rt.config.service
    rendered = rt.templates.render(
        "survey_invite", service={"name": svc.name, "address": svc.address},
        link=f"{settings.base_url}/survey/{invite.token}")
    out = compose(secret=rt.keys.signing_key(THREAD), kind="info", request_id=0,
                  sender_name=svc.name,
                  sender=svc.address, domain=svc.domain, to=[invite.address],
                  subject=rendered.subject, body=rendered.body, now=rt.now(),
                  auto_submitted="auto-generated")
    row = Message(direction="out", kind=KIND, status="pending", message_id=out.message_id,
                  from_addr=svc.address, to_addrs=invite.address, subject=out.subject,
                  body_text=rendered.body, size=len(out.data), created_at=rt.now())
    session.add(row)
    session.flush()
    session.add(Raw.of(flushed_id(row), out.data))


SCRUB_MARGIN = timedelta(hours=1)  # how much older than its commit a letter's row can be


class InvitationScrub:
    """The worker's scrub of sent invitations, run on every turn of its loop: each pass reads
    the invitations written since the oldest one still pending at the previous pass (less a
    margin for a transaction that commits late) — a range of an index, however many years of
    invitations lie behind. The first pass, when the daemon starts, reads them all."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.since: datetime | None = None

    def __call__(self) -> int:
        start = self.rt.now()
        done, pending = _scrub(self.rt, self.since)
        self.since = min([start, *pending]) - SCRUB_MARGIN
        return done


def scrub_sent_invitations(rt: Runtime) -> int:
    """Replace the token in the stored copies of all invitations that have gone out (or were
    cancelled). Returns the number of letters scrubbed."""
    return _scrub(rt, None)[0]


def _scrub(rt: Runtime, since: datetime | None) -> tuple[int, list[datetime]]:
    """Scrubs the invitations written since ``since`` (all when None); returns how many, and
    when the invitations still pending were written."""
    done = 0
    with Session(rt.engine) as session:
        stmt = select(Message).where(
            col(Message.direction) == "out", col(Message.kind) == KIND,
            col(Message.status).in_(("sent", "cancelled")),
            col(Message.body_text).contains("/survey/"),
        )
        if since is not None:
            stmt = stmt.where(col(Message.created_at) >= since)
        for row in session.execute(stmt).scalars().all():
            if not TOKEN_IN_TEXT.search(row.body_text or ""):
                continue
            row.body_text = scrub_text(row.body_text or "")
            raw = session.get(Raw, row.id)
            if raw is not None:
                raw.keep(scrub_raw(bytes(raw.letter())))
            done += 1
        # the invitations still pending: every one was written since the last pass's oldest
        # pending one, so the range read above holds them all (the whole outbox's pending
        # letters, read here before, are the backlog's acknowledgments and notices after a
        # catch-up, read again on every turn of the loop: tens of thousands each)
        waiting = select(col(Message.created_at)).where(
            col(Message.direction) == "out", col(Message.kind) == KIND,
            # `|| ''` keeps the status out of the index choice: given it, a store without the
            # planner's statistics reads every pending letter of the outbox through its index
            col(Message.status) + "" == "pending")
        if since is not None:
            waiting = waiting.where(col(Message.created_at) >= since)
        pending = [as_utc(at) for at in session.execute(waiting).scalars()]
        session.commit()
    if done:
        log.info("survey: tokens removed from %d sent invitation(s)", done)
    return done, pending


def scrub_text(text: str) -> str:
    return TOKEN_IN_TEXT.sub(lambda m: m.group(1) + SCRUBBED, text)


def scrub_raw(data: bytes) -> bytes:
    """The letter with the token removed from its text part, re-encoded."""
    msg = message_from_bytes(data, policy=compat32)
    for part in msg.walk():
        if part.get_content_type() != "text/plain":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):  # a text/plain part decodes to bytes
            raise ValueError("a text/plain part of an invitation has no body to scrub")
        text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        del part["Content-Transfer-Encoding"]
        part.set_payload(scrub_text(text), _UTF8_QP)
    return msg.as_bytes(policy=compat32.clone(linesep="\r\n"))
