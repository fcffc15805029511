"""The survey's tables, built so that an answer can never be joined to a request or a person.

* ``survey_tokens`` holds only the SHA-256 of each unused link token, the process and the answer
  period (quarter, half-year or year) it was issued for, and the day it stops working (the end of
  a quarter plus the configured days): no request, person, address or finer time. A token's row
  is deleted when it is used; ``survey_spent`` keeps only its hash, so a second submission is
  told «already answered».
* ``survey_pending`` holds answers until their group (process × period) has the configured minimum
  of answers: its group label is sealed (HMAC under the survey-group key), so a reader of the store
  cannot tell which group a waiting answer belongs to.
* ``survey_answers`` receives a whole group's answers at once, in shuffled order, under fresh
  random keys, with the process and the period only: no channel, no time, no sequence.
* ``survey_invited`` says which requests were already considered (sent or skipped), nothing else;
  ``survey_rate`` limits invitations per person by a keyed hash of the address and a date bucket
  (the Monday of the week).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class SurveyToken(SQLModel, table=True):
    __tablename__ = "survey_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    process: str = ""
    period: str = ""  # "2026-H2", "2026-Q4" or "2026": the group the answer will join
    valid_until: date


class SurveySpent(SQLModel, table=True):
    """The hash of a used token, nothing else."""

    __tablename__ = "survey_spent"

    token_hash: str = Field(primary_key=True, max_length=64)


class SurveyPending(SQLModel, table=True):
    """An answer waiting for its group to reach the minimum; ``sealed`` is the keyed group label."""

    __tablename__ = "survey_pending"

    id: str = Field(primary_key=True, max_length=32)  # random
    sealed: str = Field(index=True, max_length=64)
    answers: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))


class SurveyAnswer(SQLModel, table=True):
    __tablename__ = "survey_answers"

    id: str = Field(primary_key=True, max_length=32)  # random, never a sequence
    process: str = Field(default="", index=True)
    period: str = Field(index=True)
    answers: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # {question: value}
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))


class SurveyInvited(SQLModel, table=True):
    """A request whose invitation was decided (sent or skipped): it is never invited again."""

    __tablename__ = "survey_invited"

    request_id: int = Field(primary_key=True, foreign_key="requests.id")


class SurveyRate(SQLModel, table=True):
    """One row per person and week with an invitation; ``person`` is HMAC(secret, address)."""

    __tablename__ = "survey_rate"

    person: str = Field(primary_key=True, max_length=64)
    week: date = Field(primary_key=True)


SURVEY_TABLES = ("survey_tokens", "survey_spent", "survey_pending", "survey_answers",
                 "survey_invited", "survey_rate")
