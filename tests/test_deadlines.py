"""Deadline arithmetic on the production calendar, rule choice, the override file and validation.

The tests use their own small rules file, so the shipped defaults can change without breaking
them; the shipped file is checked separately. Every expected moment is derived by hand in a
comment (Mon–Thu end 18:00, Fri 16:45, pre-holiday days one hour shorter).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from buhdesk.worktime.deadlines import NEEDS, PROCESSES, DeadlinePolicy, days_phrase
from buhdesk.rules.locatedtoml import RuleFileError
from buhdesk.worktime.calendar import WorkCalendar

MSK = ZoneInfo("Europe/Moscow")
RULES = Path(__file__).resolve().parents[1] / "rules"

TEST_RULES = """
[schedule]
timezone = "Europe/Moscow"
start = "09:00"
end = "18:00"
friday_end = "16:45"
pre_holiday_shortening_minutes = 60
pauses_while_waiting = true

[rules."*/*"]
amount = 5
unit = "working"

[rules."*/information"]
amount = 2
unit = "working"

[rules."travel/submission"]
amount = 5
unit = "working"

[rules."external_reporting/*"]
amount = 5
unit = "calendar"

[rules."facts/*"]
amount = 3
unit = "calendar"
on_day_off = "next"
"""


def msk(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=MSK)


def make_rules(tmp_path: Path, deadlines: str = TEST_RULES, calendar: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "deadlines.toml").write_text(deadlines, encoding="utf-8")
    if calendar:
        (tmp_path / "calendar.toml").write_text(calendar, encoding="utf-8")
    return tmp_path


def load(rules: Path) -> DeadlinePolicy:
    return DeadlinePolicy.load(rules, WorkCalendar.load(rules))


@pytest.fixture
def policy(tmp_path: Path) -> DeadlinePolicy:
    return load(make_rules(tmp_path))


# --- Working days across transfers and holidays ------------------------------------------------


@pytest.mark.parametrize(
    ("process", "need", "received", "expected"),
    [
        # Fri 27.12.2024 12:00, 2 working days: Sat 28.12 works (1); 29.12–8.01 off; Thu 9.01 (2).
        ("payroll", "information", msk(2024, 12, 27, 12, 0), msk(2025, 1, 9, 18, 0)),
        # Fri 26.12.2025 10:00, 2 working days: Mon 29.12 (1), Tue 30.12 (2); 31.12 is a moved
        # day off before New Year, so 30.12 is the pre-holiday day: 18:00 − 1 h = 17:00.
        ("payroll", "information", msk(2025, 12, 26, 10, 0), msk(2025, 12, 30, 17, 0)),
        # Wed 30.04.2025 10:00, 5 working days: 1–4 May off; 5 (1), 6 (2), 7 (3); 8–11 off;
        # 12 (4), Tue 13.05 (5).
        ("travel", "submission", msk(2025, 4, 30, 10, 0), msk(2025, 5, 13, 18, 0)),
        # Wed 4.06.2025, 2 working days: Thu 5.06 (1), Fri 6.06 (2) — Friday ends at 16:45.
        ("timesheet", "information", msk(2025, 6, 4, 11, 0), msk(2025, 6, 6, 16, 45)),
        # Wed 4.06.2025, 5 working days: 5, 6, 9, 10, Wed 11.06 (5) — before Russia Day: 17:00.
        ("travel", "submission", msk(2025, 6, 4, 11, 0), msk(2025, 6, 11, 17, 0)),
    ],
)
def test_working_day_deadlines(
    policy: DeadlinePolicy, process: str, need: str, received: datetime, expected: datetime
) -> None:
    assert policy.due(process=process, need=need, received_at=received).at == expected


def test_after_hours_counts_from_next_working_day(policy: DeadlinePolicy) -> None:
    # Fri 31.10.2025 17:00 is after Friday's 16:45: it counts from the working Saturday 1.11.
    # 2 working days from 1.11: 2 Sun, 3 moved day off, 4 Unity Day; Wed 5.11 (1), Thu 6.11 (2).
    due = policy.due(process="payroll", need="information", received_at=msk(2025, 10, 31, 17, 0))
    assert due.at == msk(2025, 11, 6, 18, 0)
    assert "01.11.2025" in due.explanation and "нерабочее время" in due.explanation


def test_before_end_of_day_counts_from_that_day(policy: DeadlinePolicy) -> None:
    # The same Friday at 16:30 is still working time: 2 working days → Sat 1.11 (1), Wed 5.11 (2).
    due = policy.due(process="payroll", need="information", received_at=msk(2025, 10, 31, 16, 30))
    assert due.at == msk(2025, 11, 5, 18, 0)
    assert "нерабочее время" not in due.explanation


def test_day_off_counts_from_next_working_day(policy: DeadlinePolicy) -> None:
    # Sun 4.05.2025 counts from Mon 5.05; 5 working days: 6, 7, 12, 13, Wed 14.05.
    due = policy.due(process=None, need=None, received_at=msk(2025, 5, 4, 12, 0))
    assert due.at == msk(2025, 5, 14, 18, 0)


def test_received_at_in_another_timezone_is_taken_in_moscow_time(policy: DeadlinePolicy) -> None:
    # 14:00 UTC on Fri 31.10.2025 is 17:00 in Moscow: after hours, as in the test above.
    received = datetime(2025, 10, 31, 14, 0, tzinfo=ZoneInfo("UTC"))
    due = policy.due(process="payroll", need="information", received_at=received)
    assert due.at == msk(2025, 11, 6, 18, 0)


def test_naive_received_at_is_refused(policy: DeadlinePolicy) -> None:
    with pytest.raises(ValueError):
        policy.due(process=None, need=None, received_at=datetime(2025, 6, 4, 10, 0))


# --- Calendar days -----------------------------------------------------------------------------


def test_calendar_days_on_a_day_off_move_to_previous_working_day(policy: DeadlinePolicy) -> None:
    # Mon 28.04.2025 + 5 calendar days = Sat 3.05; 2.05 moved day off, 1.05 holiday →
    # Wed 30.04, the day before 1 May: 17:00.
    due = policy.due(
        process="external_reporting", need="information", received_at=msk(2025, 4, 28, 10, 0)
    )
    assert due.at == msk(2025, 4, 30, 17, 0)
    assert due.rule == "external_reporting/*"
    assert "5 календарных дней по правилу external_reporting/*" in due.explanation
    assert "предыдущий рабочий день" in due.explanation


def test_calendar_and_working_units_differ(policy: DeadlinePolicy) -> None:
    received = msk(2025, 6, 4, 11, 0)  # Wednesday
    # 5 calendar days: Mon 9.06, a working day, 18:00.
    calendar = policy.due(process="external_reporting", need="result", received_at=received)
    # 5 working days: 5, 6, 9, 10, 11.06 (pre-holiday, 17:00).
    working = policy.due(process="travel", need="submission", received_at=received)
    assert calendar.at == msk(2025, 6, 9, 18, 0)
    assert working.at == msk(2025, 6, 11, 17, 0)


def test_calendar_days_may_move_forward_when_configured(policy: DeadlinePolicy) -> None:
    # Sat 1.11.2025 (working) + 3 calendar days = Tue 4.11, Unity Day → next working day Wed 5.11.
    due = policy.due(process="facts", need="submission", received_at=msk(2025, 11, 1, 10, 0))
    assert due.at == msk(2025, 11, 5, 18, 0)
    assert "следующий рабочий день" in due.explanation


# --- Rule choice -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("process", "need", "rule"),
    [
        ("travel", "submission", "travel/submission"),  # exact
        ("external_reporting", "information", "external_reporting/*"),  # process beats need
        ("payroll", "information", "*/information"),
        ("payroll", "submission", "*/*"),
        (None, "information", "*/information"),
        (None, None, "*/*"),
        ("no_such_process", "information", "*/information"),
    ],
)
def test_most_specific_rule_wins(
    policy: DeadlinePolicy, process: str | None, need: str | None, rule: str
) -> None:
    assert policy.rule_for(process, need).name == rule


def test_explanation_names_amount_unit_and_rule(policy: DeadlinePolicy) -> None:
    due = policy.due(process="travel", need="submission", received_at=msk(2025, 6, 4, 11, 0))
    assert due.explanation == "5 рабочих дней по правилу travel/submission"


@pytest.mark.parametrize(
    ("amount", "unit", "phrase"),
    [
        (1, "working", "1 рабочий день"),
        (2, "working", "2 рабочих дня"),
        (5, "working", "5 рабочих дней"),
        (11, "working", "11 рабочих дней"),
        (21, "calendar", "21 календарный день"),
        (14, "calendar", "14 календарных дней"),
        (23, "calendar", "23 календарных дня"),
    ],
)
def test_days_phrase_agrees_in_number(amount: int, unit: str, phrase: str) -> None:
    assert days_phrase(amount, unit) == phrase


# --- The override file moves deadlines ---------------------------------------------------------


def test_extra_day_off_moves_a_deadline(tmp_path: Path) -> None:
    # With 10.06.2025 off: from Wed 4.06, 5 working days are 5, 6, 9, 11 (4); 12 Russia Day,
    # 13 moved day off, 14–15 weekend; Mon 16.06 (5).
    rules = make_rules(tmp_path, calendar="[years.2025]\ndays_off = [2025-06-10]\n")
    due = load(rules).due(process="travel", need="submission", received_at=msk(2025, 6, 4, 11, 0))
    assert due.at == msk(2025, 6, 16, 18, 0)


def test_extra_working_day_moves_a_deadline(tmp_path: Path) -> None:
    # Without the override, from Wed 11.06.2025 two working days are Mon 16.06, Tue 17.06;
    # with Sat 14.06 working they are 14.06 (1) and 16.06 (2).
    received = msk(2025, 6, 11, 10, 0)
    plain = load(make_rules(tmp_path / "plain"))
    rules = make_rules(tmp_path, calendar="[years.2025]\nworking_days = [2025-06-14]\n")
    changed = load(rules)
    assert plain.due(process=None, need="information", received_at=received).at == msk(
        2025, 6, 17, 18, 0
    )
    assert changed.due(process=None, need="information", received_at=received).at == msk(
        2025, 6, 16, 18, 0
    )


# --- External deadlines ------------------------------------------------------------------------


def test_earlier_external_deadline_wins(policy: DeadlinePolicy) -> None:
    # Own deadline: Wed 30.04.2025 + 5 working days = Tue 13.05 18:00. The card says 6.05 (Tue),
    # so the end of 6 May wins.
    due = policy.due(
        process="travel",
        need="submission",
        received_at=msk(2025, 4, 30, 10, 0),
        external_deadline=date(2025, 5, 6),
    )
    assert due.at == msk(2025, 5, 6, 18, 0)
    assert due.rule == "external"
    assert "ДелоПро" in due.explanation and "travel/submission" in due.explanation


def test_later_external_deadline_loses(policy: DeadlinePolicy) -> None:
    due = policy.due(
        process="travel",
        need="submission",
        received_at=msk(2025, 4, 30, 10, 0),
        external_deadline=date(2025, 5, 20),
    )
    assert due.at == msk(2025, 5, 13, 18, 0)
    assert due.rule == "travel/submission"


def test_external_date_on_a_day_off_means_previous_working_day(policy: DeadlinePolicy) -> None:
    # The card says Sun 4.05.2025; 1–4 May are off, so the end of Wed 30.04 (pre-holiday, 17:00).
    due = policy.due(
        process=None,
        need=None,
        received_at=msk(2025, 4, 28, 10, 0),
        external_deadline=date(2025, 5, 4),
    )
    assert due.at == msk(2025, 4, 30, 17, 0)


def test_external_naive_datetime_is_moscow_time(policy: DeadlinePolicy) -> None:
    due = policy.due(
        process=None,
        need=None,
        received_at=msk(2025, 6, 2, 10, 0),
        external_deadline=datetime(2025, 6, 3, 12, 0),
    )
    assert due.at == msk(2025, 6, 3, 12, 0)


# --- Pauses while the request waits on the client ----------------------------------------------


def test_pause_extends_by_working_time(policy: DeadlinePolicy) -> None:
    # Paused Mon 2.06.2025 15:00 – Tue 3.06 11:00: 3 h on Monday + 2 h on Tuesday = 5 h.
    # Due Wed 4.06 18:00 + 5 h of working time → Thu 5.06 09:00 + 5 h = 14:00.
    extended = policy.extend_for_pause(
        msk(2025, 6, 4, 18, 0), msk(2025, 6, 2, 15, 0), msk(2025, 6, 3, 11, 0)
    )
    assert extended == msk(2025, 6, 5, 14, 0)


def test_pause_over_may_holidays_counts_only_working_hours(policy: DeadlinePolicy) -> None:
    # Paused Wed 30.04.2025 16:00 – Mon 5.05 10:00: 30.04 ends at 17:00 (1 h), 1–4 May off,
    # 5.05 09:00–10:00 (1 h) = 2 h. Due Wed 7.05 16:00: 7.05 is pre-holiday (ends 17:00) → 1 h
    # there, 8–11 May off, the last hour on Mon 12.05 09:00–10:00.
    extended = policy.extend_for_pause(
        msk(2025, 5, 7, 16, 0), msk(2025, 4, 30, 16, 0), msk(2025, 5, 5, 10, 0)
    )
    assert extended == msk(2025, 5, 12, 10, 0)


def test_pause_outside_working_hours_changes_nothing(policy: DeadlinePolicy) -> None:
    # Sat 7.06.2025 – Sun 8.06 holds no working time.
    due_at = msk(2025, 6, 11, 17, 0)
    assert policy.extend_for_pause(due_at, msk(2025, 6, 7, 9), msk(2025, 6, 8, 20)) == due_at


def test_clock_does_not_pause_when_configured(tmp_path: Path) -> None:
    text = TEST_RULES.replace("pauses_while_waiting = true", "pauses_while_waiting = false")
    policy = load(make_rules(tmp_path, text))
    due_at = msk(2025, 6, 4, 18, 0)
    assert policy.pauses_while_waiting is False
    assert policy.extend_for_pause(due_at, msk(2025, 6, 2, 15), msk(2025, 6, 3, 11)) == due_at


# --- The shipped rules -------------------------------------------------------------------------


def test_shipped_rules_cover_every_process_and_need() -> None:
    policy = DeadlinePolicy.load(RULES, WorkCalendar.load(RULES))
    received = msk(2025, 6, 2, 10, 0)
    for process in PROCESSES:
        for need in NEEDS:
            due = policy.due(process=process, need=need, received_at=received)
            assert received < due.at, (process, need)
            assert policy.rule_for(process, need).amount > 0


def test_shipped_rules_treat_osfr_requests_in_calendar_days() -> None:
    policy = DeadlinePolicy.load(RULES, WorkCalendar.load(RULES))
    assert policy.rule_for("external_reporting", "information").unit == "calendar"
    assert policy.rule_for("payroll", "result").unit == "working"


# --- Validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('[rules."facts/*"]', '[rules."factz/*"]', "rules.factz/*", "неизвестный процесс"),
        ('[rules."*/information"]', '[rules."*/info"]', "rules.*/info", "неизвестная потребность"),
        ('[rules."travel/submission"]', '[rules."travel"]', "rules.travel", "процесс/потребность"),
        ("amount = 2\n", "amount = -2\n", "rules.*/information.amount", "целым числом"),
        ("amount = 2\n", 'amount = "два"\n', "rules.*/information.amount", "целым числом"),
        (
            'amount = 2\nunit = "working"',
            'amount = 2\nunit = "days"',
            "rules.*/information.unit",
            "working",
        ),
        (
            'amount = 2\nunit = "working"',
            'amount = 2\nunit = "working"\non_day_off = "next"',
            "rules.*/information.on_day_off",
            "calendar",
        ),
        ('on_day_off = "next"', 'on_day_off = "later"', "rules.facts/*.on_day_off", "previous"),
        (
            'amount = 2\nunit = "working"',
            'amount = 2\nunits = "working"',
            "rules.*/information.units",
            "неизвестный ключ",
        ),
        ('"Europe/Moscow"', '"Europe/Smolensk"', "schedule.timezone", "часовой пояс"),
        ('end = "18:00"', 'end = "шесть"', "schedule.end", "ЧЧ:ММ"),
        ('friday_end = "16:45"', 'friday_end = "08:30"', "schedule.friday_end", "позже начала"),
        (
            "pauses_while_waiting = true",
            'pauses_while_waiting = "да"',
            "schedule.pauses_while_waiting",
            "true или false",
        ),
    ],
)
def test_validation_errors_name_file_key_and_line(
    tmp_path: Path, old: str, new: str, key: str, words: str
) -> None:
    assert old in TEST_RULES
    text = TEST_RULES.replace(old, new, 1)
    changed_line = _first_changed_line(TEST_RULES, text)
    with pytest.raises(RuleFileError) as caught:
        load(make_rules(tmp_path, text))
    message = str(caught.value)
    assert "deadlines.toml" in message and key in message and words in message
    assert caught.value.line is not None
    assert abs(caught.value.line - changed_line) <= 2, message


def _first_changed_line(before: str, after: str) -> int:
    pairs = zip(before.splitlines(), after.splitlines(), strict=False)
    return next(number for number, (a, b) in enumerate(pairs, start=1) if a != b)


def test_default_rule_is_required(tmp_path: Path) -> None:
    text = TEST_RULES.replace('[rules."*/*"]', '[rules."payroll/other"]')
    with pytest.raises(RuleFileError) as caught:
        load(make_rules(tmp_path, text))
    assert '"*/*"' in str(caught.value)


def test_missing_deadlines_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError) as caught:
        DeadlinePolicy.load(tmp_path, WorkCalendar())
    assert "deadlines.toml" in str(caught.value) and "не найден" in str(caught.value)
