"""Running totals that the writers keep in ``counters``, so that a reader gets them from a few
rows instead of counting the letters: how many letters each source has brought in
(``taken:<source>``; /metrics' ``buhdesk_messages_taken_in_total``).

A total grows in the transaction that stores the letters, and never shrinks: letters the retention
act removes were taken in all the same, as a Prometheus counter wants. Migration 0016 counted the
letters already stored.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import bindparam, select
from sqlmodel import Session

from buhdesk.store.append_rows import upserts
from buhdesk.store.engine import table_of
from buhdesk.store.models import Counter

TAKEN = "taken:"
_AFTER_TAKEN = "taken;"  # the first name after every "taken:…" (";" follows ":")
_COUNTERS = table_of(Counter)


# the total's upsert, per kind of store; it runs for every batch
_UPSERT = upserts(_COUNTERS, {"name": bindparam("name"), "value": bindparam("added")},
                  key=["name"], on_conflict={"value": _COUNTERS.c.value + bindparam("added")})
# the totals' rows: a range of the counters' key, whatever else the table holds
_TAKEN = select(_COUNTERS.c.name, _COUNTERS.c.value).where(
    _COUNTERS.c.name >= TAKEN, _COUNTERS.c.name < _AFTER_TAKEN)


def count_taken(session: Session, taken: Mapping[str | None, int]) -> None:
    """Add ``taken`` (letters stored, per source) to the totals, in the session's transaction."""
    connection = session.connection()
    for source, added in taken.items():
        if added:
            connection.execute(_UPSERT[connection.dialect.name],
                               {"name": TAKEN + (source or ""), "added": added})


def taken_totals(session: Session) -> dict[str, int]:
    """Letters taken in so far, per source."""
    return {name.removeprefix(TAKEN): int(value)
            for name, value in session.connection().execute(_TAKEN)}
