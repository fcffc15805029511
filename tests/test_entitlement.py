"""Who may act on a request, by the shipped staff rules (deputies, the unit head, absences) and
by the token a letter replies to."""

from __future__ import annotations

from datetime import date

import pytest

from buhdesk.trust.entitlement import acting_deputy, entitlement, token_authority
from buhdesk.store.models import Request
from buhdesk.rules.routing import Absence
from buhdesk.rules.book import RuleBook
from buhdesk.trust.tokens import Token

DAY = date(2026, 11, 24)


def away(*logins: str) -> list[Absence]:
    return [Absence(login, date(2026, 11, 23), date(2026, 11, 27), "отпуск") for login in logins]


def request(assignee: str | None = "ivanova") -> Request:
    return Request(id=5, number="БУХ-2026-000005", assignee=assignee)


@pytest.mark.parametrize(("login", "absent", "allowed"), [
    ("ivanova", (), True),  # the assignee
    ("ivanova", ("ivanova",), True),  # still the assignee, even writing from her leave
    ("buhanceva", (), True),  # the unit head
    ("petrova", (), False),  # the deputy, while the assignee is at work
    ("petrova", ("ivanova",), True),  # the deputy, while the assignee is away
    ("petrova", ("ivanova", "petrova"), False),  # the deputy is away too
    ("grigorieva", ("ivanova",), False),  # a colleague
    ("nobody", (), False),
])
def test_entitlement(shipped_rules: RuleBook, login: str, absent: tuple[str, ...],
                     allowed: bool) -> None:
    found = entitlement(shipped_rules.staff, away(*absent), request(), login, DAY)
    assert found.allowed is allowed, found.why


def test_the_chain_of_deputies_is_followed_past_absent_ones(shipped_rules: RuleBook) -> None:
    staff = shipped_rules.staff
    assert acting_deputy(staff, away("nikolaev"), "nikolaev", DAY) == "petrova"
    # nikolaev → petrova (away) → ivanova
    assert acting_deputy(staff, away("nikolaev", "petrova"), "nikolaev", DAY) == "ivanova"
    # ivanova ↔ petrova, both away: nobody stands in
    assert acting_deputy(staff, away("ivanova", "petrova"), "ivanova", DAY) is None
    assert acting_deputy(staff, away("ivanova"), "ivanova", date(2026, 11, 30)) is None


def test_an_unassigned_request_is_for_the_head_only(shipped_rules: RuleBook) -> None:
    staff = shipped_rules.staff
    assert entitlement(staff, [], request(None), "buhanceva", DAY).allowed
    assert not entitlement(staff, [], request(None), "ivanova", DAY).allowed


@pytest.mark.parametrize(("login", "token", "absent", "allowed"), [
    ("ivanova", Token("notice", 5, "ivanova"), (), True),
    ("ivanova", Token("return", 5, "ivanova"), (), True),
    # a notice forwarded by the assignee to her deputy while she is away, or to the head
    ("petrova", Token("notice", 5, "ivanova"), ("ivanova",), True),
    ("buhanceva", Token("notice", 5, "ivanova"), (), True),
    # a colleague's own token on someone else's request, a former assignee's token
    ("grigorieva", Token("notice", 5, "grigorieva"), (), False),
    ("buhanceva", Token("notice", 5, "nikolaev"), (), False),
    # no staff named, an old token, a token of another request, a client's token
    ("ivanova", Token("notice", 5, ""), (), False),
    ("ivanova", Token("notice", 5, legacy=True), (), False),
    ("ivanova", Token("notice", 6, "ivanova"), (), False),
    ("ivanova", Token("ack", 5), (), False),
    ("ivanova", None, (), False),
])
def test_token_authority(shipped_rules: RuleBook, login: str, token: Token | None,
                         absent: tuple[str, ...], allowed: bool) -> None:
    found = token_authority(shipped_rules.staff, away(*absent), request(), login, token, DAY)
    assert found.allowed is allowed, found.why
    assert found.why and "ivanova" not in found.why  # people read names, not logins
