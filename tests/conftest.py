"""Shared fixtures: real mail servers on loopback and a builder for simple test messages.

``dovecot`` is one private Dovecot per session (stopping one takes seconds); ``mail_user`` gives
each test its own fresh mailbox on it. ``fresh_dovecot`` is a private instance for tests that
kill or restart the server. Without the dovecot binary the integration tests are skipped, or fail
when ``CI=true`` or ``BUHDESK_REQUIRE_INTEGRATION=1`` says they must run.

Every test that touches the store asks for ``store_url`` (directly, or through ``daemon`` or
``store_engine``) and so runs twice: on a fresh SQLite file and on a fresh PostgreSQL database
(on the server of ``postgres_admin_url``: a throwaway cluster unless $BUHDESK_TEST_PG_URL is set).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import psycopg
import pytest
from pgcluster import PostgresMissing, ThrowawayPostgres
from sqlalchemy.engine import Engine
from support import scratch_database

from buhdesk.config import load_config, package_data_dir
from buhdesk.rules.book import RuleBook, load_rulebook
from buhdesk.service.runner import Daemon
from buhdesk.service.runtime import build_runtime
from buhdesk.store.engine import open_store
from harness.loopback import Dovecot, DovecotMissing, SmtpSink
from harness.memory import MemorySource, MemoryTransport

DOVECOT_USER = "buh"
DOVECOT_PASSWORD = "buh-test-password"
_user_numbers = itertools.count(1)


@dataclass(frozen=True)
class MailUser:
    """A mailbox on a loopback Dovecot, with what a client needs to log in."""

    dovecot: Dovecot
    name: str
    password: str

    @property
    def host(self) -> str:
        return self.dovecot.host

    @property
    def port(self) -> int:
        return self.dovecot.imap_port


def _integration_required() -> bool:
    return (os.environ.get("CI", "").lower() == "true"
            or os.environ.get("BUHDESK_REQUIRE_INTEGRATION") == "1")


def _new_dovecot(*, tls: bool = False) -> Dovecot:
    try:
        server = Dovecot(tls=tls)
    except DovecotMissing as e:
        if _integration_required():
            pytest.fail(f"integration tests required but {e}", pytrace=False)
        pytest.skip(str(e))
    server.start()
    return server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A started Dovecot shared by the session, with user ``buh``."""
    server = _new_dovecot()
    server.add_user(DOVECOT_USER, DOVECOT_PASSWORD)
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def mail_user(dovecot: Dovecot) -> MailUser:
    """A fresh, empty mailbox on the session Dovecot."""
    name = f"user{next(_user_numbers)}"
    password = f"pw-{name}"
    dovecot.add_user(name, password)
    return MailUser(dovecot, name, password)


@pytest.fixture
def fresh_dovecot() -> Iterator[MailUser]:
    """A private Dovecot for this test only (to kill or restart), with user ``buh``."""
    server = _new_dovecot()
    server.add_user(DOVECOT_USER, DOVECOT_PASSWORD)
    try:
        yield MailUser(server, DOVECOT_USER, DOVECOT_PASSWORD)
    finally:
        server.kill()
        server.cleanup()


@pytest.fixture(scope="module")
def tls_dovecot() -> Iterator[MailUser]:
    """A Dovecot with a self-signed certificate (``dovecot.cafile``): IMAPS and STARTTLS."""
    server = _new_dovecot(tls=True)
    server.add_user(DOVECOT_USER, DOVECOT_PASSWORD)
    try:
        yield MailUser(server, DOVECOT_USER, DOVECOT_PASSWORD)
    finally:
        server.cleanup()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """An aiosmtpd server on a free loopback port that records what it receives."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


MessageFactory = Callable[..., bytes]


def build_message(
    *, subject: str = "Запрос справки", body: str = "Добрый день! Прошу выдать справку.",
    sender: str = "client@example.org", to: str = "buh@example.org",
    message_id: str | None = None, date: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A simple RFC 822 message (UTF-8 text/plain), CRLF line ends."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(domain="example.org")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture
def make_message() -> MessageFactory:
    """Build simple test messages: ``make_message(subject=..., body=..., sender=..., to=...)``."""
    return build_message


# --- the core with in-memory connectors -------------------------------------------------------

PIPELINE_NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday, 12:00 in Moscow


@pytest.fixture(scope="session")
def shipped_rules() -> RuleBook:
    """The rules shipped in rules/, loaded once (pymorphy3 and the dictionaries take a second)."""
    return load_rulebook(package_data_dir("rules"))


FILE_OUTBOX = '[outbox]\nkind = "files"\npath = "outbox"\nmax_attempts = 3\n'


def write_config(folder: Path, body: str = "", *, outbox: str = FILE_OUTBOX,
                 store: str | None = None) -> Path:
    """A buhdesk.toml in ``folder`` with the test service and (by default) an SQLite store."""
    path = folder / "buhdesk.toml"
    path.write_text(f"""
