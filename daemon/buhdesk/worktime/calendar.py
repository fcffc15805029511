"""The Russian production calendar: which days are working days, and counting them.

The base is the ``holidays`` package's Russian calendar, which carries the government decrees on
transferred days off (a working Saturday such as 2024-12-28, a day off such as 2025-11-03). Decrees
published after the installed package are entered by the administrator in ``rules/calendar.toml``::

    [years.2027]
    transfers_known = true           # the decree on 2027's transfers is published and entered
    days_off = [2027-02-22]          # extra non-working days (TOML dates)
    working_days = [2027-02-20]      # extra working days (a working Saturday)

The override file wins over the package. A year's transfers count as known when the package has
the decree for it or the file says ``transfers_known = true``; from 1 October on,
:meth:`WorkCalendar.warnings` complains loudly while next year's are not known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from buhdesk.rules.locatedtoml import LocatedToml, read_located_toml
from buhdesk.worktime.russia import russian_holidays, russian_static_holidays

CALENDAR_FILE = "calendar.toml"
WARN_FROM_MONTH = 10  # 1 October: the government usually publishes next year's decree by then
# Non-working public holidays of art. 112 of the Labour Code (since 2013), as (month, day).
PUBLIC_HOLIDAYS = (
    *((1, day) for day in range(1, 9)),
    (2, 23),
    (3, 8),
    (5, 1),
    (5, 9),
    (6, 12),
    (11, 4),
)
_YEAR_KEYS = frozenset({"transfers_known", "days_off", "working_days"})
_SEARCH_LIMIT = 400  # no real calendar has a year without working days; stop a runaway search


@dataclass(frozen=True)
class YearOverride:
    """The administrator's corrections for one year."""

    year: int
    transfers_known: bool | None = None
    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()


def package_transfer_years() -> frozenset[int]:
    """Years for which the installed ``holidays`` package carries a decree on transfers."""
    years: set[int] = set()
    for name in ("special_public_holidays", "special_public_holidays_observed"):
        years.update(getattr(russian_static_holidays(), name, {}).keys())
    return frozenset(years)


class WorkCalendar:
    """Working days by the Russian production calendar plus the administrator's overrides."""

    def __init__(
        self,
        overrides: Mapping[int, YearOverride] | None = None,
        *,
        package_years: frozenset[int] | None = None,
    ) -> None:
        self._overrides = dict(overrides or {})
        self._package_years = package_transfer_years() if package_years is None else package_years
        self._days_off = frozenset().union(*(o.days_off for o in self._overrides.values()))
        self._working = frozenset().union(*(o.working_days for o in self._overrides.values()))
        self._ru = russian_holidays()
        self._cache: dict[date, bool] = {}

    @classmethod
    def load(cls, rules_dir: Path) -> WorkCalendar:
        """The calendar with ``rules_dir/calendar.toml`` applied; no file means no overrides."""
        path = rules_dir / CALENDAR_FILE
        if not path.exists():
            return cls()
        return cls(parse_overrides(read_located_toml(path)))

    def is_working_day(self, d: date) -> bool:
        """True unless a weekend, holiday or transferred day off (the override file wins)."""
        d = _as_date(d)
        known = self._cache.get(d)
        if known is None:
            known = self._compute_working(d)
            self._cache[d] = known
        return known

    def _compute_working(self, d: date) -> bool:
        if d in self._working:
            return True
        if d in self._days_off:
            return False
        is_holiday = d in self._ru  # also makes the package fill in that year's working Saturdays
        if d.weekday() >= 5:
            return d in self._ru.weekend_workdays
        return not is_holiday

    def is_public_holiday(self, d: date) -> bool:
        """True for a non-working public holiday of art. 112 of the Labour Code."""
        return (d.month, d.day) in PUBLIC_HOLIDAYS

    def is_shortened_day(self, d: date) -> bool:
        """True for a pre-holiday working day, one hour shorter (art. 95 of the Labour Code).

        The rule as the production calendars apply it: a working day right before a public
        holiday; or the last working day before a run of days off leading to a public holiday when
        the run holds a transferred day off or the day itself is a working Saturday/Sunday. A
        Friday before an ordinary weekend and a Monday holiday is not shortened.
        """
        d = _as_date(d)
        if not self.is_working_day(d):
            return False
        transferred = d.weekday() >= 5
        day = d + timedelta(days=1)
        while not self.is_working_day(day):
            if self.is_public_holiday(day):
                return transferred or day == d + timedelta(days=1)
            transferred = transferred or day.weekday() < 5
            day += timedelta(days=1)
        return False

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self._step(_as_date(d), +1)

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        return self._step(_as_date(d), -1)

    def _step(self, d: date, direction: int) -> date:
        for _ in range(_SEARCH_LIMIT):
            d += timedelta(days=direction)
            if self.is_working_day(d):
                return d
        raise ValueError(f"no working day within {_SEARCH_LIMIT} days of {d}")

    def add_working_days(self, start: date | datetime, n: int) -> date:
        """The ``n``-th working day after the start's date; ``n = 0`` gives the start's date if it
        is a working day, else the next working day. The date is taken as written: convert an
        aware datetime to the service's timezone first."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        d = _as_date(start)
        if n == 0:
            return d if self.is_working_day(d) else self.next_working_day(d)
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``; negative when ``b`` is before ``a``.

        It inverts :meth:`add_working_days`: ``working_days_between(a, add_working_days(a, n))``
        is ``n`` for every ``n >= 1``.
        """
        a, b = _as_date(a), _as_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        days = (b - a).days
        return sum(self.is_working_day(a + timedelta(days=i)) for i in range(1, days + 1))

    def transfers_known(self, year: int) -> bool:
        """Whether the decree on this year's transfers is known to the package or the file."""
        override = self._overrides.get(year)
        return year in self._package_years or bool(override and override.transfers_known)

    def warnings(self, today: date) -> list[str]:
        """Loud Russian warnings about calendar years whose transfers are not entered yet."""
        today = _as_date(today)
        found: list[str] = []
        if not self.transfers_known(today.year):
            found.append(_unknown_year_warning(today.year, current=True))
        if today.month >= WARN_FROM_MONTH and not self.transfers_known(today.year + 1):
            found.append(_unknown_year_warning(today.year + 1, current=False))
        return found


