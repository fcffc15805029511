"""Faults injected while the daemon takes in and delivers mail: nothing is lost, nothing doubled.

* ``buhdesk run`` killed at random (seeded) moments, dozens of times: at the crash points of
  ``buhdesk.service.faults`` with random counts, or by SIGKILL after a random delay, then restarted;
* the IMAP server (Dovecot) killed while the intake runs, and started again;
* the SMTP server down for about 25 seconds while acknowledgments go out.

Each test prints the figures: letters lost, requests duplicated, acknowledgments sent twice. The
first two must be zero. Sending twice is the at-least-once window of delivery: each message is
recorded as sent as soon as the server accepts it, so one kill re-sends at most the message in
flight; the random-kill test reports the worst duplicate sends per kill and asserts it is one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import email
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from support import (
    acks,
    clock_offset,
    daemon_clock,
    daemon_command,
    imap_section,
    letter,
    scalar,
    smtp_section,
    wait_until,
)

from buhdesk.config import load_config
from buhdesk.service.main import build_daemon
from buhdesk.service.faults import POINTS
from buhdesk.store.models import Message, Request
from harness.loopback import SmtpSink

pytestmark = pytest.mark.integration

SEED = 20260924
ROUNDS = 50


@dataclass
class Figures:
    letters: int
    lost: int
    duplicated: int
    acks_twice: int

    def show(self, what: str) -> None:
        print(f"\n{what}: letters {self.letters}, lost {self.lost}, requests duplicated "
              f"{self.duplicated}, acknowledgments sent twice {self.acks_twice}")


def message_ids(sink: SmtpSink) -> list[str]:
    """The Message-ID of every message the sink accepted, in order (copies included)."""
    return [str(email.message_from_bytes(m.data)["Message-ID"]) for m in sink.messages]


def duplicates_per_run(sent: list[str], ends: list[int]) -> Counter[int]:
    """Extra copies charged to the runs that caused them. ``sent`` lists the Message-IDs the
    sink accepted, in order; run ``r`` sent ``sent[ends[r - 1]:ends[r]]``. A message comes again
    only when the run that sent its previous copy was killed after the server accepted it and
    before it was recorded: each copy after the first is charged to that run."""
    extra: Counter[int] = Counter()
    last_run: dict[str, int] = {}
    run = 0
    for index, mid in enumerate(sent):
        while index >= ends[run]:
            run += 1
        if mid in last_run:
            extra[last_run[mid]] += 1
        last_run[mid] = run
    return extra


def settle(engine: Engine, user, sink: SmtpSink, letters: int,  # type: ignore[no-untyped-def]
           timeout: float = 150) -> Figures:
    """Wait until every letter is acknowledged and moved away, then count what went wrong."""
    requests = select(func.count()).select_from(Request)
    wait_until(lambda: len(acks(sink)) >= scalar(engine, requests) >= letters, timeout,
               "every letter registered and acknowledged")
    wait_until(lambda: user.dovecot.count(user.name, "INBOX") == 0, 60, "an empty INBOX")
    unsent = select(func.count()).select_from(Message).where(
        Message.direction == "out", Message.kind == "ack", Message.status != "sent")
    wait_until(lambda: scalar(engine, unsent) == 0, 60, "every acknowledgment recorded as sent")
    clients = select(func.count(func.distinct(Request.client_email)))
    registered = scalar(engine, clients)
    got = acks(sink)
    return Figures(letters=letters, lost=letters - registered,
                   duplicated=scalar(engine, requests) - registered,
                   acks_twice=sum(c - 1 for c in got.values()))


@pytest.fixture
def setup(tmp_path: Path, mail_user, smtp_sink, make_config, store_url: str,  # type: ignore[no-untyped-def]
          secret_env: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    source, outbox = imap_section(mail_user), smtp_section(smtp_sink, retry_base=0.5, max_attempts=60)
    return make_config(tmp_path, source, outbox=outbox, store=store_url)


class Runs:
    """``buhdesk run`` started again and again, all logging to one file."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.log = config.parent / "daemon.log"
        self.offset = clock_offset()  # every run lives on the same working morning

    def start(self, **extra: str) -> subprocess.Popen[bytes]:
        with open(self.log, "ab") as log:
            return subprocess.Popen(daemon_command(self.config, self.offset),
                                    env={**os.environ, **extra},
                                    stdout=subprocess.DEVNULL, stderr=log)

    def text(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


def one_round(runs: Runs, rng: random.Random) -> str:
    """Start the daemon and let it die: at a random crash point, or by SIGKILL at a random time."""
    if rng.random() < 0.6:
        spec = f"{rng.choice(POINTS)}:{rng.randint(1, 2)}"
        proc = runs.start(BUHDESK_CRASH_AT=spec)
        try:
            code = proc.wait(timeout=rng.uniform(5.0, 8.0))
            return f"{spec}->{code}"
        except subprocess.TimeoutExpired:  # the point was not reached in time: kill it anyway
            proc.kill()
            proc.wait()
            return f"{spec}->killed"
    proc = runs.start()
    time.sleep(rng.uniform(0.5, 6.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return "sigkill"


@pytest.mark.slow
def test_random_kills_while_taking_in_and_delivering_lose_and_double_nothing(
    setup: Path, store_engine, mail_user, smtp_sink: SmtpSink  # type: ignore[no-untyped-def]
) -> None:
    rng = random.Random(SEED)
    total = 120
    mail_user.dovecot.fill_fast(mail_user.name, [letter(n) for n in range(total)])
    runs = Runs(setup)
    outcomes: Counter[str] = Counter()
    ends: list[int] = []  # how many messages the sink had accepted when each round ended

    for _ in range(ROUNDS):
        new = rng.randint(2, 12)  # fresh work every round, so the crash points are reached
        mail_user.dovecot.append(mail_user.name, "INBOX",
                                 [letter(n) for n in range(total, total + new)])
        total += new
        outcomes[one_round(runs, rng).split("->")[-1]] += 1
        time.sleep(0.2)  # the sink has stored what the dead run's last DATA carried
        ends.append(len(smtp_sink.messages))
    crashed = runs.text().count("fault injection: crashing at")
    engine = store_engine(setup)  # migrated before the last run starts
    final = runs.start()
    try:
        figures = settle(engine, mail_user, smtp_sink, total)
    finally:
        final.send_signal(signal.SIGTERM)
        # 0, or ended by the signal itself when it came while Python was still importing
        # (everything was already settled; systemd counts SIGTERM as a clean stop too)
        assert final.wait(timeout=60) in (0, -signal.SIGTERM), runs.text()[-3000:]
    sent = message_ids(smtp_sink)
    per_kill = duplicates_per_run(sent, [*ends, len(sent)])  # the last run was not killed
    worst = max(per_kill[run] for run in range(ROUNDS))
    figures.show(f"{ROUNDS} random kills ({crashed} at crash points; exits {dict(outcomes)})")
    print(f"rounds {ROUNDS}, lost {figures.lost}, duplicated registrations {figures.duplicated}, "
          f"messages sent {len(sent)} ({len(set(sent))} distinct), duplicate sends "
          f"{len(sent) - len(set(sent))}, worst duplicate sends per kill {worst}, "
          f"kills with a duplicate {sum(1 for run in range(ROUNDS) if per_kill[run])}")
    assert crashed >= 3, "the crash points were reached (the rest of the rounds were SIGKILLs)"
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert mail_user.dovecot.count(mail_user.name, "Processed") == total
    assert per_kill[ROUNDS] == 0, "the run that was not killed sent nothing twice"
    assert worst <= 1, f"one kill re-sent {worst} messages; at most the one in flight may go twice"


@pytest.mark.slow
def test_imap_server_killed_mid_intake_and_restarted(
    tmp_path: Path, fresh_dovecot, smtp_sink: SmtpSink, make_config,  # type: ignore[no-untyped-def]
    store_url: str, secret_env: str, monkeypatch: pytest.MonkeyPatch, running  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", fresh_dovecot.password)
    source, outbox = imap_section(fresh_dovecot), smtp_section(smtp_sink, retry_base=0.5, max_attempts=60)
    config = make_config(tmp_path, source, outbox=outbox, store=store_url)
    server, total = fresh_dovecot.dovecot, 400
    # 100 kB attachments make each batch of 100 a 13 MB fetch, so the kill lands during one
    server.fill_fast(fresh_dovecot.name, [letter(n, attachment=random.Random(n).randbytes(100_000))
                                            for n in range(total)])
    daemon = running(build_daemon(load_config(config), clock=daemon_clock()))
    engine = daemon.rt.engine
    incoming = select(func.count()).select_from(Message).where(Message.direction == "in")
    wait_until(lambda: scalar(engine, incoming) >= 100, 60, "the first batch taken in")
    server.kill()
    stored_at_kill = scalar(engine, incoming)
    time.sleep(3)
    server.start()
    figures = settle(engine, fresh_dovecot, smtp_sink, total)
    figures.show(f"Dovecot killed after {stored_at_kill} letters stored, back after 3 s")
    assert stored_at_kill < total, "the server went away while letters were still waiting"
    assert figures.lost == 0 and figures.duplicated == 0
    assert figures.acks_twice == 0  # delivery was not disturbed
    assert server.count(fresh_dovecot.name, "Processed") == total


@pytest.mark.slow
def test_smtp_server_down_for_25_seconds(
    setup: Path, mail_user, smtp_sink: SmtpSink, running  # type: ignore[no-untyped-def]
) -> None:
    total = 150
    mail_user.dovecot.fill_fast(mail_user.name, [letter(n) for n in range(total)])
    daemon = running(build_daemon(load_config(setup), clock=daemon_clock()))
    engine = daemon.rt.engine
    wait_until(lambda: len(acks(smtp_sink)) >= 10, 60, "the first acknowledgments")
    smtp_sink.down()
    before = len(smtp_sink.messages)
    time.sleep(25)
    assert len(smtp_sink.messages) == before
    retried = select(func.count()).select_from(Message).where(
        Message.direction == "out", Message.status == "pending", Message.attempts > 1)
    waiting = scalar(engine, retried)
    smtp_sink.up()
    figures = settle(engine, mail_user, smtp_sink, total)
    figures.show(f"SMTP down 25 s ({before} letters sent before, {waiting} outgoing letters being retried)")
    assert waiting > 0, "letters were retried while the server was down"
    assert figures.lost == 0 and figures.duplicated == 0
    held = select(func.count()).select_from(Message).where(
        Message.direction == "out", Message.status == "held")
    assert scalar(engine, held) == 0
