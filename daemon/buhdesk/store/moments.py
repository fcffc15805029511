"""Moments read back from the store: SQLite returns naive datetimes that were written in UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, type_coerce


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


def bulk_moment(dialect: str, column: Any) -> tuple[ColumnElement[Any],
                                                  Callable[[Any], datetime | None]]:
    """A moment column for reading many rows, and how to turn a value of it into an aware UTC
    moment (or None). SQLite keeps moments as ISO text: reading the text and parsing it with
    ``datetime.fromisoformat`` is several times cheaper per row than the column type's own
    conversion; other databases hand over moments already parsed."""
    if dialect == "sqlite":
        return type_coerce(column, String), _from_text
    return column, _from_moment


def _from_text(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:  # naive, as the store writes it: read as UTC (cheaper than a .replace afterwards)
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:  # it carries its own offset (or is not a full moment)
        return as_utc(datetime.fromisoformat(value))


def _from_moment(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)
