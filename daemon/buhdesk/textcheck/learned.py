"""The installation's own dictionary: words accountants marked as correct with «#слово», kept in
the audit trail (stage ``textcheck``, action ``word-added``), read back for the command-line check.

The daemon reads them through its session (``answers.learned_words``). ``buhdesk textcheck``
must answer within a second, so it reads them here with the database driver alone: no ORM, no
migration, no write lock, and never a new store where there is none.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

STAGE = "textcheck"
WORD_ADDED = "word-added"  # audit action of «#слово»: the installation's own dictionary
_QUERY = "SELECT detail FROM events WHERE stage = {p} AND action = {p}"


class StoreUnreadable(Exception):
    """The store exists but its words could not be read; the message says why."""


def words_of(details: list[str]) -> list[str]:
    """The words of ``word-added`` events' details."""
    return [json.loads(detail).get("word", "") for detail in details]


def read_learned_words(url: str) -> list[str]:
    """The learned words in the store at ``url`` (SQLite or PostgreSQL); none when the store or
    its events table does not exist yet."""
    if url.startswith("sqlite"):
        return words_of(_sqlite_details(url))
    return words_of(_postgres_details(url))


def _sqlite_details(url: str) -> list[str]:
    import sqlite3  # noqa: PLC0415 - only this store's kind is imported

    path = _sqlite_path(url)
    if path is None or not path.is_file():
        return []
    try:
        with sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True) as conn:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                "AND name = 'events'").fetchone():
                return []
            rows = conn.execute(_QUERY.format(p="?"), (STAGE, WORD_ADDED)).fetchall()
    except sqlite3.Error as e:
        raise StoreUnreadable(f"{path}: {e}") from e
    return [row[0] for row in rows]


def _sqlite_path(url: str) -> Path | None:
    """``sqlite:///relative.db`` or ``sqlite:////absolute.db``; None for an in-memory store."""
    rest = url.split("://", 1)[1].split("?", 1)[0] if "://" in url else ""
    if not rest.startswith("/") or rest in ("/", "/:memory:"):
        return None
    return Path(rest[1:])


def _postgres_details(url: str) -> list[str]:
    import psycopg  # noqa: PLC0415 - only this store's kind is imported

    scheme, _, rest = url.partition("://")
    conninfo = f"{scheme.split('+', 1)[0]}://{rest}"  # libpq reads the URL without the driver
    try:
        with psycopg.connect(conninfo, connect_timeout=5) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('events') IS NOT NULL")
            row = cur.fetchone()
            if not row or not row[0]:
                return []
            cur.execute(_QUERY.format(p="%s"), (STAGE, WORD_ADDED))
            return [r[0] for r in cur.fetchall()]
    except psycopg.Error as e:
        raise StoreUnreadable(str(e)) from e
