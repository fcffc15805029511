"""Working hours on top of the production calendar: when a day ends, and measuring working time.

A working day runs from ``start`` to ``end`` in the service's timezone; Friday may end earlier
(``friday_end``) and a pre-holiday day is shorter by ``shortening`` (art. 95 of the Labour Code).
A working Saturday or Sunday keeps the ordinary ``end``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from buhdesk.worktime.calendar import WorkCalendar

FRIDAY = 4
_SEARCH_LIMIT_DAYS = 3700  # ten years: a pause longer than that is a data error


@dataclass(frozen=True)
class WorkingHours:
    """The service's working day, as configured in ``rules/deadlines.toml`` ``[schedule]``."""

    tz: ZoneInfo
    start: time = time(9, 0)
    end: time = time(18, 0)
    friday_end: time = time(16, 45)
    shortening: timedelta = timedelta(hours=1)


class WorkingTime:
    """Working intervals of the calendar's working days, in the service's timezone."""

    def __init__(self, calendar: WorkCalendar, hours: WorkingHours) -> None:
        self.calendar, self.hours = calendar, hours

    def interval(self, d: date) -> tuple[datetime, datetime] | None:
        """The working interval of day ``d``, or None on a day off."""
        if not self.calendar.is_working_day(d):
            return None
        begin = datetime.combine(d, self.hours.start, tzinfo=self.hours.tz)
        return begin, self.end_of(d)

    def end_of(self, d: date) -> datetime:
        """When working day ``d`` ends: Friday's end on Fridays, an hour less before a holiday."""
        end = self.hours.friday_end if d.weekday() == FRIDAY else self.hours.end
        moment = datetime.combine(d, end, tzinfo=self.hours.tz)
        if self.calendar.is_shortened_day(d):
            moment -= self.hours.shortening
        return moment

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the service's timezone; a naive moment is taken as already local."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.hours.tz)
        return moment.astimezone(self.hours.tz)

    def registration_day(self, received_at: datetime) -> tuple[date, bool]:
        """The working day a request counts from, and whether it was moved.

        A request received on a working day before that day's end counts from that day; one
        received after the end of the working day or on a day off counts from the next working
        day, as if it had been received then.
        """
        moment = self.local(received_at)
        day = moment.date()
        if self.calendar.is_working_day(day) and moment < self.end_of(day):
            return day, False
        return self.calendar.next_working_day(day), True

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time within ``[a, b)``; zero when ``b`` is not after ``a``."""
        a, b = self.local(a), self.local(b)
        total = timedelta(0)
        day = a.date()
        while day <= b.date():
            span = self.interval(day)
            if span:
                total += max(timedelta(0), min(b, span[1]) - max(a, span[0]))
            day += timedelta(days=1)
        return total

    def add(self, moment: datetime, amount: timedelta) -> datetime:
        """The moment ``amount`` of working time after ``moment``."""
        current = self.local(moment)
        remaining = amount
        day = current.date()
        for _ in range(_SEARCH_LIMIT_DAYS):
            if remaining <= timedelta(0):
                return current
            span = self.interval(day)
            if span and current < span[1]:
                current = max(current, span[0])
                available = span[1] - current
                if remaining <= available:
                    return current + remaining
                remaining -= available
            day += timedelta(days=1)
            current = datetime.combine(day, time(0), tzinfo=self.hours.tz)
        raise ValueError(f"cannot add {amount} of working time to {moment}")