[service]
name = "Бухгалтерия"
address = "buh@minfin.example"
domain = "minfin.example"
duty_accountant = "ivanova"
admins = ["admin@minfin.example"]
auto_reply_daily_cap = 3
[store]
url = "{store or f'sqlite:///{folder}/buhdesk.db'}"
{body}
{outbox}
""", encoding="utf-8")
    return path


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """A secret that meets the rule (32 random-looking bytes in hex), the same in every run."""
    value = hashlib.sha256(b"buhdesk test secret").hexdigest()
    monkeypatch.setenv("BUHDESK_SECRET", value)
    return value


def _server_answers(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server the tests create their databases on: $BUHDESK_TEST_PG_URL when set,
    else a throwaway cluster on a free loopback port, removed at the end of the session (the same
    on every machine; a server the developer runs is never touched). Without PostgreSQL installed
    the tests are skipped, or fail when integration tests are required (``CI=true``,
    ``BUHDESK_REQUIRE_INTEGRATION=1``)."""
    url = os.environ.get("BUHDESK_TEST_PG_URL")
    if url:
        if not _server_answers(url):
            pytest.fail("$BUHDESK_TEST_PG_URL names a PostgreSQL server that does not answer",
                        pytrace=False)
        yield url
        return
    try:
        server = ThrowawayPostgres()
        server.start()
    except PostgresMissing as e:
        if _integration_required():
            pytest.fail(f"integration tests required but {e}", pytrace=False)
        pytest.skip(str(e))
    try:
        yield server.admin_url
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store for a test: a fresh SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/buhdesk.db"
        return
    admin = request.getfixturevalue("postgres_admin_url")
    with scratch_database(admin, "buhdesk_test") as url:
        yield url


@pytest.fixture
def daemon(tmp_path: Path, secret_env: str, shipped_rules: RuleBook, store_url: str) -> Iterator[Daemon]:
    """A Daemon over an in-memory source and transport, on SQLite and on PostgreSQL, with a
    clock the test moves (``daemon.clock[0] = ...``)."""
    clock = [PIPELINE_NOW]
    rt = build_runtime(load_config(write_config(tmp_path, store=store_url)),
                       clock=lambda: clock[0], rules=shipped_rules)
    d = Daemon(rt, [MemorySource("minfin", clock=lambda: clock[0])], MemoryTransport())
    d.clock = clock  # type: ignore[attr-defined]
    yield d
    rt.engine.dispose()


@pytest.fixture
def make_config() -> Callable[..., Path]:
    """``make_config(folder, body, outbox=...)``: write a test buhdesk.toml (see write_config)."""
    return write_config


@pytest.fixture
def running() -> Iterator[Callable[[Daemon], Daemon]]:
    """``running(daemon)``: run a Daemon in a thread; it is stopped at the end of the test."""
    started: list[tuple[Daemon, threading.Thread]] = []

    def start(d: Daemon) -> Daemon:
        t = threading.Thread(target=d.run, daemon=True)
        t.start()
        started.append((d, t))
        return d

    yield start
    for d, t in started:
        d.stop()
        t.join(timeout=60)
        d.rt.engine.dispose()


@pytest.fixture
def store_engine(store_url: str) -> Iterator[Callable[[Path], Engine]]:
    """``store_engine(config)``: the store of a buhdesk.toml, opened (and migrated) by the test;
    disposed at the end of the test, before its PostgreSQL database is dropped."""
    opened: list[Engine] = []

    def open_(config: Path) -> Engine:
        opened.append(open_store(load_config(config).store.url))
        return opened[-1]

    yield open_
    for engine in opened:
        engine.dispose()
