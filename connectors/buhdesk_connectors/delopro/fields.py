"""Typed values read from cards: dates, sizes, flags, mandatory fields; errors name the field."""

from __future__ import annotations

import re
from datetime import date

from .errors import PackageError

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])")
_RU = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def parse_date(raw: str, *, file: str, what: str) -> date | None:
    """Parse ``ГГГГ-ММ-ДД`` (a date-time is cut to its date) or ``ДД.ММ.ГГГГ``; "" is None."""
    raw = raw.strip()
    if not raw:
        return None
    iso, ru = _ISO.match(raw), _RU.match(raw)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if ru:
            return date(int(ru[3]), int(ru[2]), int(ru[1]))
    except ValueError:
        pass
    raise PackageError(
        "bad_value", f"Файл {file}: {what} «{raw}» не является датой (ожидается ГГГГ-ММ-ДД)", file
    )


def parse_size(raw: str, *, file: str, what: str) -> int:
    """A non-negative byte count."""
    if not raw.strip().isdigit():
        raise PackageError(
            "bad_value", f"Файл {file}: {what} «{raw}» не является размером в байтах", file
        )
    return int(raw)


def parse_sha256(raw: str, *, file: str, what: str) -> str | None:
    """A lower-case hex SHA-256, or None when not given."""
    if not raw:
        return None
    if not _SHA256.match(raw):
        raise PackageError(
            "bad_value", f"Файл {file}: {what} «{raw}» не является суммой SHA-256", file
        )
    return raw.lower()


def parse_bool(raw: str) -> bool:
    return raw.strip().lower() in ("true", "1", "yes", "да")


def require(value: str, *, file: str, what: str) -> str:
    """Return ``value`` or fail: the field is mandatory."""
    if not value:
        raise PackageError(
            "missing_field", f"Файл {file}: не заполнено обязательное поле {what}", file
        )
    return value
