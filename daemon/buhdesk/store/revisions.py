"""Whether the store's schema is already at the newest revision, without importing Alembic.

Alembic (with Mako and Pygments behind it) costs about 11 MB of resident memory for the life of
the daemon, while it is needed only when there is something to migrate. The newest revisions are
read from the migration files' ``revision`` and ``down_revision`` lines; anything this reading
does not understand (a computed value, a name assigned twice) answers "unknown", and the caller
then lets Alembic decide, as before.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
# ``revision = "0009_storage"``, ``down_revision: str | None = None``, ``… = ("a", "b")``;
# read by pattern, not by ``ast`` (``ast.parse`` in several threads at once fails on CPython
# 3.11: "AST constructor recursion depth mismatch").
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.*?)\s*(?:#.*)?$",
                         re.MULTILINE)
_STRING = re.compile(r"""\s*(?:"([^"\\\n]*)"|'([^'\\\n]*)')\s*""")


def _names(value: str) -> set[str]:
    """The revisions a right-hand side names: a string, None, or a tuple or list of strings;
    ValueError for anything else."""
    if value == "None":
        return set()
    if value[:1] in "([" and value[-1:] in ")]":
        parts = [p for p in value[1:-1].split(",") if p.strip()]
    else:
        parts = [value]
    names = set()
    for part in parts:
        found = _STRING.fullmatch(part)
        if found is None:
            raise ValueError(f"not a revision: {value!r}")
        names.add(found.group(1) if found.group(1) is not None else found.group(2))
    return names


def head_revisions(versions: Path) -> frozenset[str] | None:
    """The revisions no other revision in ``versions`` builds on, or None when a file does not
    say its ``revision`` and ``down_revision`` plainly, once each."""
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        for path in sorted(versions.glob("*.py")):
            found: dict[str, set[str]] = {}
            for name, value in _ASSIGNMENT.findall(path.read_text(encoding="utf-8")):
                if name in found:
                    return None
                found[name] = _names(value)
            if set(found) != {"revision", "down_revision"} or len(found["revision"]) != 1:
                return None
            revisions |= found["revision"]
            parents |= found["down_revision"]
    except (OSError, ValueError):
        return None
    heads = revisions - parents
    return frozenset(heads) if heads else None


def stored_revisions(conn: Connection) -> frozenset[str]:
    """The revisions the store records (empty for a store never migrated)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return frozenset()
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
    return frozenset(str(r) for r in rows)
