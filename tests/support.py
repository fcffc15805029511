"""Helpers shared by the integration tests (importable as ``support``; pytest puts tests/ on the
path): test letters, configuration sections for a loopback Dovecot and SMTP sink, waiting,
counting what the sink received, reading the store (SQLite or PostgreSQL) beside a daemon, and
taking a store to a given revision of its schema."""

from __future__ import annotations

import argparse
import email
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from sqlalchemy.engine import Engine
from sqlmodel import Session

from harness.loopback import SmtpSink


def letter(n: int, *, attachment: bytes = b"", name: str = "документ.pdf") -> bytes:
    """Employee ``n`` asks for a 2-НДФЛ certificate (a distinct sender per letter)."""
    m = EmailMessage()
    m["From"] = f"employee{n}@culture.example"
    m["To"] = "buh@minfin.example"
    m["Subject"] = f"Справка о доходах {n}"
    m["Message-ID"] = make_msgid(domain="culture.example")
    m["Date"] = "Tue, 24 Nov 2026 09:00:00 +0000"
    m.set_content(f"Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год ({n}).")
    if attachment:
        m.add_attachment(attachment, maintype="application", subtype="pdf", filename=name)
    return m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def imap_section(user: Any) -> str:
    """A `[[sources]]` table for a Dovecot user (password in $TEST_IMAP_PASSWORD)."""
    return f"""
[[sources]]
name = "minfin"
kind = "imap"
host = "{user.host}"
port = {user.port}
security = "none"
user = "{user.name}"
password_env = "TEST_IMAP_PASSWORD"
poll_interval = 1
[web]
metrics_port = 0
"""


def smtp_section(sink: SmtpSink, *, batch: int = 50, retry_base: float = 0.3,
                 max_attempts: int = 50, lease: float = 2) -> str:
    """An `[outbox]` table for the SMTP sink, with quick retries and a short claim lease."""
    return f"""
[outbox]
kind = "smtp"
host = "127.0.0.1"
port = {sink.port}
security = "none"
batch = {batch}
retry_base = {retry_base}
max_attempts = {max_attempts}
lease = {lease}
"""


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def acks(sink: SmtpSink) -> Counter[str]:
    """Acknowledgments the sink received, per request number."""
    found: Counter[str] = Counter()
    for m in sink.messages:
        subject = email.message_from_bytes(m.data, policy=SMTP)["Subject"]
        if "зарегистрировано" in subject:
            found[subject.split("]")[0].strip("[")] += 1
    return found


def scalar(engine: Engine, stmt: Any) -> int:
    with Session(engine) as s:
        return s.execute(stmt).scalar_one()


def read_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read from the store at ``url`` beside a running daemon, without migrating
    or locking it (an SQLite file is opened read-only)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
            return db.execute(sql).fetchall()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        return conn.execute(sql).fetchall()


def ops_cli(config_file: Path, *argv: str) -> int:
    """Run one of the operations commands (``buhdesk purge``, ``backup`` …) in this process."""
    from buhdesk.cli import ops as cli_ops
    from buhdesk.config import load_config

    parser = argparse.ArgumentParser(prog="buhdesk")
    parser.add_argument("--config")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_ops.register(sub, lambda args: load_config(Path(args.config)))
    args = parser.parse_args(["--config", str(config_file), *argv])
    return int(args.func(args))


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``server_url``, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# A working Wednesday, 07:00 in Moscow: after the test letters' date (see ``letter``), before the
# head's digest (08:30) and the reminders (09:00), so a daemon started "now" queues only what the
# test gives it, whatever the real date and hour.
DAEMON_NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def clock_offset(at: datetime = DAEMON_NOW) -> float:
    """Seconds to add to the wall clock so that it reads ``at`` now (pass it to every daemon of a
    test, so that time runs on between them as it really does)."""
    return (at - datetime.now(UTC)).total_seconds()


def shifted_clock(offset: float) -> Callable[[], datetime]:
    """A daemon clock running at the real pace, ``offset`` seconds from the wall clock."""
    delta = timedelta(seconds=offset)
    return lambda: datetime.now(UTC) + delta


def daemon_clock(at: datetime = DAEMON_NOW) -> Callable[[], datetime]:
    """A clock for a daemon of this test process that reads ``at`` now and runs on."""
    return shifted_clock(clock_offset(at))


def daemon_command(config: Path, offset: float, *args: str) -> list[str]:
    """``buhdesk --config CONFIG run ARGS`` as a process whose daemon clock is shifted by
    ``offset`` seconds (see tests/clocked_run.py)."""
    return [sys.executable, str(Path(__file__).with_name("clocked_run.py")), str(config),
            str(offset), *args]


def letter_text(engine: Engine, msg: Any) -> str:
    """An outgoing letter's text as the client or accountant reads it: kept in its stored bytes
    (the row's ``body_text`` only for the kinds searched in SQL)."""
    from buhdesk.reply.compose import text_of
    from buhdesk.store.raw import read_raw

    if msg.body_text is not None:
        return str(msg.body_text)
    with Session(engine) as session:
        return text_of(read_raw(session, msg.id))


def migrate_store(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Take the store up (or ``down``) to ``revision`` of the migrations, with Alembic."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from buhdesk.store.engine import MIGRATIONS

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
