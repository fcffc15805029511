"""The scheduler's own table: one row per job run and period, so a restart neither repeats a letter
nor skips one. The row is inserted in the same transaction as the letters the run queues.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from buhdesk.store.models import utcnow


class ScheduledRun(SQLModel, table=True):
    """A claimed run: ``job`` (e.g. "digest") and ``period`` (e.g. "2026-11-27:buhanceva")."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_scheduled_runs_job_period"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(index=True)
    period: str
    ran_at: datetime = Field(default_factory=utcnow)
    letters: int = 0
