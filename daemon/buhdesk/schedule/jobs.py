"""Stage 5, schedule: reminders to accountants, each accountant's morning list of their
requests, the unit head's daily digest and weekly summary.

Every run is recorded in ``scheduled_runs`` together with the letters it queued (see
:mod:`buhdesk.schedule.claims`), so a restart neither sends anything twice nor skips a day: a run
missed while the daemon was down is made as soon as it is back (reminders, today's digest, this
week's summary). Digests go on working days only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial

from sqlmodel import Session

from buhdesk.agent.mylist import morning_lists
from buhdesk.reply.mailparts import enqueue_alternative, render_html
from buhdesk.rules.ruleset import StaffMember
from buhdesk.schedule.claims import claimed_periods, run_once
from buhdesk.schedule.digest import Digest, collect_digest
from buhdesk.schedule.reminders import send_reminders
from buhdesk.schedule.settings import ScheduleSettings, load_schedule_settings
from buhdesk.schedule.weekly import collect_weekly, previous_week, started_on, week_key
from buhdesk.service.runtime import Runtime
from buhdesk.store.moments import as_utc

log = logging.getLogger(__name__)
DIGEST, WEEKLY = "digest", "weekly"
MY_LIST = "my-list"  # buhdesk.agent.mylist.JOB


def heads(rt: Runtime) -> list[StaffMember]:
    return [m for m in rt.rules.staff.values() if m.role == "head"]


def unit_of(rt: Runtime, head: StaffMember) -> str | None:
    """What a head's digest and summary cover: the head's unit when staff.toml names more than
    one, else (None) the whole service, as before units existed."""
    return head.unit if len({m.unit for m in rt.rules.staff.values()}) > 1 else None


class Scheduler:
    """The schedule stage; ``poll`` is cheap enough for every turn of the worker loop."""

    def __init__(self, rt: Runtime, *, every: timedelta = timedelta(seconds=60)) -> None:
        self.rt, self.every = rt, every
        self.settings: ScheduleSettings = load_schedule_settings(rt.config.extra)
        self._next_check: datetime | None = None
        # The jobs, in order; each returns the number of letters it queued.
        self.JOBS: tuple[tuple[str, Callable[[datetime], int]], ...] = (
            ("reminders", lambda now: send_reminders(rt, self.settings)),
            (MY_LIST, lambda now: morning_lists(rt, now)),
            (DIGEST, self.digest),
            (WEEKLY, self.weekly),
        )

    def poll(self) -> int:
        """Run the due jobs at most once per ``every``."""
        now = as_utc(self.rt.now())
        if self._next_check is not None and now < self._next_check:
            return 0
        self._next_check = now + self.every
        return self.run()

    def run(self) -> int:
        """Run every due job now; a failing job is logged and the others still run."""
        now = as_utc(self.rt.now())
        queued = 0
        for name, job in self.JOBS:
            try:
                queued += job(now)
            except Exception:
                log.exception("schedule: job %s failed; will retry", name)
        return queued

    def _local(self, now: datetime) -> datetime:
        return now.astimezone(self.rt.config.service.tz)

    def _digest_day(self, now: datetime) -> date | None:
        """Today, if it is a working day and digest time has come."""
        local = self._local(now)
        if not self.rt.rules.calendar.is_working_day(local.date()):
            return None
        return local.date() if local.time() >= self.settings.digest_time else None

    def _pending(self, job: str, suffix: str) -> list[tuple[StaffMember, str]]:
        wanted = {f"{suffix}:{m.login}": m for m in heads(self.rt)}
        done = claimed_periods(self.rt.engine, job, wanted)
        return [(m, p) for p, m in wanted.items() if p not in done]

    def digest(self, now: datetime) -> int:
        day = self._digest_day(now)
        pending = self._pending(DIGEST, day.isoformat()) if day else []
        if not pending:
            return 0
        digests: dict[str | None, Digest] = {}
        for head, _period in pending:
            unit = unit_of(self.rt, head)
            if unit not in digests:
                digests[unit] = collect_digest(self.rt, now, unit)
        return sum(run_once(self.rt.engine, DIGEST, period, now,
                            partial(self._send_digest, head=head,
                                    digest=digests[unit_of(self.rt, head)]))
                   for head, period in pending)

    def weekly(self, now: datetime) -> int:
        day = self._digest_day(now)
        if day is None or day.weekday() < self.settings.weekly_day:
            return 0
        monday, sunday = previous_week(day)
        pending = self._pending(WEEKLY, week_key(monday))
        if not pending:
            return 0
        started = started_on(self.rt.engine, self.rt.config.service.tz)
        if started is None or sunday < started:
            return 0  # that week was before the service started: nothing to report on
        summaries = {unit: collect_weekly(self.rt, now, unit)
                     for unit in {unit_of(self.rt, h) for h, _ in pending}}
        return sum(run_once(self.rt.engine, WEEKLY, period, now,
                            partial(self._send, head=head, name="weekly",
                                    summary=summaries[unit_of(self.rt, head)]))
                   for head, period in pending)

    def _send_digest(self, session: Session, head: StaffMember, digest: Digest) -> int:
        return self._send(session, head, "digest", digest=digest)

    def _send(self, session: Session, head: StaffMember, name: str, **variables: object) -> int:
        values = {"service": {"name": self.rt.config.service.name}, "head": head,
                  "unit": unit_of(self.rt, head), **variables}
        text = self.rt.templates.render(name, **values)
        html = render_html(self.rt, f"{name}.html.j2", **values)
        enqueue_alternative(session, self.rt, to=[head.email], subject=text.subject,
                            text=text.body, html=html)
        return 1


def run_due_jobs(rt: Runtime) -> int:
    """Run every due job now (reminders, digest, weekly summary); returns letters queued."""
    return Scheduler(rt).run()
