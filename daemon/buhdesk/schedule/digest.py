"""The unit head's daily digest: per accountant of the head's unit, what is overdue, due today,
waiting on the client and held; then what has no accountant yet (every head sees that, as they
do requests of people no longer in the staff file). Collected from the store, rendered from
templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from buhdesk.route.lifecycle import OPEN_STATES
from buhdesk.schedule.reminders import OWED_STATES
from buhdesk.service.runtime import Runtime
from buhdesk.store.models import DIRECTIONS, Message, Request
from buhdesk.store.moments import as_utc
from buhdesk.trust.printsafe import safe_line

UNASSIGNED = ""


@dataclass(frozen=True)
class DigestItem:
    number: str
    subject: str
    client: str
    process_label: str
    state: str
    created_at: datetime
    due_at: datetime | None


@dataclass(frozen=True)
class HeldItem:
    id: int
    direction: str  # "in" | "out"
    subject: str
    reason: str
    number: str | None
    created_at: datetime


@dataclass
class AccountantDigest:
    login: str
    name: str
    overdue: list[DigestItem] = field(default_factory=list)
    due_today: list[DigestItem] = field(default_factory=list)
    waiting: list[DigestItem] = field(default_factory=list)
    held: list[HeldItem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.due_today or self.waiting or self.held)


@dataclass
class Digest:
    day: date
    generated_at: datetime
    accountants: list[AccountantDigest]
    unsorted: list[DigestItem]
    held_unassigned: list[HeldItem]

    def total(self, section: str) -> int:
        return sum(len(getattr(a, section)) for a in self.accountants)

    @property
    def empty(self) -> bool:
        return not (self.accountants or self.unsorted or self.held_unassigned)


def _item(rt: Runtime, r: Request) -> DigestItem:
    return DigestItem(
        number=r.number, subject=safe_line(r.subject or "без темы"),
        client=safe_line(r.client_name or r.client_email or "клиент не указан"),
        process_label=rt.rules.process_label(r.process), state=r.state,
        created_at=as_utc(r.created_at), due_at=as_utc(r.due_at) if r.due_at else None,
    )


def _held(session: Session) -> list[tuple[HeldItem, str | None]]:
    rows = session.execute(
        select(Message, Request).outerjoin(Request, col(Message.request_id) == col(Request.id))
        .where(col(Message.direction).in_(DIRECTIONS), col(Message.status) == "held")
        .order_by(col(Message.id))
    ).all()
    return [(HeldItem(id=m.id, direction=m.direction, subject=safe_line(m.subject or "без темы"),
                      reason=safe_line(m.reason or "причина не указана"),
                      number=r.number if r else None,
                      created_at=as_utc(m.created_at)), r.assignee if r else None)
            for m, r in rows]


class _Discarded(AccountantDigest):
    """Where another unit's items go: nowhere."""


class _Book:
    """Accountants' sections in staff-file order, then anyone no longer in the staff file; with
    ``unit``, of that unit's staff only."""

    def __init__(self, rt: Runtime, unit: str | None = None) -> None:
        self.rt, self.unit = rt, unit
        self.by_login: dict[str, AccountantDigest] = {}
        self._other = _Discarded(login="", name="")

    def of(self, login: str) -> AccountantDigest:
        member = self.rt.rules.staff.get(login)
        if self.unit is not None and member is not None and member.unit != self.unit:
            return self._other
        if login not in self.by_login:
            member = self.rt.rules.staff.get(login)
            self.by_login[login] = AccountantDigest(login, member.name if member else login)
        return self.by_login[login]

    def ordered(self) -> list[AccountantDigest]:
        order = {login: i for i, login in enumerate(self.rt.rules.staff)}
        found = [a for a in self.by_login.values() if not a.empty]
        return sorted(found, key=lambda a: (order.get(a.login, len(order)), a.login))


def collect_digest(rt: Runtime, now: datetime, unit: str | None = None) -> Digest:
    """Everything the head of ``unit`` (None: of the whole service) should see this morning."""
    now = as_utc(now)
    today = now.astimezone(rt.config.service.tz).date()
    book = _Book(rt, unit)
    unsorted: list[DigestItem] = []
    held_unassigned: list[HeldItem] = []
    with Session(rt.engine) as session:
        rows = session.execute(select(Request).where(col(Request.state).in_(OPEN_STATES))
                               .order_by(col(Request.due_at), col(Request.id))).scalars().all()
        for r in rows:
            _place(rt, book, unsorted, _item(rt, r), r.assignee, now, today)
        for held, login in _held(session):
            (book.of(login).held if login else held_unassigned).append(held)
    return Digest(today, now, book.ordered(), unsorted, held_unassigned)


def _place(rt: Runtime, book: _Book, unsorted: list[DigestItem], item: DigestItem,
           login: str | None, now: datetime, today: date) -> None:
    if not login:
        unsorted.append(item)
        return
    if item.state == "waiting":
        book.of(login).waiting.append(item)
        return
    if item.state not in OWED_STATES or item.due_at is None:
        return
    if item.due_at < now:
        book.of(login).overdue.append(item)
    elif item.due_at.astimezone(rt.config.service.tz).date() == today:
        book.of(login).due_today.append(item)
