"""Several ``buhdesk run`` instances on one PostgreSQL database share one mailbox safely.

Three daemons (separate processes) work a Dovecot mailbox of 1,000 letters; the one that holds the
mailbox's lease is killed with SIGKILL midway. Every letter must still become exactly one request
with one acknowledgment; only the delivery batch in flight at the kill may be sent twice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from support import (
    acks,
    clock_offset,
    daemon_command,
    imap_section,
    letter,
    scalar,
    smtp_section,
    wait_until,
)

from buhdesk.config import load_config
from buhdesk.intake.leases import LeaseKeeper, new_holder_id
from buhdesk.store.models import Lease, Message, Request
from buhdesk.store.engine import open_store
from harness.loopback import SmtpSink

pytestmark = pytest.mark.integration

LETTERS = 1000
OUTBOX_BATCH = 50


class Instances:
    """``buhdesk run`` processes, each with its own log file."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.config, self.env = config, env
        self.offset = clock_offset()  # every instance lives on the same working morning
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.procs)
        with open(self.config.parent / f"daemon{n}.log", "ab") as log:
            proc = subprocess.Popen(daemon_command(self.config, self.offset), env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=log)
        self.procs[n] = proc
        return proc

    def log(self, n: int) -> str:
        return (self.config.parent / f"daemon{n}.log").read_text("utf-8", errors="replace")

    def index_of(self, pid: int) -> int:
        return next(n for n, p in self.procs.items() if p.pid == pid)

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def instances(tmp_path: Path, mail_user, smtp_sink, make_config, store_url,  # type: ignore[no-untyped-def]
              secret_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Instances]:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    source, outbox = imap_section(mail_user), smtp_section(smtp_sink, batch=OUTBOX_BATCH, lease=3)
    config = make_config(tmp_path, source, outbox=outbox, store=store_url)
    group = Instances(config, {**os.environ, "BUHDESK_LEASE_TTL": "10"})
    yield group
    group.stop_all()


def fetcher_pid(engine: Engine) -> int | None:
    with Session(engine) as s:
        holder = s.execute(select(Lease.holder).where(Lease.name == "source:minfin")).scalar()
    return int(holder.split(":")[-2]) if holder else None


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_three_instances_share_a_mailbox_and_survive_a_kill(
    instances: Instances, mail_user, smtp_sink: SmtpSink, store_url: str  # type: ignore[no-untyped-def]
) -> None:
    mail_user.dovecot.fill_fast(mail_user.name, [letter(n) for n in range(LETTERS)])
    engine = open_store(load_config(instances.config).store.url)
    for _ in range(3):
        instances.start()
    requests = select(func.count()).select_from(Request)
    wait_until(lambda: scalar(engine, requests) >= LETTERS * 3 // 10, 120, "30 % registered")
    victim = fetcher_pid(engine)
    assert victim is not None, "some instance holds the mailbox's lease while fetching"
    killed = instances.index_of(victim)
    os.kill(victim, signal.SIGKILL)
    instances.procs[killed].wait(timeout=10)
    at_kill = scalar(engine, requests)

    wait_until(lambda: len(acks(smtp_sink)) >= LETTERS, 150, f"{LETTERS} acknowledgments")
    wait_until(lambda: mail_user.dovecot.count(mail_user.name, "INBOX") == 0, 30, "empty INBOX")
    instances.stop_all()
    survivors = [n for n in instances.procs if n != killed]
    for n in survivors:
        assert instances.procs[n].returncode == 0, instances.log(n)

    got = acks(smtp_sink)
    doubled = sum(c - 1 for c in got.values())
    logs = {n: instances.log(n) for n in instances.procs}
    registered = {n: text.count(" registered as ") for n, text in logs.items()}
    refetched = sum(text.count("already stored") for text in logs.values())
    print(f"\nscale: {LETTERS} letters, 3 instances, fetcher #{killed} killed at "
          f"{at_kill} requests; registered per instance {registered}; "
          f"re-fetched after the kill {refetched}; acknowledgments sent twice {doubled}")
    assert scalar(engine, requests) == LETTERS
    incoming = select(func.count(func.distinct(Message.source_key))).where(
        Message.direction == "in")
    assert scalar(engine, incoming) == LETTERS
    assert mail_user.dovecot.count(mail_user.name, "Processed") == LETTERS
    assert len(got) == LETTERS  # every request acknowledged
    assert doubled <= OUTBOX_BATCH  # only the batch in flight at the kill, at most
    # the mailbox was fetched by one instance at a time: at most the one batch that was
    # committed but not yet acknowledged at the kill came again
    assert refetched <= 100
    assert all("UniqueViolation" not in text for text in logs.values())
    # another instance took the mailbox over after the kill
    assert any("took over" in logs[n] or "acquired source:minfin" in logs[n] for n in survivors)
    engine.dispose()


# --- the lease itself, on SQLite and PostgreSQL -------------------------------------------------

def test_a_lease_has_one_holder_until_it_expires_or_is_released(store_url: str) -> None:
    engine = open_store(store_url)
    clock = [datetime(2026, 11, 24, 9, 0, tzinfo=UTC)]
    first = LeaseKeeper(engine, "host-a:1:aa", ttl=30, clock=lambda: clock[0])
    second = LeaseKeeper(engine, "host-b:1:bb", ttl=30, clock=lambda: clock[0])
    assert first.try_acquire("source:minfin")
    assert not second.try_acquire("source:minfin")
    clock[0] += timedelta(seconds=20)
    assert first.renew("source:minfin")  # renewed: good for 30 s more
    clock[0] += timedelta(seconds=20)
    assert not second.try_acquire("source:minfin")
    clock[0] += timedelta(seconds=11)  # the holder stopped renewing: expired
    assert second.try_acquire("source:minfin")
    assert not first.renew("source:minfin") and not first.try_acquire("source:minfin")
    second.release("source:minfin")
    assert first.try_acquire("source:minfin")
    engine.dispose()


def test_a_lease_of_a_dead_process_on_this_host_is_taken_at_once(store_url: str) -> None:
    engine = open_store(store_url)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    LeaseKeeper(engine, f"{socket.gethostname()}:{dead}:00", ttl=300).try_acquire("s")
    LeaseKeeper(engine, f"elsewhere:{dead}:00", ttl=300).try_acquire("t")
    me = LeaseKeeper(engine, new_holder_id(), ttl=300)
    assert me.try_acquire("s")  # its process is gone: no need to wait five minutes
    assert not me.try_acquire("t")  # on another host: only expiry tells
    engine.dispose()
