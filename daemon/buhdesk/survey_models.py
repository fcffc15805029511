"""The survey's tables, built so that an answer can never be joined to a request or a person.

* ``survey_tokens`` holds only the SHA-256 of each link token, with the process, channel and
  quarter it was issued for, and whether it was used: no request, person, address or time.
* ``survey_answers`` holds the answers with the same three labels; its key is random, so even the
  order of answers is not kept.
* ``survey_invited`` says which requests were already invited (and in which quarter), without any
  token material; ``survey_rate`` limits invitations per person by a keyed hash of the address and
  a date bucket (the Monday of the week).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class SurveyToken(SQLModel, table=True):
    __tablename__ = "survey_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    process: str = ""
    channel: str = ""
    quarter: str = Field(index=True)  # "2026-Q4"
    used: bool = False


class SurveyAnswer(SQLModel, table=True):
    __tablename__ = "survey_answers"

    id: str = Field(primary_key=True, max_length=32)  # random, never a sequence
    process: str = Field(default="", index=True)
    channel: str = ""
    quarter: str = Field(index=True)
    answers: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # {question: value}
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))


class SurveyInvited(SQLModel, table=True):
    """A request whose invitation was decided (sent or skipped): it is never invited again."""

    __tablename__ = "survey_invited"

    request_id: int = Field(primary_key=True, foreign_key="requests.id")
    quarter: str


class SurveyRate(SQLModel, table=True):
    """One row per person and week with an invitation; ``person`` is HMAC(secret, address)."""

    __tablename__ = "survey_rate"

    person: str = Field(primary_key=True, max_length=64)
    week: date = Field(primary_key=True)


SURVEY_TABLES = ("survey_tokens", "survey_answers", "survey_invited", "survey_rate")
