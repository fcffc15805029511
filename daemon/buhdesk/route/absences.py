"""Staff absences kept in the store (imported from the HR time-sheet CSV or entered by admins)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy import delete, select
from sqlmodel import Session, col

from buhdesk.rules.routing import Absence, StaffMember, read_absences_csv
from buhdesk.store.models import Absence as AbsenceRow


def absences_from_store(session: Session) -> list[Absence]:
    rows = session.execute(select(AbsenceRow)).scalars().all()
    return [Absence(login=r.login, start=r.start, end=r.end, reason=r.reason) for r in rows]


def import_absences(session: Session, path: Path, *, replace: bool = True,
                    staff: Mapping[str, StaffMember] | None = None) -> Sequence[Absence]:
    """Load a time-sheet CSV (rows may name people by login or full name, given ``staff``);
    with ``replace`` the rows from the same file are replaced."""
    found = read_absences_csv(path, staff=staff)
    origin = path.name
    if replace:
        session.execute(delete(AbsenceRow).where(col(AbsenceRow.origin) == origin))
    for a in found:
        session.add(AbsenceRow(login=a.login, start=a.start, end=a.end, reason=a.reason,
                               origin=origin))
    return found
