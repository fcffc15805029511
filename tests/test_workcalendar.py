"""The production calendar: real 2024–2026 decrees, the override file, validation, warnings.

Expected dates are worked out by hand from the official calendars (Government decrees on
transferred days off for 2024, 2025 and 2026), as the comments show.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from buhdesk.rules.locatedtoml import RuleFileError, read_located_toml
from buhdesk.worktime.calendar import WorkCalendar, parse_overrides

RULES = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def write_calendar(tmp_path: Path, text: str) -> Path:
    (tmp_path / "calendar.toml").write_text(text, encoding="utf-8")
    return tmp_path


# --- The decrees the package must know ---------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 12, 28), True),  # Saturday made working (its day off moved to 30 December)
        (date(2024, 12, 30), False),  # Monday, day off moved from 28 December
        (date(2024, 12, 31), False),  # Tuesday, day off moved from 7 January 2024
        (date(2025, 11, 1), True),  # Saturday made working (its day off moved to 3 November)
        (date(2025, 11, 3), False),  # Monday between a Sunday and Unity Day
        (date(2026, 1, 9), False),  # Friday, day off moved from Saturday 3 January
        (date(2025, 5, 2), False),  # Friday, day off moved from 4 January
        (date(2025, 5, 8), False),  # Thursday, day off moved from 23 February
        (date(2025, 6, 13), False),  # Friday, day off moved from 8 March
        (date(2025, 12, 31), False),  # Wednesday, day off moved from 5 January
        (date(2025, 5, 5), True),  # an ordinary Monday between the May holidays
        (date(2025, 11, 8), False),  # an ordinary Saturday
    ],
)
def test_transfers_of_2024_to_2026(cal: WorkCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027])
@pytest.mark.parametrize("day", range(1, 9))
def test_new_year_holidays_are_days_off(cal: WorkCalendar, year: int, day: int) -> None:
    assert not cal.is_working_day(date(year, 1, day))


@pytest.mark.parametrize(
    ("year", "working_days"),
    # Official totals for a five-day week (production calendars of ConsultantPlus).
    [(2024, 248), (2025, 247), (2026, 247)],
)
def test_year_totals_match_the_official_calendar(
    cal: WorkCalendar, year: int, working_days: int
) -> None:
    assert cal.working_days_between(date(year - 1, 12, 31), date(year, 12, 31)) == working_days


def test_may_2025_has_eighteen_working_days(cal: WorkCalendar) -> None:
    # May 2025: 31 days − 9 weekend days − 1, 2, 8, 9 May = 18.
    assert cal.working_days_between(date(2025, 4, 30), date(2025, 5, 31)) == 18


# --- Counting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # Friday → the working Saturday 28 December 2024.
        (datetime(2024, 12, 27, 15, 0), 1, date(2024, 12, 28)),
        # From 28.12.2024: 29 Sun, 30–31 moved days off, 1–8 January holidays → Thursday 9 January.
        (datetime(2024, 12, 28, 9, 0), 1, date(2025, 1, 9)),
        # From Friday 31.10.2025: Sat 1.11 works (1); 2 Sun, 3 off, 4 holiday; Wed 5.11 (2).
        (datetime(2025, 10, 31, 12, 0), 2, date(2025, 11, 5)),
        # From 30.12.2025: 31.12 off, 1–8 holidays, 9.01 off, 10–11 weekend → Monday 12.01.2026.
        (datetime(2025, 12, 30, 10, 0), 1, date(2026, 1, 12)),
        # From 30.04.2025: 1–4 May off; 5 (1), 6 (2), 7 (3); 8–11 off; 12 (4).
        (datetime(2025, 4, 30, 10, 0), 3, date(2025, 5, 7)),
        (datetime(2025, 4, 30, 10, 0), 4, date(2025, 5, 12)),
        # n = 0: a working day stays, a day off moves to the next working day.
        (date(2025, 5, 7), 0, date(2025, 5, 7)),
        (date(2025, 5, 8), 0, date(2025, 5, 12)),
    ],
)
def test_add_working_days(cal: WorkCalendar, start: datetime, n: int, expected: date) -> None:
    assert cal.add_working_days(start, n) == expected


def test_add_working_days_refuses_negative(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(date(2025, 5, 5), -1)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 12), date(2025, 12, 30)),  # back over 9.01, the holidays and 31.12
        (date(2025, 5, 12), date(2025, 5, 7)),  # back over 8–11 May
        (date(2025, 1, 9), date(2024, 12, 28)),  # back to the working Saturday
        (date(2025, 11, 5), date(2025, 11, 1)),  # back over 4, 3, 2 November
    ],
)
def test_previous_working_day(cal: WorkCalendar, day: date, expected: date) -> None:
    assert cal.previous_working_day(day) == expected


def test_working_days_between_counts_half_open_and_signed(cal: WorkCalendar) -> None:
    # (28.12.2024, 9.01.2025] holds only 9 January.
    assert cal.working_days_between(date(2024, 12, 28), date(2025, 1, 9)) == 1
    assert cal.working_days_between(date(2025, 1, 9), date(2024, 12, 28)) == -1
    assert cal.working_days_between(date(2025, 5, 5), date(2025, 5, 5)) == 0


@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
    n=st.integers(min_value=1, max_value=60),
)
def test_counting_and_adding_agree(start: date, n: int) -> None:
    cal = _shared_calendar()
    due = cal.add_working_days(start, n)
    assert cal.is_working_day(due)
    assert cal.working_days_between(start, due) == n
    assert cal.working_days_between(start, due - timedelta(days=1)) == n - 1


_CALENDARS: list[WorkCalendar] = []


def _shared_calendar() -> WorkCalendar:
    # hypothesis does not accept function-scoped fixtures; build the calendar once per module.
    if not _CALENDARS:
        _CALENDARS.append(WorkCalendar())
    return _CALENDARS[0]


# --- Pre-holiday (shortened) days --------------------------------------------------------------


def test_shortened_days_of_2024(cal: WorkCalendar) -> None:
    # The 2024 production calendar lists seven pre-holiday days one hour shorter.
    official = {
        date(2024, 2, 22),
        date(2024, 3, 7),
        date(2024, 4, 27),
        date(2024, 5, 8),
        date(2024, 6, 11),
        date(2024, 11, 2),
        date(2024, 12, 28),
    }
    year = [date(2024, 1, 1) + timedelta(days=i) for i in range(366)]
    assert {d for d in year if cal.is_shortened_day(d)} == official


@pytest.mark.parametrize(
    ("day", "shortened"),
    [
        (date(2025, 4, 30), True),  # right before 1 May
        (date(2025, 5, 7), True),  # before the moved day off 8 May and Victory Day
        (date(2025, 11, 1), True),  # working Saturday before 3 (off) and 4 November
        (date(2025, 5, 6), False),  # an ordinary Tuesday
        (date(2025, 5, 8), False),  # a day off is not a shortened working day
    ],
)
def test_shortened_days_of_2025(cal: WorkCalendar, day: date, shortened: bool) -> None:
    assert cal.is_shortened_day(day) is shortened


# --- The override file -------------------------------------------------------------------------


def test_shipped_override_file_is_valid() -> None:
    cal = WorkCalendar.load(RULES)
    assert cal.is_working_day(date(2024, 12, 28))


def test_missing_override_file_means_no_overrides(tmp_path: Path) -> None:
    assert not WorkCalendar.load(tmp_path).is_working_day(date(2025, 11, 3))


def test_override_adds_days_off_and_working_days(tmp_path: Path) -> None:
    rules = write_calendar(
        tmp_path,
        """
        [years.2025]
        days_off = [2025-06-10]                  # a Tuesday
        working_days = ["2025-06-14", 2025-11-03]  # a Saturday; a moved day off
        """,
    )
    cal = WorkCalendar.load(rules)
    assert not cal.is_working_day(date(2025, 6, 10))
    assert cal.is_working_day(date(2025, 6, 14))
    assert cal.is_working_day(date(2025, 11, 3))
    # From Monday 9.06: 10 off (override), 11 (1), 12 holiday, 13 moved day off, 14 works (2).
    assert cal.add_working_days(date(2025, 6, 9), 2) == date(2025, 6, 14)


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ("[years.2025]\ndays_off = [2026-01-12]\n", "years.2025.days_off", 2, "не к 2025 году"),
        ('[years.2025]\nworking_days = ["2025-13-01"]\n', "years.2025.working_days", 2, "ГГГГ"),
        ("[years.2025]\nholidays = []\n", "years.2025.holidays", 2, "неизвестный ключ"),
        ('[years.2025]\ntransfers_known = "да"\n', "years.2025.transfers_known", 2, "true"),
        ("[years.2025]\ndays_off = 2025-06-10\n", "years.2025.days_off", 2, "списком"),
        ("[years.25]\n", "years.25", 1, "год"),
        (
            "[years.2025]\ndays_off = [2025-06-10T10:00:00]\n",
            "years.2025.days_off",
            2,
            "без времени",
        ),
        (
            "# c\n[years.2025]\ndays_off = [2025-06-10]\nworking_days = [2025-06-10]\n",
            "years.2025.working_days",
            4,
            "и в days_off, и в working_days",
        ),
        ("[overrides]\n", "overrides", 1, "неизвестный раздел"),
    ],
)
def test_validation_errors_name_file_key_and_line(
    tmp_path: Path, text: str, key: str, line: int, words: str
) -> None:
    with pytest.raises(RuleFileError) as caught:
        WorkCalendar.load(write_calendar(tmp_path, text))
    message = str(caught.value)
    assert f"calendar.toml:{line}: " in message
    assert key in message
    assert words in message


def test_syntax_error_reports_the_line(tmp_path: Path) -> None:
    text = "# поправки\n[years.2025]\ndays_off = [2025-06-10,, 2025-06-11]\n"
    with pytest.raises(RuleFileError) as caught:
        WorkCalendar.load(write_calendar(tmp_path, text))
    assert caught.value.line == 3
    assert f"{tmp_path.name}/calendar.toml:3: ошибка синтаксиса TOML в столбце 24" in str(caught.value)
    assert "значение не распознано" in str(caught.value)  # in Russian, with what to do
    assert "Invalid" not in str(caught.value)


def test_syntax_error_at_end_of_file_is_told_in_russian(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError) as caught:
        WorkCalendar.load(write_calendar(tmp_path, "[years.2025]\ndays_off = [2025-06-10\n"))
    assert "в конце файла" in str(caught.value)


# --- Warnings about next year's transfers ------------------------------------------------------

KNOWN_UP_TO_2026 = frozenset({2024, 2025, 2026})  # as a package released in 2025 would know


def test_no_warning_before_october() -> None:
    cal = WorkCalendar(package_years=KNOWN_UP_TO_2026)
    assert cal.warnings(date(2026, 9, 30)) == []


def test_loud_warning_from_first_of_october() -> None:
    cal = WorkCalendar(package_years=KNOWN_UP_TO_2026)
    [warning] = cal.warnings(date(2026, 10, 1))
    assert warning.startswith("ВНИМАНИЕ")
    assert "2027" in warning and "calendar.toml" in warning


def test_override_marking_next_year_known_silences_the_warning(tmp_path: Path) -> None:
    rules = write_calendar(tmp_path, "[years.2027]\ntransfers_known = true\n")
    overrides = parse_overrides(read_located_toml(rules / "calendar.toml"))
    cal = WorkCalendar(overrides, package_years=KNOWN_UP_TO_2026)
    assert cal.warnings(date(2026, 12, 1)) == []


def test_override_saying_not_known_still_warns(tmp_path: Path) -> None:
    rules = write_calendar(tmp_path, "[years.2027]\ntransfers_known = false\n")
    overrides = parse_overrides(read_located_toml(rules / "calendar.toml"))
    cal = WorkCalendar(overrides, package_years=KNOWN_UP_TO_2026)
    assert len(cal.warnings(date(2026, 10, 15))) == 1


def test_unknown_current_year_warns_all_year() -> None:
    cal = WorkCalendar(package_years=KNOWN_UP_TO_2026)
    [warning] = cal.warnings(date(2027, 3, 1))
    assert "2027" in warning


def test_installed_package_knows_2026() -> None:
    # The 2026 decree (9 January moved from 3 January) is in the installed holidays package.
    assert WorkCalendar().warnings(date(2025, 10, 1)) == []
