"""The store's tables: requests, messages (in and out; the outgoing rows are the outbox), raw bytes,
attachments, the append-only audit trail, staff, absences, counters and leases.

Times are timezone-aware and stored in UTC; the code converts to the service's zone for people.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from buhdesk.store import compress


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Numbered(Protocol):
    @property
    def id(self) -> int | None: ...


def flushed_id(row: _Numbered) -> int:
    """The id of a row the session has written (flushed); a row not written yet has none."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: the session has not flushed it")
    return row.id


class Request(SQLModel, table=True):
    __tablename__ = "requests"
    # open requests per assignee (the balancing counts) from the index alone
    # (and the reports' period of requests by when they came; closed requests by when they
    # closed: the survey's daily invitations, the purge plan)
    __table_args__ = (Index("ix_requests_state_assignee", "state", "assignee"),
                      Index("ix_requests_created_at", "created_at"),
                      Index("ix_requests_state_closed_at", "state", "closed_at"))

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, index=True)
    state: str = Field(default="new", index=True)
    channel: str = "email"
    source: str = ""
    client_email: str | None = Field(default=None, index=True)
    client_name: str = ""
    client_department: str = ""
    subject: str = ""
    process: str | None = None
    need: str | None = None
    assignee: str | None = Field(default=None, index=True)
    due_at: datetime | None = None
    due_rule: str = ""
    external_uid: str | None = Field(default=None, unique=True)
    external_number: str | None = None
    external_date: date | None = None
    parent_id: int | None = Field(default=None, foreign_key="requests.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None
    closed_at: datetime | None = None
    # People the client copied (To/Cc besides the service), comma-separated: they get the answer
    # as the copy policy allows, and their replies join the request.
    participants: str = ""
    # Set when this request was merged into another (state "merged"): letters joined that one.
    merged_into: int | None = Field(default=None, foreign_key="requests.id", index=True)


# Every letter is one or the other: a query on a status names both, so that it reads the rows of
# that status through ``ix_messages_direction_status`` instead of every letter.
DIRECTIONS = ("in", "out")


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source", "source_key", name="uq_messages_source_key"),
        Index("ix_messages_direction_status", "direction", "status"),
        Index("ix_messages_to_kind_created", "to_addrs", "kind", "created_at"),
        # a request's letters by direction and kind, without reading the rows (their bodies):
        # the reports' first answers, the purge plan's counts
        Index("ix_messages_request_direction_kind", "request_id", "direction", "kind",
              "created_at"),
        # the day's letters of a kind, per address (the daily cap on acknowledgments): a range
        # of today's rows, whatever the store holds
        Index("ix_messages_direction_kind_created", "direction", "kind", "created_at",
              "to_addrs"),
    )

    id: int | None = Field(default=None, primary_key=True)
    direction: str  # "in" | "out"
    # in: request, followup, answer, automated; out: ack, notice, answer, return, ...
    kind: str = ""
    status: str = ""  # in: received, routed, ignored, held; out: pending, sent, held, cancelled
    source: str | None = None
    source_key: str | None = None
    # by request: ix_messages_request_direction_kind (a request's letters, by direction and kind)
    request_id: int | None = Field(default=None, foreign_key="requests.id")
    message_id: str | None = Field(default=None, index=True)
    from_addr: str | None = None
    to_addrs: str = ""
    subject: str = ""
    body_text: str | None = Field(default=None, sa_column=Column(Text))
    automated: str | None = None
    raw_sha256: str = Field(default="", index=True)
    size: int = 0
    attempts: int = 0
    next_attempt_at: datetime | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    done_at: datetime | None = None


class Undeliverable(SQLModel, table=True):
    """An address our letters bounced from (a delivery status notification joined to the letter
    it reports), shown in ``buhdesk list`` until a letter reaches it again."""

    __tablename__ = "undeliverable"

    address: str = Field(primary_key=True)
    reason: str = Field(default="", sa_column=Column(Text))
    request_id: int | None = Field(default=None, foreign_key="requests.id")
    first_at: datetime = Field(default_factory=utcnow)
    last_at: datetime = Field(default_factory=utcnow)
    bounces: int = 1


