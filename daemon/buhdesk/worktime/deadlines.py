"""Deadlines of requests: rules per process and need from ``rules/deadlines.toml``, counted on the
production calendar.

How a deadline is counted:

* A request received on a working day before the end of that working day counts from that day;
  one received after the end of the working day or on a day off counts from the next working day
  (the *registration day*).
* ``unit = "working"``: the deadline is the end of the N-th working day after the registration
  day. ``unit = "calendar"``: the registration day plus N calendar days; a deadline on a
  non-working day moves to the previous working day (or the next one, ``on_day_off = "next"``).
* The deadline falls at the end of that working day (``[schedule]``), in the service's timezone.
* An external deadline (from the «ДелоПро» card) wins when it is earlier.
* The most specific rule wins: ``process/need``, then ``process/*``, then ``*/need``, then ``*/*``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from buhdesk.rules.locatedtoml import LocatedToml, read_located_toml
from buhdesk.worktime.calendar import WorkCalendar
from buhdesk.worktime.hours import WorkingHours, WorkingTime

log = logging.getLogger(__name__)

DEADLINES_FILE = "deadlines.toml"
PROCESSES = (
    "payroll",
    "travel",
    "timesheet",
    "reporting",
    "facts",
    "info_on_demand",
    "external_reporting",
)
NEEDS = (
    "information",
    "consultation",
    "forms",
    "submission",
    "status",
    "result",
    "inspection",
    "feedback",
    "other",
)
ANY = "*"
UNITS = ("working", "calendar")
ON_DAY_OFF = ("previous", "next")
EXTERNAL_RULE = "external"
MAX_AMOUNT = 366
_TOP_KEYS = frozenset({"schedule", "rules"})
_SCHEDULE_KEYS = frozenset(
    {
        "timezone",
        "start",
        "end",
        "friday_end",
        "pre_holiday_shortening_minutes",
        "pauses_while_waiting",
    }
)
_RULE_KEYS = frozenset({"amount", "unit", "on_day_off"})


@dataclass(frozen=True)
class DeadlineRule:
    """One row of ``rules/deadlines.toml``: N working or calendar days for a process and need."""

    name: str
    process: str
    need: str
    amount: int
    unit: str  # "working" | "calendar"
    on_day_off: str = "previous"  # calendar days only: where a deadline on a day off moves

    def describe(self) -> str:
        """«5 рабочих дней по правилу travel/submission»."""
        return f"{days_phrase(self.amount, self.unit)} по правилу {self.name}"


@dataclass(frozen=True)
class Due:
    """A computed deadline: an aware moment, the rule that made it and why, in Russian."""

    at: datetime
    rule: str
    explanation: str


def days_phrase(amount: int, unit: str) -> str:
    """«1 рабочий день», «3 рабочих дня», «5 календарных дней»."""
    adjective = {"working": ("рабочий", "рабочих"), "calendar": ("календарный", "календарных")}
    one, many = adjective[unit]
    if amount % 10 == 1 and amount % 100 != 11:
        return f"{amount} {one} день"
    if 2 <= amount % 10 <= 4 and not 12 <= amount % 100 <= 14:
        return f"{amount} {many} дня"
    return f"{amount} {many} дней"


class DeadlinePolicy:
    """Deadline rules and the working schedule, applied on a :class:`WorkCalendar`."""

    def __init__(
        self,
        rules: dict[tuple[str, str], DeadlineRule],
        hours: WorkingHours,
        calendar: WorkCalendar,
        *,
        pauses_while_waiting: bool = True,
    ) -> None:
        if (ANY, ANY) not in rules:
            raise ValueError("a default rule '*/*' is required")
        self.rules, self.calendar = dict(rules), calendar
        self.time = WorkingTime(calendar, hours)
        self.pauses_while_waiting = pauses_while_waiting

    @classmethod
    def load(cls, rules_dir: Path, calendar: WorkCalendar) -> DeadlinePolicy:
        """Read and validate ``rules_dir/deadlines.toml``; problems raise ``RuleFileError``."""
        rule_file = read_located_toml(rules_dir / DEADLINES_FILE)
        _check_keys(rule_file, "", rule_file.data, _TOP_KEYS)
        hours, pauses = _parse_schedule(rule_file)
        return cls(_parse_rules(rule_file), hours, calendar, pauses_while_waiting=pauses)

    def rule_for(self, process: str | None, need: str | None) -> DeadlineRule:
        """The most specific rule: process/need, process/*, */need, */*."""
        if process is not None and process not in PROCESSES:
            log.warning("unknown process code %r: only '*' rules apply", process)
        if need is not None and need not in NEEDS:
            log.warning("unknown need code %r: only '*' rules apply", need)
        for p, n in ((process, need), (process, ANY), (ANY, need), (ANY, ANY)):
            if p is not None and n is not None and (p, n) in self.rules:
                return self.rules[(p, n)]
        raise AssertionError("unreachable: '*/*' is checked at construction")

    def due(
        self,
        *,
        process: str | None,
        need: str | None,
        received_at: datetime,
        external_deadline: date | datetime | None = None,
    ) -> Due:
        """The deadline of a request; an external deadline wins when it is earlier."""
        if received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
        rule = self.rule_for(process, need)
        start, moved = self.time.registration_day(received_at)
        day, note = self._due_day(rule, start)
        notes = [rule.describe()]
        if moved:
            notes.append(f"отсчёт с {start:%d.%m.%Y}: запрос поступил в нерабочее время")
        if note:
            notes.append(note)
        own = Due(self.time.end_of(day), rule.name, "; ".join(notes))
        return self._earlier_external(own, external_deadline)

    def _due_day(self, rule: DeadlineRule, start: date) -> tuple[date, str]:
        if rule.unit == "working":
            return self.calendar.add_working_days(start, rule.amount), ""
        day = start + timedelta(days=rule.amount)
        if self.calendar.is_working_day(day):
            return day, ""
        if rule.on_day_off == "next":
            moved = self.calendar.next_working_day(day)
            return moved, f"{day:%d.%m.%Y} нерабочий день, срок перенесён на следующий рабочий день"
        moved = self.calendar.previous_working_day(day)
        return moved, f"{day:%d.%m.%Y} нерабочий день, срок перенесён на предыдущий рабочий день"

    def _earlier_external(self, own: Due, external: date | datetime | None) -> Due:
        if external is None:
            return own
        at = self._external_moment(external)
        if at >= own.at:
            return own
        text = (
            f"срок из карточки «ДелоПро» {at:%d.%m.%Y %H:%M} раньше расчётного "
            f"({own.at:%d.%m.%Y %H:%M}: {own.explanation})"
        )
        return Due(at, EXTERNAL_RULE, text)

    def _external_moment(self, external: date | datetime) -> datetime:
        """A card's date means the end of that working day (the previous one on a day off)."""
        if isinstance(external, datetime):
            return self.time.local(external)
        day = external
        if not self.calendar.is_working_day(day):
            day = self.calendar.previous_working_day(day)
        return self.time.end_of(day)

    def extend_for_pause(
        self, due_at: datetime, paused_from: datetime, paused_to: datetime
    ) -> datetime:
        """Shift ``due_at`` by the working time in ``[paused_from, paused_to)``.

        Returns ``due_at`` unchanged when the configuration says the clock does not pause.
        """
        if not self.pauses_while_waiting:
            return due_at
        paused = self.time.between(paused_from, paused_to)
        return self.time.add(due_at, paused) if paused else due_at


