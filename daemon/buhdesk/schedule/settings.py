"""The scheduler's settings from the ``[schedule]`` table of the configuration, validated once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
    "понедельник": 0, "вторник": 1, "среда": 2, "четверг": 3, "пятница": 4,
    "суббота": 5, "воскресенье": 6,
}  # fmt: skip
_KEYS = ("digest_time", "reminder_time", "weekly_day")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleSettingsError(ValueError):
    """A ``[schedule]`` value is wrong; the Russian message names the key."""


@dataclass(frozen=True)
class ScheduleSettings:
    digest_time: time = time(8, 30)  # daily digest to the unit heads, working days only
    reminder_time: time = time(9, 0)  # reminders on the working day before a deadline
    weekly_day: int = 0  # weekday of the weekly summary, Monday = 0


def _time(key: str, value: object, default: time) -> time:
    if value is None:
        return default
    m = _TIME.match(value) if isinstance(value, str) else None
    if m is None:
        raise ScheduleSettingsError(
            f"[schedule] {key}: нужно время в виде ЧЧ:ММ, например \"08:30\", а указано {value!r}")
    return time(int(m[1]), int(m[2]))


def _weekday(value: object) -> int:
    if value is None:
        return ScheduleSettings.weekly_day
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 7:
        return value - 1
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS[value.strip().lower()]
    raise ScheduleSettingsError(
        f"[schedule] weekly_day: нужен день недели (1–7, где 1 — понедельник, или название, "
        f"например \"monday\" или \"понедельник\"), а указано {value!r}")


def load_schedule_settings(extra: Mapping[str, object]) -> ScheduleSettings:
    """Read ``extra["schedule"]``; unknown keys and malformed values raise ScheduleSettingsError."""
    raw = extra.get("schedule", {})
    if not isinstance(raw, Mapping):
        raise ScheduleSettingsError("[schedule] должен быть таблицей TOML")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise ScheduleSettingsError(
            f"[schedule]: неизвестные ключи: {', '.join(unknown)}; допустимы: {', '.join(_KEYS)}")
    return ScheduleSettings(
        digest_time=_time("digest_time", raw.get("digest_time"), ScheduleSettings.digest_time),
        reminder_time=_time("reminder_time", raw.get("reminder_time"),
                            ScheduleSettings.reminder_time),
        weekly_day=_weekday(raw.get("weekly_day")),
    )
