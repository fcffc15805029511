"""The people a client copied: kept on the request, sent the answer as the copy policy allows,
and recognised when they reply (their reply joins the request instead of opening a new one).

The policy is ``[copies] answers`` in the configuration: ``internal`` (the default: only addresses
in the served institutions' domains, ``[survey] internal_domains``), ``all`` or ``none``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from buhdesk.config import Config
from buhdesk.feedback.settings import survey_settings
from buhdesk.store.models import Request

Policy = Literal["internal", "all", "none"]
POLICIES: tuple[Policy, ...] = ("internal", "all", "none")
MAX_PARTICIPANTS = 20  # a letter copied to a whole mailing list does not copy every answer to it


class CopiesSettingsError(ValueError):
    """``[copies]`` is wrong; the Russian message names the key."""


@dataclass(frozen=True)
class CopiesSettings:
    answers: Policy = "internal"
    internal_domains: tuple[str, ...] = ()


def copies_settings(config: Config) -> CopiesSettings:
    raw = config.extra.get("copies", {})
    if not isinstance(raw, dict):
        raise CopiesSettingsError("[copies] должен быть таблицей TOML")
    unknown = sorted(set(raw) - {"answers"})
    if unknown:
        raise CopiesSettingsError(f"[copies] неизвестные ключи: {', '.join(unknown)} "
                                  "(допустим: answers)")
    answers = raw.get("answers", "internal")
    if answers not in POLICIES:
        raise CopiesSettingsError(f"[copies] answers: нужно одно из значений internal, all, none, "
                                  f"а указано {answers!r}")
    return CopiesSettings(answers, tuple(d.lower() for d in
                                         survey_settings(config).internal_domains))


def copied(to: Iterable[str], cc: Iterable[str], *, client: str | None,
           own: Iterable[str]) -> list[str]:
    """The addresses a client's letter was copied to, besides the client and the service."""
    skip = {a.lower() for a in own} | ({client.lower()} if client else set())
    found = dict.fromkeys(a.strip().lower() for a in [*to, *cc] if a and "@" in a)
    return [a for a in found if a not in skip][:MAX_PARTICIPANTS]


def participants_of(request: Request) -> list[str]:
    return [a for a in (request.participants or "").split(",") if a]


def add_participants(request: Request, addresses: Sequence[str]) -> None:
    known = participants_of(request)
    request.participants = ",".join([*known, *(a for a in addresses if a not in known)]
                                    [:MAX_PARTICIPANTS])


def is_participant(request: Request, address: str | None) -> bool:
    return address is not None and address.lower() in participants_of(request)


def answer_copies(request: Request, settings: CopiesSettings) -> list[str]:
    """Whom the answer is copied to under the policy."""
    if settings.answers == "none":
        return []
    people = participants_of(request)
    if settings.answers == "all":
        return people
    return [a for a in people if a.rpartition("@")[2] in settings.internal_domains]
