"""The mail path end to end on real servers: Dovecot (IMAP) on loopback → buhdesk → aiosmtpd.

Nothing is lost or doubled when the daemon is killed between commit and acknowledgment, when it
is stopped with SIGTERM mid-run, or when the IMAP or SMTP server goes away and comes back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from support import (
    DAEMON_NOW,
    acks,
    clock_offset,
    daemon_clock,
    daemon_command,
    imap_section,
    smtp_section,
    wait_until,
)

from buhdesk.config import load_config
from buhdesk.service.main import build_daemon
from buhdesk.store.models import Message, Request

pytestmark = pytest.mark.integration

@pytest.fixture
def imap_config(make_config, store_url: str):  # type: ignore[no-untyped-def]
    """``imap_config(folder, mail_user, sink)``: a configuration for a Dovecot user and SMTP sink,
    on SQLite and on PostgreSQL."""
    return lambda folder, user, sink: make_config(folder, imap_section(user),
                                                  outbox=smtp_section(sink), store=store_url)


def letters(make_message, count: int = 5) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [make_message(sender=f"employee{n}@culture.example", to="buh@minfin.example",
                         subject=f"Справка о доходах {n}", date=DAEMON_NOW,
                         body=f"Добрый день! Прошу выдать справку 2-НДФЛ за 2025 год ({n}).")
            for n in range(count)]


def count(engine, *where) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(Message).where(*where)).scalar_one()


def request_count(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(Request)).scalar_one()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, secret_env: str, mail_user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    return dict(os.environ)


def test_letters_become_requests_with_acknowledgments(
    imap_config, tmp_path, mail_user, smtp_sink, make_message, env, running  # type: ignore[no-untyped-def]
) -> None:
    mail_user.dovecot.append(mail_user.name, "INBOX", letters(make_message, 4))
    auto = make_message(sender="robot@culture.example", subject="Автоответ: отпуск",
                        headers={"Auto-Submitted": "auto-replied"})
    mail_user.dovecot.append(mail_user.name, "INBOX", [auto])
    daemon = running(build_daemon(load_config(imap_config(tmp_path, mail_user, smtp_sink)),
                                  clock=daemon_clock()))
    wait_until(lambda: sum(acks(smtp_sink).values()) == 4, what="4 acknowledgments")
    assert request_count(daemon.rt.engine) == 4
    wait_until(lambda: mail_user.dovecot.count(mail_user.name, "INBOX") == 0, what="empty INBOX")
    assert mail_user.dovecot.count(mail_user.name, "Processed") == 5
    assert not [m for m in smtp_sink.messages if "robot@culture.example" in m.rcpt_tos]
    # IDLE: a letter appended while the daemon runs is taken at once
    mail_user.dovecot.append(mail_user.name, "INBOX", letters(make_message, 5)[4:])
    wait_until(lambda: sum(acks(smtp_sink).values()) == 5, timeout=30, what="pushed letter")


@pytest.fixture
def offset() -> float:
    """The shift of the daemons' clock: they live on a working morning before the head's digest."""
    return clock_offset()


def run_cli(config: Path, env: dict[str, str], offset: float,
            *args: str) -> subprocess.Popen[bytes]:
    """``buhdesk run [ARGS]`` as its own process, its clock shifted by ``offset`` seconds; its log goes
    to daemon.log beside the config."""
    with open(config.parent / "daemon.log", "ab") as log:
        return subprocess.Popen(daemon_command(config, offset, *args), env=env,
                                stdout=subprocess.DEVNULL, stderr=log)


def log_of(config: Path) -> str:
    return (config.parent / "daemon.log").read_text(encoding="utf-8", errors="replace")


def test_kill_between_commit_and_acknowledgment_loses_and_doubles_nothing(
    imap_config, store_engine, tmp_path, mail_user, smtp_sink, make_message, env,  # type: ignore[no-untyped-def]
    offset: float
) -> None:
    config = imap_config(tmp_path, mail_user, smtp_sink)
    mail_user.dovecot.append(mail_user.name, "INBOX", letters(make_message, 5))
    crashed = run_cli(config, {**env, "BUHDESK_CRASH_AT": "intake-committed:1"}, offset)
    assert crashed.wait(timeout=60) == 137, log_of(config)
    engine = store_engine(config)
    assert count(engine, Message.direction == "in") == 5  # committed ...
    assert mail_user.dovecot.count(mail_user.name, "INBOX") == 5  # ... but not acknowledged
    daemon = run_cli(config, env, offset)
    try:
        wait_until(lambda: sum(acks(smtp_sink).values()) == 5, what="5 acknowledgments")
        wait_until(lambda: mail_user.dovecot.count(mail_user.name, "INBOX") == 0)
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0, log_of(config)
    assert request_count(engine) == 5 and count(engine, Message.direction == "in") == 5
    assert set(acks(smtp_sink).values()) == {1}


def test_kill_after_sending_before_recording_sends_again_but_loses_nothing(
    imap_config, store_engine, tmp_path, mail_user, smtp_sink, make_message, env,  # type: ignore[no-untyped-def]
    offset: float
) -> None:
    config = imap_config(tmp_path, mail_user, smtp_sink)
    mail_user.dovecot.append(mail_user.name, "INBOX", letters(make_message, 5))
    crashed = run_cli(config, {**env, "BUHDESK_CRASH_AT": "delivered-unrecorded:1"}, offset)
    assert crashed.wait(timeout=60) == 137, log_of(config)
    first = sum(acks(smtp_sink).values())
    assert first > 0
    time.sleep(2.5)  # the crashed instance's claim on the batch expires
    daemon = run_cli(config, env, offset, "--once")
    assert daemon.wait(timeout=400) == 0, log_of(config)
    engine = store_engine(config)
    got = acks(smtp_sink)
    assert request_count(engine) == 5 and len(got) == 5  # every request acknowledged
    assert count(engine, Message.direction == "out", Message.status != "sent") == 0
    # at least once: the batch in flight at the crash was sent again
    assert sum(got.values()) <= 5 + first


def test_sigterm_mid_run_loses_nothing(
    imap_config, store_engine, tmp_path, mail_user, smtp_sink, make_message, env,  # type: ignore[no-untyped-def]
    offset: float
) -> None:
    config = imap_config(tmp_path, mail_user, smtp_sink)
    mail_user.dovecot.fill_fast(mail_user.name, letters(make_message, 300))
    engine = store_engine(config)
    daemon = run_cli(config, env, offset)
    wait_until(lambda: count(engine, Message.direction == "in") > 0, what="intake to start")
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=120) == 0, log_of(config)
    again = run_cli(config, env, offset, "--once")
    assert again.wait(timeout=400) == 0, log_of(config)
    assert request_count(engine) == 300
    assert mail_user.dovecot.count(mail_user.name, "INBOX") == 0
    got = acks(smtp_sink)
    assert len(got) == 300 and set(got.values()) == {1}


def test_imap_server_lost_and_back(
    imap_config, tmp_path, fresh_dovecot, smtp_sink, make_message, monkeypatch, secret_env, running  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", fresh_dovecot.password)
    dovecot = fresh_dovecot.dovecot
    all_letters = letters(make_message, 4)
    dovecot.append(fresh_dovecot.name, "INBOX", all_letters[:2])
    running(build_daemon(load_config(imap_config(tmp_path, fresh_dovecot, smtp_sink)),
                         clock=daemon_clock()))
    wait_until(lambda: sum(acks(smtp_sink).values()) == 2, what="first two")
    dovecot.kill()
    time.sleep(2)
    dovecot.start()
    dovecot.append(fresh_dovecot.name, "INBOX", all_letters[2:])
    wait_until(lambda: sum(acks(smtp_sink).values()) == 4, timeout=120, what="after restart")
    assert set(acks(smtp_sink).values()) == {1}


def test_smtp_server_down_then_back(
    imap_config, tmp_path, mail_user, smtp_sink, make_message, env, running  # type: ignore[no-untyped-def]
) -> None:
    smtp_sink.down()
    mail_user.dovecot.append(mail_user.name, "INBOX", letters(make_message, 3))
    daemon = running(build_daemon(load_config(imap_config(tmp_path, mail_user, smtp_sink)),
                                  clock=daemon_clock()))
    engine = daemon.rt.engine
    wait_until(lambda: request_count(engine) == 3, what="registration while SMTP is down")
    wait_until(lambda: count(engine, Message.direction == "out", Message.attempts > 0) > 0,
               what="a failed delivery attempt")
    assert smtp_sink.messages == []
    smtp_sink.up()
    wait_until(lambda: sum(acks(smtp_sink).values()) == 3, timeout=120, what="delivery")
    assert set(acks(smtp_sink).values()) == {1}
