"""Settings of closure and the survey, from the ``[closure]`` and ``[survey]`` tables of the
configuration, validated once; errors are Russian and name the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

from buhdesk.config import Config
from buhdesk.feedback.tokens import PERIOD_KINDS

DEFAULT_THANKS = (
    "спасибо", "благодарю", "благодарим", "благодарна", "благодарен", "ок", "окей", "ok",
    "хорошо", "понятно", "ясно", "понял", "поняла", "поняли", "получил", "получила", "получили",
    "получено", "принято", "принял", "приняла", "отлично", "договорились", "всё в порядке",
)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MIN_GROUP_FLOOR = 3


class SurveySettingsError(ValueError):
    """A ``[closure]`` or ``[survey]`` value is wrong; the Russian message names the key."""


@dataclass(frozen=True)
class ClosureSettings:
    auto_close_days: int = 5  # working days after the last answer without a reply from the client
    reopen_days: int = 10  # calendar days after closure in which a follow-up reopens the request
    # A reply after closure made only of these (and greetings) is recorded without reopening.
    thanks: tuple[str, ...] = DEFAULT_THANKS
    thanks_max_other_words: int = 3


@dataclass(frozen=True)
class SurveySettings:
    enabled: bool = True
    base_url: str = "http://127.0.0.1:8080"
    internal_domains: tuple[str, ...] = ()
    per_person_days: int = 30
    window_start: time = time(10, 0)
    window_end: time = time(16, 0)
    valid_days: int = 45  # a link is accepted until this many days after its quarter ends
    min_group: int = 5  # answers are released (and reported) only in groups at least this big
    answer_period: str = "half-year"  # quarter | half-year | year: the time label of an answer


def _section(extra: Mapping[str, object], name: str, keys: tuple[str, ...]) -> Mapping[str, object]:
    raw = extra.get(name, {})
    if not isinstance(raw, Mapping):
        raise SurveySettingsError(f"[{name}] должен быть таблицей TOML")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise SurveySettingsError(f"[{name}] неизвестные ключи: {', '.join(unknown)} "
                                  f"(допустимы: {', '.join(keys)})")
    return raw


def _int(section: str, raw: Mapping[str, object], key: str, default: int, low: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise SurveySettingsError(f"[{section}] {key}: нужно целое число не меньше {low}, "
                                  f"а указано {value!r}")
    return value


def _time(raw: Mapping[str, object], key: str, default: time) -> time:
    value = raw.get(key)
    if value is None:
        return default
    m = _TIME.match(value) if isinstance(value, str) else None
    if m is None:
        raise SurveySettingsError(f"[survey] {key}: нужно время в виде ЧЧ:ММ, а указано {value!r}")
    return time(int(m[1]), int(m[2]))


def closure_settings(config: Config) -> ClosureSettings:
    raw = _section(config.extra, "closure", ("auto_close_days", "reopen_days", "thanks",
                                             "thanks_max_other_words"))
    thanks = raw.get("thanks", list(DEFAULT_THANKS))
    if not isinstance(thanks, list) or not all(isinstance(t, str) and t.strip() for t in thanks):
        raise SurveySettingsError("[closure] thanks: нужен список слов и фраз, например "
                                  "[\"спасибо\", \"получила\"]")
    return ClosureSettings(
        auto_close_days=_int("closure", raw, "auto_close_days", ClosureSettings.auto_close_days, 1),
        reopen_days=_int("closure", raw, "reopen_days", ClosureSettings.reopen_days, 0),
        thanks=tuple(t.strip() for t in thanks),
        thanks_max_other_words=_int("closure", raw, "thanks_max_other_words",
                                    ClosureSettings.thanks_max_other_words, 0),
    )


def survey_settings(config: Config) -> SurveySettings:
    keys = ("enabled", "base_url", "internal_domains", "per_person_days", "window_start",
            "window_end", "valid_days", "min_group", "answer_period")
    raw = _section(config.extra, "survey", keys)
    domains = raw.get("internal_domains", [config.service.domain])
    if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
        raise SurveySettingsError("[survey] internal_domains: нужен список доменов, "
                                  "например [\"minfin.example\"]")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise SurveySettingsError("[survey] enabled: нужно true или false")
    base_url = raw.get("base_url", SurveySettings.base_url)
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise SurveySettingsError("[survey] base_url: нужен адрес вида https://опрос.example")
    period = raw.get("answer_period", SurveySettings.answer_period)
    if period not in PERIOD_KINDS:
        raise SurveySettingsError("[survey] answer_period: допустимы quarter (квартал), "
                                  f"half-year (полугодие), year (год), а указано {period!r}")
    s = SurveySettings(
        answer_period=period,
        enabled=enabled, base_url=base_url.rstrip("/"),
        internal_domains=tuple(d.lower().lstrip("@") for d in domains),
        per_person_days=_int("survey", raw, "per_person_days", SurveySettings.per_person_days, 0),
        window_start=_time(raw, "window_start", SurveySettings.window_start),
        window_end=_time(raw, "window_end", SurveySettings.window_end),
        valid_days=_int("survey", raw, "valid_days", SurveySettings.valid_days, 1),
        min_group=max(MIN_GROUP_FLOOR, _int("survey", raw, "min_group", 5, 1)),
    )
    if s.window_end <= s.window_start:
        raise SurveySettingsError("[survey] window_end должно быть позже window_start")
    return s