def _unknown_year_warning(year: int, *, current: bool) -> str:
    when = "текущего" if current else "следующего"
    return (
        f"ВНИМАНИЕ: переносы выходных дней на {year} год ({when} года) не известны: "
        f"пакет holidays не содержит постановления Правительства РФ о переносе выходных на "
        f"{year} год, а в rules/{CALENDAR_FILE} для [years.{year}] не указано "
        f"transfers_known = true. Сроки по рабочим дням могут быть рассчитаны неверно. "
        f"Обновите пакет holidays или внесите переносы в rules/{CALENDAR_FILE}."
    )


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def parse_overrides(rule_file: LocatedToml) -> dict[int, YearOverride]:
    """Validate the whole override file; the first problem raises ``RuleFileError``."""
    unknown = set(rule_file.data) - {"years"}
    if unknown:
        key = min(unknown)
        raise rule_file.error(key, "неизвестный раздел; допустим только [years.ГГГГ]")
    years = rule_file.data.get("years", {})
    if not isinstance(years, dict):
        raise rule_file.error("years", "должен быть таблицей вида [years.2027]")
    overrides = {_parse_year(rule_file, key): (key, table) for key, table in years.items()}
    return {
        year: _parse_year_table(rule_file, year, key, t) for year, (key, t) in overrides.items()
    }


def _parse_year(rule_file: LocatedToml, key: str) -> int:
    if not key.isdigit() or not 1991 <= int(key) <= 2100:
        raise rule_file.error(f"years.{key}", "год должен быть числом от 1991 до 2100")
    return int(key)


def _parse_year_table(rule_file: LocatedToml, year: int, key: str, table: Any) -> YearOverride:
    where = f"years.{key}"
    if not isinstance(table, dict):
        raise rule_file.error(where, "должен быть таблицей с ключами " + _keys_list())
    extra = sorted(set(table) - _YEAR_KEYS)
    if extra:
        raise rule_file.error(f"{where}.{extra[0]}", "неизвестный ключ; допустимы " + _keys_list())
    known = table.get("transfers_known")
    if known is not None and not isinstance(known, bool):
        raise rule_file.error(f"{where}.transfers_known", "должно быть true или false")
    days_off = _parse_dates(rule_file, year, f"{where}.days_off", table.get("days_off", []))
    working = _parse_dates(rule_file, year, f"{where}.working_days", table.get("working_days", []))
    both = sorted(days_off & working)
    if both:
        raise rule_file.error(
            f"{where}.working_days",
            f"дата {both[0].isoformat()} указана и в days_off, и в working_days",
        )
    return YearOverride(year, known, days_off, working)


def _keys_list() -> str:
    return ", ".join(sorted(_YEAR_KEYS))


def _parse_dates(rule_file: LocatedToml, year: int, key: str, value: Any) -> frozenset[date]:
    if not isinstance(value, list):
        raise rule_file.error(key, "должен быть списком дат, например [2027-02-22]")
    return frozenset(_parse_date(rule_file, year, key, i, item) for i, item in enumerate(value))


def _parse_date(rule_file: LocatedToml, year: int, key: str, index: int, item: Any) -> date:
    what = f"элемент {index + 1} ({item})"
    if isinstance(item, str):
        try:
            item = date.fromisoformat(item)
        except ValueError as e:
            raise rule_file.error(key, f"{what}: не дата в формате ГГГГ-ММ-ДД") from e
    if isinstance(item, datetime) or not isinstance(item, date):
        raise rule_file.error(key, f"{what}: нужна дата без времени, например 2027-02-22")
    if item.year != year:
        raise rule_file.error(key, f"{what}: дата относится не к {year} году")
    return item
