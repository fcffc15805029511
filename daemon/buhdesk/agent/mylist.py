"""«My requests»: one letter per staff member with their open requests — overdue first, then due
today, then waiting on the client, then the rest — each with a reply link that lands in the
request's thread (a signed notice token of their own and the subject tag).

Sent every working morning at the digest time, once per person and day (``scheduled_runs``), and
on demand by «#мои». Nobody gets a list on a day off or while absent; the acting deputy of an
absent colleague gets that colleague's list as a separate section of their own letter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from urllib.parse import quote

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.reply.outbox import enqueue
from buhdesk.reply.templating import Rendered
from buhdesk.route.absences import absences_from_store
from buhdesk.route.lifecycle import OPEN_STATES
from buhdesk.rules.routing import Absence, StaffMember
from buhdesk.schedule.claims import claimed_periods, run_once
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import Request
from buhdesk.store.moments import as_utc
from buhdesk.trust.entitlement import acting_deputy
from buhdesk.trust.keys import THREAD
from buhdesk.trust.tokens import make_message_id, subject_tag

log = logging.getLogger(__name__)

JOB = "my-list"
TEMPLATE = "agent_mylist"


@dataclass(frozen=True)
class Item:
    number: str
    client: str
    subject: str
    due_at: datetime | None
    state: str
    link: str  # mailto: that replies into the request's thread

    def to_dict(self) -> dict[str, object]:
        return {"number": self.number, "client": self.client, "subject": self.subject,
                "due_at": self.due_at.isoformat() if self.due_at else None,
                "state": self.state, "reply_link": self.link}


@dataclass
class Section:
    """One person's open requests, in the order of the letter."""

    login: str
    name: str
    overdue: list[Item] = field(default_factory=list)
    due_today: list[Item] = field(default_factory=list)
    waiting: list[Item] = field(default_factory=list)
    other: list[Item] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.due_today or self.waiting or self.other)

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.due_today) + len(self.waiting) + len(self.other)


def reply_link(rt: Runtime, request: Request, login: str) -> str:
    """A mailto: link to the service with the subject tag and, as In-Reply-To, a notice token
    issued to ``login`` — what replying to a notice would send."""
    token = make_message_id(rt.keys.signing_key(THREAD), "notice", request.id or 0,
                            rt.config.service.domain, staff=login)
    subject = f"Re: {subject_tag(request.number)} {request.subject or 'без темы'}"
    return (f"mailto:{rt.config.service.address}?subject={quote(subject, safe='')}"
            f"&In-Reply-To={quote(f'<{token}>', safe='')}")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def section_of(session: Session, rt: Runtime, member: StaffMember, *, link_for: str,
               now: datetime) -> Section:
    """``member``'s open requests; the links are issued to ``link_for`` (a deputy's own)."""
    tz = rt.config.service.tz
    today = now.astimezone(tz).date()
    rows = session.execute(select(Request).where(
        col(Request.assignee) == member.login, col(Request.state).in_(OPEN_STATES),
    ).order_by(col(Request.due_at), col(Request.id))).scalars().all()
    section = Section(member.login, member.name)
    for r in rows:
        due = _aware(r.due_at) if r.due_at else None
        item = Item(r.number, r.client_name or r.client_email or "клиент не указан",
                    r.subject or "без темы", due, r.state, reply_link(rt, r, link_for))
        if r.state == "waiting":
            section.waiting.append(item)
        elif due is not None and due <= now:
            section.overdue.append(item)
        elif due is not None and due.astimezone(tz).date() == today:
            section.due_today.append(item)
        else:
            section.other.append(item)
    return section


@dataclass(frozen=True)
class MyList:
    member: StaffMember
    own: Section
    covering: list[Section]  # absent colleagues this person stands in for

    @property
    def empty(self) -> bool:
        return self.own.empty and all(s.empty for s in self.covering)


def my_list(session: Session, rt: Runtime, member: StaffMember, absences: list[Absence],
            now: datetime) -> MyList:
    day = now.astimezone(rt.config.service.tz).date()
    covering = [section_of(session, rt, colleague, link_for=member.login, now=now)
                for colleague in rt.rules.staff.values()
                if colleague.login != member.login
                and acting_deputy(rt.rules.staff, absences, colleague.login, day) == member.login]
    return MyList(member, section_of(session, rt, member, link_for=member.login, now=now),
                  [s for s in covering if not s.empty])


def render_list(rt: Runtime, mine: MyList, now: datetime, *, on_demand: bool) -> Rendered:
    return rt.templates.render(TEMPLATE, service={"name": rt.config.service.name,
                                                  "address": rt.config.service.address},
                               member=mine.member, own=mine.own, covering=mine.covering,
                               now=now, on_demand=on_demand)


def absences_now(session: Session, rt: Runtime) -> list[Absence]:
    return [*rt.rules.ruleset.absences, *absences_from_store(session)]


def is_absent(absences: list[Absence], login: str, day: date) -> bool:
    return any(a.login == login and a.covers(day) for a in absences)


def send_my_list(session: Session, rt: Runtime, member: StaffMember, now: datetime, *,
                 on_demand: bool, reply_to: str | None = None) -> int:
    """Queue ``member``'s list (an empty one only on demand); returns the letters queued."""
    mine = my_list(session, rt, member, absences_now(session, rt), now)
    if mine.empty and not on_demand:
        return 0
    enqueue(session, rt, request=None, kind="info", to=[member.email],
            rendered=render_list(rt, mine, now, on_demand=on_demand),
            reply_to_ids=[reply_to] if reply_to else [], auto="auto-replied" if on_demand
            else "auto-generated")
    return 1


def morning_lists(rt: Runtime, now: datetime) -> int:
    """The scheduled job: on a working day past ``[schedule] digest_time``, one letter per
    present staff member with open requests (their own or an absent colleague's)."""
    from buhdesk.schedule.settings import load_schedule_settings  # the job's own settings

    settings = load_schedule_settings(rt.config.extra)
    local = as_utc(now).astimezone(rt.config.service.tz)
    day = local.date()
    if not rt.rules.calendar.is_working_day(day) or local.time() < settings.digest_time:
        return 0
    with Session(rt.engine) as session:
        absences = absences_now(session, rt)
    people = {f"{day.isoformat()}:{m.login}": m for m in rt.rules.staff.values()
              if m.role != "admin" and not is_absent(absences, m.login, day)}
    done = claimed_periods(rt.engine, JOB, people)
    return sum(run_once(rt.engine, JOB, period, now,
                        partial(send_my_list, rt=rt, member=member, now=as_utc(now),
                                on_demand=False))
               for period, member in people.items() if period not in done)
