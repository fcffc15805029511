"""The JSON description of a «ДелоПро» answer package, as an outbox row carries it from
:mod:`buhdesk.reply.answer_packages` (which writes it) to the «ДелоПро» transport (which reads it
and writes the package). Keys are the wire format: renaming one breaks rows already queued."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class PersonData(TypedDict, total=False):
    """The executor or the addressee; empty strings where a value is unknown."""

    fio: str
    post: str
    department: str
    email: str
    phone: str


class ReplyData(TypedDict):
    """The registered document the answer replies to."""

    number: str
    date: str | None  # ISO date of registration
    doc_uid: str
    resolution_id: NotRequired[str | None]


class FileData(TypedDict):
    """A file of the answer, kept in the blob store under its SHA-256."""

    name: str
    content_type: NotRequired[str]
    sha256: str


class AnswerPackageData(TypedDict):
    """One answer package; ``package`` (its folder name) is added when the row is written."""

    package: str
    request: str
    in_reply_to: ReplyData
    result: str  # "executed" or "explained"
    executor: PersonData
    summary: str
    addressee: PersonData
    files: NotRequired[list[FileData]]
    created: str  # ISO moment
