"""Claiming a scheduled run: the unique ``scheduled_runs`` row and the letters it causes commit in
one transaction, so after a crash either both exist or neither; a second instance gets an
IntegrityError on the row and skips the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from buhdesk.schedule.models import ScheduledRun

log = logging.getLogger(__name__)


def claimed_periods(engine: Engine, job: str, periods: Iterable[str]) -> set[str]:
    """Which of ``periods`` of ``job`` have already run (a cheap pre-check, not the guard)."""
    wanted = list(periods)
    found: set[str] = set()
    with Session(engine) as session:
        for i in range(0, len(wanted), 500):
            rows = session.execute(select(col(ScheduledRun.period)).where(
                col(ScheduledRun.job) == job,
                col(ScheduledRun.period).in_(wanted[i:i + 500]),
            )).scalars()
            found.update(rows)
    return found


def run_once(engine: Engine, job: str, period: str, now: datetime,
             produce: Callable[[Session], int]) -> int:
    """Run ``produce`` (which queues letters in the given session) once per job and period.

    Returns the number of letters queued, 0 when the period has already been claimed.
    """
    with Session(engine) as session:
        exists = session.execute(select(col(ScheduledRun.id)).where(
            col(ScheduledRun.job) == job, col(ScheduledRun.period) == period)).first()
        if exists is not None:
            return 0
        run = ScheduledRun(job=job, period=period, ran_at=now)
        session.add(run)
        try:
            session.flush()  # PostgreSQL waits here for a concurrent claim, then fails
        except IntegrityError:
            session.rollback()
            log.info("schedule: %s %s already run by another instance", job, period)
            return 0
        run.letters = produce(session)  # an exception leaves neither the claim nor the letters
        session.commit()
        log.info("schedule: %s %s queued %d letter(s)", job, period, run.letters)
        return run.letters