def _check_keys(
    rule_file: LocatedToml, where: str, table: dict[str, Any], allowed: frozenset[str]
) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        key = f"{where}.{extra[0]}" if where else extra[0]
        raise rule_file.error(key, "неизвестный ключ; допустимы " + ", ".join(sorted(allowed)))


def _table(rule_file: LocatedToml, key: str) -> dict[str, Any]:
    value = rule_file.data.get(key, {})
    if not isinstance(value, dict):
        raise rule_file.error(key, "должен быть таблицей")
    return value


def _parse_schedule(rule_file: LocatedToml) -> tuple[WorkingHours, bool]:
    table = _table(rule_file, "schedule")
    _check_keys(rule_file, "schedule", table, _SCHEDULE_KEYS)
    tz = _parse_timezone(rule_file, table.get("timezone", "Europe/Moscow"))
    start = _parse_time(rule_file, "schedule.start", table.get("start", "09:00"))
    end = _parse_time(rule_file, "schedule.end", table.get("end", "18:00"))
    friday_end = _parse_time(rule_file, "schedule.friday_end", table.get("friday_end", end))
    minutes = _parse_int(
        rule_file,
        "schedule.pre_holiday_shortening_minutes",
        table.get("pre_holiday_shortening_minutes", 60),
        0,
        240,
    )
    shortening = timedelta(minutes=minutes)
    for key, finish in (("schedule.end", end), ("schedule.friday_end", friday_end)):
        if _minutes(finish) - minutes <= _minutes(start):
            raise rule_file.error(
                key,
                "конец рабочего дня (с учётом сокращения перед праздником) "
                "должен быть позже начала",
            )
    pauses = table.get("pauses_while_waiting", True)
    if not isinstance(pauses, bool):
        raise rule_file.error("schedule.pauses_while_waiting", "должно быть true или false")
    return WorkingHours(tz, start, end, friday_end, shortening), pauses


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _parse_timezone(rule_file: LocatedToml, value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise rule_file.error(
            "schedule.timezone", f"неизвестный часовой пояс {value!r}, например Europe/Moscow"
        ) from e


def _parse_time(rule_file: LocatedToml, key: str, value: Any) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError as e:
        raise rule_file.error(key, f'{value!r} — не время в формате ЧЧ:ММ, например "18:00"') from e


def _parse_int(rule_file: LocatedToml, key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise rule_file.error(key, f"должно быть целым числом от {low} до {high}, а не {value!r}")
    return value


def _parse_rules(rule_file: LocatedToml) -> dict[tuple[str, str], DeadlineRule]:
    table = _table(rule_file, "rules")
    rules = {}
    for name, body in table.items():
        rule = _parse_rule(rule_file, name, body)
        rules[(rule.process, rule.need)] = rule
    if (ANY, ANY) not in rules:
        raise rule_file.error("rules", 'нужно правило по умолчанию [rules."*/*"]')
    return rules


def _parse_rule(rule_file: LocatedToml, name: str, body: Any) -> DeadlineRule:
    key = f"rules.{name}"
    process, need = _parse_rule_name(rule_file, key, name)
    if not isinstance(body, dict):
        raise rule_file.error(key, "должно быть таблицей с ключами amount и unit")
    _check_keys(rule_file, key, body, _RULE_KEYS)
    if "amount" not in body or "unit" not in body:
        raise rule_file.error(key, "нужны оба ключа: amount (число дней) и unit")
    amount = _parse_int(rule_file, f"{key}.amount", body["amount"], 0, MAX_AMOUNT)
    unit = body["unit"]
    if unit not in UNITS:
        raise rule_file.error(f"{key}.unit", f'должно быть "working" или "calendar", а не {unit!r}')
    on_day_off = body.get("on_day_off", "previous")
    if unit != "calendar" and "on_day_off" in body:
        raise rule_file.error(f"{key}.on_day_off", 'имеет смысл только при unit = "calendar"')
    if on_day_off not in ON_DAY_OFF:
        raise rule_file.error(
            f"{key}.on_day_off", f'должно быть "previous" или "next", а не {on_day_off!r}'
        )
    return DeadlineRule(name, process, need, amount, unit, on_day_off)


def _parse_rule_name(rule_file: LocatedToml, key: str, name: str) -> tuple[str, str]:
    process, slash, need = name.partition("/")
    if not slash:
        raise rule_file.error(key, 'имя правила должно иметь вид "процесс/потребность"')
    if process not in (*PROCESSES, ANY):
        raise rule_file.error(
            key, f"неизвестный процесс {process!r}; допустимы: * " + " ".join(PROCESSES)
        )
    if need not in (*NEEDS, ANY):
        raise rule_file.error(
            key, f"неизвестная потребность {need!r}; допустимы: * " + " ".join(NEEDS)
        )
    return process, need
