"""Opening a request, the one way: from a letter, a phone call or a visit, a «ДелоПро» document or
a follow-up that came after the reopening period.

Everything a transaction opens requests with lives in one :class:`Batch`, the unit of work: the
numbering, the open requests per accountant and the absences the assignment reads, the automatic
letters already sent to each address today, and the letters and audit events to write. The caller
routes, registers or answers through the batch and calls :meth:`Batch.write` before it commits;
after a rollback it simply drops the batch — nothing else remembers what the batch did.

:func:`open_request` is the only function that creates ``Request`` rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, event, func, insert, select
from sqlmodel import Session, col

from buhdesk.reply.outbox import AcksToday, Letters
from buhdesk.route.absences import absences_from_store
from buhdesk.route.lifecycle import OPEN_STATES, next_state
from buhdesk.route.mime import ParsedMessage
from buhdesk.rules.book import Decision, RuleBook
from buhdesk.rules.classify import Classification
from buhdesk.rules.routing import Absence
from buhdesk.service.runtime import Runtime
from buhdesk.store.append_rows import RowIds, as_loaded, event_values, insert_rows
from buhdesk.store.engine import next_number, table_of
from buhdesk.store.models import Counter, Message, Request
from buhdesk.store.tallies import count_taken


def open_counts(session: Session) -> dict[str, int]:
    """Open requests per accountant, all of them (``explain``; the route reads
    :class:`OpenCounts`)."""
    rows = session.execute(select(col(Request.assignee), func.count()).where(
        col(Request.state).in_(OPEN_STATES), col(Request.assignee).is_not(None),
    ).group_by(col(Request.assignee)))
    return {login: n for login, n in rows}


_REQ = table_of(Request).c
# Built once: making the statement costs several times running it.
_OPEN_OF = select(func.count()).where(_REQ.state.in_(OPEN_STATES),
                                      _REQ.assignee == bindparam("login"))


def open_count(session: Session, login: str) -> int:
    """Open requests of one accountant: their entries of the state-and-assignee index (what the
    session has not flushed is not counted)."""
    return int(session.connection().execute(_OPEN_OF, {"login": login}).scalar_one())


class OpenCounts(MutableMapping[str, int]):
    """Open requests per accountant for one batch: an accountant's count is read when the
    assignment first asks for it (so a batch reads the few candidates it balances between,
    never every open request), then kept current by the batch."""

    def __init__(self, session: Session, known: Mapping[str, int] | None = None, *,
                 before_read: Callable[[], None] = lambda: None) -> None:
        self.session, self.known, self.before_read = session, dict(known or {}), before_read

    def __getitem__(self, login: str) -> int:
        if login not in self.known:
            self.before_read()
            self.known[login] = open_count(self.session, login)
        return self.known[login]

    def __setitem__(self, login: str, n: int) -> None:
        self.known[login] = n

    def __delitem__(self, login: str) -> None:
        del self.known[login]

    def __iter__(self) -> Iterator[str]:
        return iter(self.known)

    def __len__(self) -> int:
        return len(self.known)

    def copy(self, before_read: Callable[[], None]) -> OpenCounts:
        return OpenCounts(self.session, self.known, before_read=before_read)

    def opened(self, login: str) -> None:
        """One more request of ``login``'s: a count not read yet will find it in the store
        (``before_read`` writes the batch's requests first)."""
        if login in self.known:
            self.known[login] += 1


@dataclass(frozen=True)
class Opening:
    """What a new request is made of, whatever the channel, and the decision on it."""

    channel: str
    source: str
    client_email: str | None
    client_name: str
    subject: str
    at: datetime
    decision: Decision
    client_department: str = ""
    parent_id: int | None = None
    participants: str = ""
    external_uid: str | None = None
    external_number: str | None = None
    external_date: date | None = None
    actor: str = "buhdesk"
    registered: Mapping[str, Any] = field(default_factory=dict)  # more for the trail
    first_text: str | None = None  # no stored message: the request's first one is made of this


@dataclass
class Prepared:
    """A letter parsed and classified ahead, outside the numbering lock. Classification needs
    no store and no batch state; assignment (the open counts) is done in turn."""

    parsed: ParsedMessage
    classified: Classification | None = None
    rules: RuleBook | None = None  # the book that classified it (a reload between: again)


class Batch:
    """The unit of work of one transaction that may open requests (see the module's text)."""

    def __init__(self, session: Session, rt: Runtime, ids: RowIds | None = None) -> None:
        self.session, self.rt = session, rt
        self.ids = ids or RowIds(session, Request)  # shared with the batch's parts
        self.rows: list[dict[str, Any]] = []  # the requests opened, not written yet
        self._written = lambda *_: self.write_requests()
        event.listen(session, "before_flush", self._written)
        self.letters = Letters()
        self.acks = AcksToday()
        self._counts: OpenCounts | None = None
        self._absences: list[Absence] | None = None
        self._counters: dict[tuple[str, int], Counter] = {}
        self.opened: list[Request] = []
        # Work done before the first number of the batch is taken (see route/letters.py).
        self.prepared: dict[int, Prepared] = {}

    @property
    def counts(self) -> OpenCounts:
        """Open requests per accountant: each read once, then kept current by the batch."""
        if self._counts is None:
            self._counts = OpenCounts(self.session, before_read=self.write_requests)
        return self._counts

    @property
    def absences(self) -> list[Absence]:
        """Absences from the rules and from the store, read once per batch."""
        if self._absences is None:
            self._absences = [*self.rt.rules.ruleset.absences,
                              *absences_from_store(self.session)]
        return self._absences

    def part(self) -> Batch:
        """A batch for one step inside a savepoint: it starts from this batch's counts and is
        :meth:`adopt`-ed when the step succeeds, or dropped with the savepoint."""
        part = Batch(self.session, self.rt, self.ids)
        part._counts = self.counts.copy(part.write_requests)
        part._absences = self.absences
        part.acks = self.acks.copy()
        part.prepared = self.prepared
        return part

    def adopt(self, part: Batch) -> None:
        """The counts of a step that succeeded (its rows are written: see :meth:`write`)."""
        self._counts, self.acks = part._counts, part.acks
        self._counters.clear()  # the savepoint may have released the counter's lock

    def discard(self) -> None:
        """After the savepoint of this batch rolled back: the requests it opened are gone."""
        self.rows.clear()
        for request in self.opened:
            if request in self.session:
                self.session.expunge(request)
        self.opened.clear()

    def add(self, letters: Letters) -> None:
        """Letters and events composed for this transaction; acknowledgments are counted."""
        self.acks.count(letters)
        self.letters.extend(letters)

    def event(self, values: dict[str, Any]) -> None:
        self.letters.event(values)

    def number(self, year: int) -> str:
        """The next request number. The first of a year reads (and locks) the counter row; the
        row then stays this transaction's, so the next number is its value plus one."""
        prefix = self.rt.config.service.number_prefix
        counter = self._counters.get((prefix, year))
        if counter is None:
            with self.session.no_autoflush:
                number = next_number(self.session, prefix, year)
            held = self.session.get(Counter, f"{prefix}-{year}")  # in the session: no query
            if held is not None:
                self._counters[(prefix, year)] = held
            return number
        counter.value += 1
        return f"{counter.name}-{counter.value:06d}"

    def write(self) -> None:
        """Everything the batch holds, before the caller commits: the requests, the session's
        changes, then the letters, their bytes and the events, in one insert each."""
        self.write_requests()
        self.session.flush()
        self.letters.write(self.session)

    def write_requests(self) -> None:
        """The requests opened and not written yet, in one insert. Any flush of the session
        writes them first (the session's letters refer to them, and a query must find them)."""
        if self.rows:
            rows, self.rows = self.rows, []
            self.session.connection().execute(insert(table_of(Request)), rows)


def open_request(batch: Batch, opening: Opening, message: Message | None = None) -> Request:
    """Number, assign and store a request; its first incoming ``message`` joins it; the
    «registered» and «decided» events go into the batch. The request's id is taken ahead: its
    row joins the batch's other new requests, written in one insert before the session's next
    flush (a request opened without a letter is written at once), and its object joins the
    session as if it had been loaded."""
    decision = opening.decision
    values: dict[str, Any] = dict(
        id=batch.ids.take(),
        number=batch.number(opening.at.astimezone(batch.rt.config.service.tz).year),
        state="new", channel=opening.channel, source=opening.source,
        client_email=opening.client_email, client_name=opening.client_name,
        client_department=opening.client_department, subject=opening.subject[:500],
        process=decision.process, need=decision.need, assignee=decision.assignee,
        due_at=decision.due_at, due_rule=decision.due_rule, external_uid=opening.external_uid,
        external_number=opening.external_number, external_date=opening.external_date,
        parent_id=opening.parent_id, created_at=opening.at, updated_at=opening.at,
        answered_at=None, closed_at=None, participants=opening.participants,
    )
    if decision.assignee:
        values["state"] = next_state("new", "assign")
        batch.counts.opened(decision.assignee)
    batch.rows.append(values)
    request = as_loaded(Request, values)
    batch.session.add(request)
    batch.opened.append(request)
    if message is None:
        batch.write_requests()
    pk = message.id if message else None
    if message is not None:
        message.request_id, message.kind, message.status = request.id, "request", "routed"
    elif opening.first_text is not None:
        [pk] = insert_rows(batch.session, Message, [dict(
            direction="in", kind="request", status="routed", source=opening.source,
            source_key=f"{opening.source}:{request.number}", request_id=request.id,
            message_id=None, from_addr=opening.client_email, to_addrs="",
            subject=opening.subject[:500], body_text=opening.first_text, automated=None,
            raw_sha256="", size=0, attempts=0, next_attempt_at=None, reason=None,
            created_at=opening.at, done_at=None)])
        count_taken(batch.session, {opening.source: 1})
    registered = {"number": request.number, **opening.registered}
    for action, detail in (("registered", registered), ("decided", {"rules": _trail(decision)})):
        batch.event(event_values(request_id=request.id, message_pk=pk, stage="route",
                                 action=action, actor=opening.actor,
                                 detail=json.dumps(detail, ensure_ascii=False, default=str,
                                                   separators=(",", ":"))))
    return request


def _trail(decision: Decision) -> list[dict[str, Any]]:
    """The decision's steps for the audit trail: rule hits, scores, the model's answer and how
    sure it was, the assignment and the deadline with their reasons — without the model's
    feature weights (a dry run, ``buhdesk explain``, shows them), written for every letter."""
    return [{**step, "model": {k: v for k, v in step["model"].items()
                               if not k.endswith("_features")}}
            if isinstance(step.get("model"), dict) else step for step in decision.rules]
