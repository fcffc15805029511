"""Who may speak for the accounting service on a request: answer the client, give commands
(``#закрыть``, ``#передать``, …) or answer a returned letter.

The rules, from ``rules/staff.toml`` and the absences:

1. the request's current assignee;
2. while the assignee is absent, their deputy (following the chain of deputies past absent ones,
   as assignment does);
3. a unit head (``role = "head"``).

A letter carries authority only through a thread token issued to a staff member (a notice, a
returned answer): the token must name the sender, or name the current assignee when the sender is
entitled by rule 2 or 3 (the assignee forwarded the notice to the deputy or the head). A token
issued to anyone else — a former assignee above all — and an old token that names nobody
authorise nothing: such a letter becomes an internal note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from buhdesk.rules.routing import Absence, StaffMember
from buhdesk.store.models import Request
from buhdesk.trust.tokens import Token

HEAD_ROLE = "head"


@dataclass(frozen=True)
class Authority:
    allowed: bool
    why: str  # Russian: the rule that entitles, or the reason for refusing


def entitlement(staff: Mapping[str, StaffMember], absences: Sequence[Absence],
                request: Request, login: str, day: date) -> Authority:
    """Whether ``login`` may act on ``request`` on ``day`` by the rules (tokens aside)."""
    member = staff.get(login)
    if member is None:
        return Authority(False, f"адреса «{login}» нет в списке сотрудников")
    if request.assignee == login:
        return Authority(True, "исполнитель обращения")
    if member.role == HEAD_ROLE:
        return Authority(True, "начальник отдела")
    deputy = acting_deputy(staff, absences, request.assignee, day)
    if deputy == login:
        return Authority(True, "заместитель отсутствующего исполнителя "
                               f"{name_of(staff, request.assignee)}")
    holder = (f"исполнитель — {name_of(staff, request.assignee)}" if request.assignee
              else "исполнитель не назначен")
    return Authority(False, f"{member.name} — не исполнитель обращения ({holder}), не "
                            "заместитель отсутствующего исполнителя и не начальник отдела")


def name_of(staff: Mapping[str, StaffMember], login: str | None) -> str:
    member = staff.get(login) if login else None
    return member.name if member else (login or "")


def acting_deputy(staff: Mapping[str, StaffMember], absences: Sequence[Absence],
                  assignee: str | None, day: date) -> str | None:
    """Who stands in for an absent ``assignee`` on ``day``: the first present deputy in the
    chain; None when the assignee is present or nobody in the chain is."""
    off = {a.login for a in absences if a.covers(day)}
    current, seen = assignee, set()
    while current is not None and current in off and current not in seen:
        seen.add(current)
        member = staff.get(current)
        current = member.deputy if member else None
    return current if current != assignee and current not in off else None


def token_authority(staff: Mapping[str, StaffMember], absences: Sequence[Absence],
                    request: Request, login: str, token: Token | None, day: date) -> Authority:
    """Whether a letter from ``login`` replying through ``token`` may act on ``request``."""
    if token is None or token.kind not in ("notice", "return"):
        return Authority(False, "письмо не является ответом на уведомление buhdesk")
    if token.legacy or not token.staff:
        return Authority(False, "ссылка в письме не указывает сотрудника (письмо старого "
                                "образца): ответьте на новое уведомление")
    if token.request_id != request.id:
        return Authority(False, "ссылка в письме относится к другому обращению")
    by_rule = entitlement(staff, absences, request, login, day)
    if not by_rule.allowed:
        return by_rule
    if token.staff == login:
        return by_rule
    if token.staff == request.assignee:
        return Authority(True, f"{by_rule.why}; ответ на уведомление исполнителя "
                               f"{name_of(staff, token.staff)}")
    return Authority(False, "письмо — ответ на уведомление, адресованное сотруднику "
                            f"{name_of(staff, token.staff)}, а обращение теперь ведёт "
                            f"{name_of(staff, request.assignee) or 'никто'}")
