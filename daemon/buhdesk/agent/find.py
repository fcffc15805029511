"""Finding requests: by client (address or name), words (every word in any of its forms, as the
knowledge base matches them), number, process, need, state and the dates received; newest first,
limited to what the person asking may see.

The database narrows by everything but the words; the words are then matched over the subject
and the incoming letters' own text, a few hundred requests at a time, until enough are found.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlmodel import Session, col

from buhdesk.agent.story import STATE_NAMES
from buhdesk.kb.search import STOP_WORDS
from buhdesk.route.quoting import split_signature, strip_quoted
from buhdesk.rules.lemmas import Lemmatizer
from buhdesk.store.models import Message, Request

CHUNK = 200
DEFAULT_LIMIT = 20


class FindError(Exception):
    """A query cannot be run; the message is Russian."""


@dataclass(frozen=True)
class Query:
    words: str = ""
    client: str = ""
    number: str = ""
    process: str | None = None
    need: str | None = None
    states: Sequence[str] = ()
    since: date | None = None  # received on or after this day (the service's time zone)
    until: date | None = None  # received on or before this day
    limit: int = DEFAULT_LIMIT

    @property
    def empty(self) -> bool:
        return not (self.words.strip() or self.client.strip() or self.number.strip()
                    or self.process or self.need or self.states or self.since or self.until)


@dataclass(frozen=True)
class Found:
    request: Request
    words: tuple[str, ...] = field(default=())  # the query's words, as written, that matched

    def to_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        r = self.request
        created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)
        due = (r.due_at if r.due_at.tzinfo else r.due_at.replace(tzinfo=UTC)) if r.due_at \
            else None
        return {"number": r.number, "state": r.state, "subject": r.subject,
                "client_email": r.client_email, "client_name": r.client_name,
                "process": r.process, "need": r.need, "assignee": r.assignee,
                "created_at": created.astimezone(tz).isoformat(),
                "due_at": due.astimezone(tz).isoformat() if due else None}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _conditions(query: Query, tz: ZoneInfo) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.client.strip():
        pattern = _like(query.client.strip())
        found.append(or_(func.lower(col(Request.client_email)).like(pattern, escape="\\"),
                         func.lower(col(Request.client_name)).like(pattern, escape="\\")))
    if query.number.strip():
        found.append(func.upper(col(Request.number)).like(
            _like(query.number.strip()).upper(), escape="\\"))
    if query.process:
        found.append(col(Request.process) == query.process)
    if query.need:
        found.append(col(Request.need) == query.need)
    if query.states:
        found.append(col(Request.state).in_(list(query.states)))
    if query.since:
        found.append(col(Request.created_at) >= datetime.combine(query.since, time(), tz))
    if query.until:
        found.append(col(Request.created_at) < datetime.combine(
            query.until + timedelta(days=1), time(), tz))
    return found


def query_forms(lemmatizer: Lemmatizer, words: str) -> list[tuple[str, frozenset[str]]]:
    """The query's useful words with their forms (stop words and single letters left out)."""
    out = []
    for token in lemmatizer.tokens(words):
        if len(token.text) > 1 and not (token.forms & STOP_WORDS):
            out.append((token.text, token.forms))
    return out


def _texts(session: Session, requests: Sequence[Request]) -> dict[int, list[str]]:
    ids = [r.id for r in requests if r.id is not None]
    texts: dict[int, list[str]] = {i: [] for i in ids}
    for r in requests:
        if r.id is not None:
            texts[r.id].append(r.subject or "")
    rows = session.execute(select(
        col(Message.request_id), col(Message.subject), col(Message.body_text)).where(
        col(Message.request_id).in_(ids), col(Message.direction) == "in",
        col(Message.kind).in_(("request", "followup", "amendment", "document")))).all()
    for request_id, subject, body in rows:
        own, _signature = split_signature(strip_quoted(body or ""))
        texts[request_id] += [subject or "", own]
    return texts


def _chunks(session: Session, conditions: list[ColumnElement[bool]]) -> Iterator[list[Request]]:
    last: int | None = None
    while True:
        stmt = select(Request).where(*conditions)
        if last is not None:
            stmt = stmt.where(col(Request.id) < last)
        rows = list(session.execute(stmt.order_by(col(Request.id).desc()).limit(CHUNK)).scalars())
        if not rows:
            return
        yield rows
        last = rows[-1].id


def find_requests(session: Session, lemmatizer: Lemmatizer, query: Query, *, tz: ZoneInfo,
                  visible: ColumnElement[bool] | None = None) -> list[Found]:
    """Requests matching ``query`` (newest first, at most ``query.limit``)."""
    if query.empty:
        raise FindError("укажите, что искать: слова, клиента, номер, процесс, потребность, "
                        "состояние или даты")
    if query.since and query.until and query.since > query.until:
        raise FindError(f"начало периода {query.since:%d.%m.%Y} позже его конца "
                        f"{query.until:%d.%m.%Y}")
    conditions = _conditions(query, tz) + ([visible] if visible is not None else [])
    wanted = query_forms(lemmatizer, query.words) if query.words.strip() else []
    if query.words.strip() and not wanted:
        raise FindError(f"в запросе «{query.words.strip()}» нет слов для поиска (только "
                        "служебные слова)")
    found: list[Found] = []
    for chunk in _chunks(session, conditions):
        if not wanted:
            found += [Found(r) for r in chunk]
        else:
            texts = _texts(session, chunk)
            for r in chunk:
                forms: set[str] = set()
                for t in lemmatizer.tokens("\n".join(texts.get(r.id or 0, []))):
                    forms |= t.forms
                if all(f & forms for _w, f in wanted):
                    found.append(Found(r, tuple(w for w, _f in wanted)))
        if len(found) >= query.limit:
            break
    return found[:query.limit]


def found_line(item: Found, tz: ZoneInfo, names: dict[str, str]) -> str:
    """One found request as a Russian line."""
    r = item.request
    created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)
    who = names.get(r.assignee or "", r.assignee or "не назначен")
    client = r.client_name or r.client_email or "—"
    state = STATE_NAMES.get(r.state, r.state)
    return (f"{r.number}  {created.astimezone(tz):%d.%m.%Y}  {client}"
            f"  «{r.subject or 'без темы'}»  исполнитель: {who}; состояние: {state}")
