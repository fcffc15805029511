"""Whether the store's schema is already at the newest revision, without importing Alembic.

Alembic (with Mako and Pygments behind it) costs about 11 MB of resident memory for the life of
the daemon, while it is needed only when there is something to migrate. The newest revisions are
read from the migration files' ``revision`` and ``down_revision`` literals; anything this reading
does not understand (a computed value, a file that does not parse) answers "unknown", and the
caller then lets Alembic decide, as before.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def _literal(tree: ast.Module, name: str) -> object:
    """The literal value assigned to ``name`` at the top of a module; KeyError when absent,
    ValueError when it is not a literal."""
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    raise KeyError(name)


def _names(value: object) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
        return set(value)
    raise ValueError(f"not a revision: {value!r}")


def head_revisions(versions: Path) -> frozenset[str] | None:
    """The revisions no other revision in ``versions`` builds on, or None when a file cannot be
    read that way."""
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        for path in sorted(versions.glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            revisions |= _names(_literal(tree, "revision"))
            parents |= _names(_literal(tree, "down_revision"))
    except (OSError, SyntaxError, KeyError, ValueError):
        return None
    heads = revisions - parents
    return frozenset(heads) if heads else None


def stored_revisions(conn: Connection) -> frozenset[str]:
    """The revisions the store records (empty for a store never migrated)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return frozenset()
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
    return frozenset(str(r) for r in rows)
