"""Who sees which requests: an administrator all of them, a unit head the unit's, an accountant
their own and their unit's (and the requests of colleagues they stand in for).

Staff records have no unit yet (issue 19 adds one): until then every staff member is in the one
unit of the service, named "".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import ColumnElement, or_
from sqlmodel import col

from buhdesk.rules.routing import Absence, StaffMember
from buhdesk.store.models import Request
from buhdesk.trust.entitlement import HEAD_ROLE, acting_deputy

ADMIN_ROLE = "admin"


def unit_of(member: StaffMember) -> str:
    return str(getattr(member, "unit", "") or "")


def visible_logins(staff: Mapping[str, StaffMember], absences: Sequence[Absence],
                   member: StaffMember, day: date) -> set[str] | None:
    """The assignees whose requests ``member`` sees; None means every request."""
    if member.role == ADMIN_ROLE:
        return None
    unit = unit_of(member)
    logins = {m.login for m in staff.values() if unit_of(m) == unit}
    logins |= {m.login for m in staff.values()
               if acting_deputy(staff, absences, m.login, day) == member.login}
    return logins | {member.login}


def visible_condition(staff: Mapping[str, StaffMember], absences: Sequence[Absence],
                      member: StaffMember, day: date) -> ColumnElement[bool] | None:
    """The SQL condition on ``requests`` for what ``member`` sees (None: no condition)."""
    logins = visible_logins(staff, absences, member, day)
    if logins is None:
        return None
    own = col(Request.assignee).in_(sorted(logins))
    if member.role == HEAD_ROLE:  # the head also sees what nobody was assigned yet
        return or_(own, col(Request.assignee).is_(None))
    return own


def can_see(staff: Mapping[str, StaffMember], absences: Sequence[Absence],
            member: StaffMember, request: Request, day: date) -> bool:
    logins = visible_logins(staff, absences, member, day)
    if logins is None:
        return True
    if request.assignee is None:
        return member.role == HEAD_ROLE
    return request.assignee in logins
