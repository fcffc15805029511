"""Reminders to the responsible accountant: on the working day before a deadline (at the configured
time) and once when the deadline passes. Each is sent once per request and deadline: the period key
holds the deadline, so a changed deadline reminds again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.agent.notes import notes_of
from buhdesk.reply import outbox
from buhdesk.route.absences import absences_from_store
from buhdesk.schedule.claims import claimed_periods, run_once
from buhdesk.schedule.settings import ScheduleSettings
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Request
from buhdesk.store.moments import as_utc
from buhdesk.trust.entitlement import acting_deputy

log = logging.getLogger(__name__)

# States in which the answer is still owed: a request waiting on the client has its clock stopped.
OWED_STATES = ("new", "assigned", "held")
BEFORE, OVERDUE = "reminder-before", "reminder-overdue"
# Long holidays put the day before a deadline at most this far back.
HORIZON = timedelta(days=21)
# Requests read at a time: memory stays the same however many are open (issue 21).
PAGE = 500


@dataclass(frozen=True)
class Reminder:
    job: str  # BEFORE | OVERDUE
    request_id: int
    due_at: datetime  # aware UTC

    @property
    def period(self) -> str:
        return f"{self.request_id}:{self.due_at.isoformat()}"


def reminder_moment(rt: Runtime, settings: ScheduleSettings, due_at: datetime) -> datetime:
    """When the advance reminder goes: the working day before the deadline's day, at the set
    time."""
    tz = rt.config.service.tz
    day = rt.rules.calendar.previous_working_day(as_utc(due_at).astimezone(tz).date())
    return datetime.combine(day, settings.reminder_time, tzinfo=tz)


def due_reminder(rt: Runtime, settings: ScheduleSettings, request: Request,
                 now: datetime) -> Reminder | None:
    """The reminder this request needs now, if any (the overdue one wins over the advance one)."""
    if request.due_at is None or request.id is None:
        return None
    due = as_utc(request.due_at)
    if now >= due:
        return Reminder(OVERDUE, request.id, due)
    moment = reminder_moment(rt, settings, due)
    if now >= moment and as_utc(request.created_at) < moment:
        return Reminder(BEFORE, request.id, due)
    return None


def _candidates(rt: Runtime, now: datetime) -> Iterator[list[Request]]:
    """The open requests whose deadline is near or past, by id, ``PAGE`` at a time (each page
    read in its own short transaction and detached)."""
    after = 0
    while True:
        with Session(rt.engine) as session:
            rows = list(session.execute(select(Request).where(
                col(Request.id) > after,
                col(Request.state).in_(OWED_STATES),
                col(Request.assignee).is_not(None),
                col(Request.due_at).is_not(None),
                col(Request.due_at) <= now + HORIZON,
            ).order_by(col(Request.id)).limit(PAGE)).scalars())
            session.expunge_all()
        if not rows:
            return
        yield rows
        if len(rows) < PAGE:
            return
        after = rows[-1].id or after


def send_reminders(rt: Runtime, settings: ScheduleSettings) -> int:
    """Queue every reminder that is due and not yet sent; returns the number of letters."""
    now = as_utc(rt.now())
    sent = 0
    for page in _candidates(rt, now):
        due = [r for req in page if (r := due_reminder(rt, settings, req, now))]
        sent += _send_due(rt, due, now)
    return sent


def _send_due(rt: Runtime, due: list[Reminder], now: datetime) -> int:
    sent = 0
    for job in (BEFORE, OVERDUE):
        batch = [r for r in due if r.job == job]
        done = claimed_periods(rt.engine, job, (r.period for r in batch))
        for reminder in batch:
            if reminder.period in done:
                continue
            try:
                sent += run_once(rt.engine, job, reminder.period, now,
                                 partial(_queue, rt=rt, reminder=reminder))
            except Exception:
                log.exception("schedule: %s for request %s failed", job, reminder.request_id)
    return sent


def _queue(session: Session, rt: Runtime, reminder: Reminder) -> int:
    request = session.get(Request, reminder.request_id)
    if request is None or request.state not in OWED_STATES:
        return 0  # answered or closed meanwhile
    member = rt.rules.staff.get(request.assignee or "")
    if member is None:
        log.warning("schedule: %s: accountant %r is not in the staff file, no reminder",
                    request.number, request.assignee)
        return 0
    overdue = reminder.job == OVERDUE
    rendered = rt.templates.render("reminder", **outbox.request_vars(
        rt, request, overdue=overdue, due_at=reminder.due_at,
        created_at=as_utc(request.created_at), now=as_utc(rt.now()),
        notes=notes_of(session, rt.rules, request)))
    # A notice token, so that the accountant's reply to the reminder answers the request (as a
    # reply to the first notice does) instead of counting as the client's follow-up. While the
    # accountant is absent their acting deputy gets it too (with a token of their own).
    sent = 0
    for login in (request.assignee, _acting_deputy(session, rt, request)):
        person = rt.rules.staff.get(login or "")
        if person is None:
            continue
        outbox.enqueue(session, rt, request=request, kind="notice", to=[person.email],
                       rendered=rendered, auto="auto-generated", stored_kind="reminder")
        sent += 1
    return sent


def _acting_deputy(session: Session, rt: Runtime, request: Request) -> str | None:
    absences = [*rt.rules.ruleset.absences, *absences_from_store(session)]
    day = rt.now().astimezone(rt.config.service.tz).date()
    return acting_deputy(rt.rules.staff, absences, request.assignee, day)