class Raw(SQLModel, table=True):
    """The bytes exactly as received or as sent; kept apart so listings never load them, and
    compressed where it pays (:mod:`buhdesk.store.compress`): ``data`` is kept as ``codec``
    says. Write by :meth:`of` or :meth:`keep`, read by :meth:`letter`."""

    __tablename__ = "raws"

    message_pk: int = Field(foreign_key="messages.id", primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    codec: int = Field(default=compress.NONE, sa_column=Column(
        Integer, nullable=False, server_default=str(compress.NONE)))

    @classmethod
    def of(cls, message_pk: int, letter: bytes | bytearray) -> Raw:
        codec, data = compress.encode(letter)
        return cls(message_pk=message_pk, data=data, codec=codec)

    def letter(self) -> bytes | bytearray:
        """The letter byte for byte, as it was received or sent."""
        return compress.decode(self.codec, self.data)

    def keep(self, letter: bytes | bytearray) -> None:
        """Replace the stored letter by ``letter``."""
        self.codec, self.data = compress.encode(letter)


class RawCut(SQLModel, table=True):
    """A base64 run cut out of a stored letter (``raws.codec`` with :data:`compress.SPLICED`):
    where it was, the attachment file it encodes and how it was written (:mod:`store.splice`).
    The file stays while a cut names it (the retention purge, backups)."""

    __tablename__ = "raw_cuts"

    message_pk: int = Field(foreign_key="messages.id", primary_key=True)
    seq: int = Field(primary_key=True)
    offset: int = Field(sa_column=Column(BigInteger, nullable=False))
    length: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(index=True)
    line: int
    crlf: bool
    final_eol: bool


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"

    id: int | None = Field(default=None, primary_key=True)
    message_pk: int = Field(foreign_key="messages.id", index=True)
    filename: str
    content_type: str = "application/octet-stream"
    size: int = 0
    sha256: str = Field(index=True)
    purged: bool = False


class Event(SQLModel, table=True):
    """Append-only audit trail: who or what did what, at which stage, and why."""

    __tablename__ = "events"
    # Every query on the trail without a request or letter names a stage and an action (the
    # words accountants added to the text check's dictionary, read back on every answer), the
    # reports also a period; the trail grows without end, by several rows a letter
    __table_args__ = (Index("ix_events_stage_action_at", "stage", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    request_id: int | None = Field(default=None, foreign_key="requests.id", index=True)
    message_pk: int | None = Field(default=None, foreign_key="messages.id", index=True)
    stage: str
    action: str
    actor: str = "buhdesk"
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class Staff(SQLModel, table=True):
    """A mirror of the staff file in rules/, refreshed when the rules load."""

    __tablename__ = "staff"

    login: str = Field(primary_key=True)
    name: str
    position: str = ""
    phone: str = ""
    email: str = Field(index=True)
    role: str = "accountant"
    active: bool = True


class Absence(SQLModel, table=True):
    __tablename__ = "absences"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(index=True)
    start: date
    end: date
    reason: str = ""
    origin: str = ""


class Counter(SQLModel, table=True):
    """Sequences for request numbers, one row per prefix and year."""

    __tablename__ = "counters"

    name: str = Field(primary_key=True)
    value: int = 0


class RateCount(SQLModel, table=True):
    """How many times something happened in one clock hour (letters from one sender, notices
    caused by them): one small row per key and hour, read and bumped by its primary key."""

    __tablename__ = "rate_counts"

    key: str = Field(primary_key=True)
    hour: datetime = Field(primary_key=True, index=True)
    count: int = 0


class Lease(SQLModel, table=True):
    """Who fetches from a source now; a lease expires when its holder stops renewing it."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime
