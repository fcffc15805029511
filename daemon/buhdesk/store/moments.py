"""Moments read back from the store: SQLite returns naive datetimes that were written in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Float, cast, extract, func


def as_utc(moment: datetime) -> datetime:
    """An aware UTC moment; a naive one is taken as UTC (how the store writes them)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start of first, start of the day after last)`` in ``tz``, as UTC moments."""
    start = datetime.combine(first, time(), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz)
    return as_utc(start), as_utc(end)



def epoch_seconds(dialect: str, column: Any) -> ColumnElement[float]:
    """Seconds since 1970 (UTC) of a moment column, computed by the database: reports over many
    rows then read numbers rather than build a datetime object per value."""
    if dialect == "sqlite":  # moments are ISO text in UTC; julianday reads it (and any offset)
        return (func.julianday(column) - 2440587.5) * 86400.0
    return cast(extract("epoch", column), Float)
