"""Hostile input at scale, through the real mail path (Dovecot on loopback → buhdesk → aiosmtpd):
a 25 MB attachment is stored whole and acknowledged; a mailbox of 2,000 letters is worked
through by ``buhdesk run --once`` without a crash and with bounded memory (peak RSS read from
``/proc/<pid>/status``; the 10,000-letter figure is in bench/memory.py).
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from support import (
    acks,
    clock_offset,
    daemon_clock,
    daemon_command,
    imap_section,
    letter,
    smtp_section,
    wait_until,
)

from buhdesk.config import load_config
from buhdesk.service.main import build_daemon
from buhdesk.store.models import Attachment, Message, Request
from harness.loopback import SmtpSink

pytestmark = pytest.mark.integration

BIG = 25 * 1024 * 1024
RSS_LIMIT_MB = 300


@pytest.fixture
def config(tmp_path: Path, mail_user, smtp_sink, make_config, store_url: str,  # type: ignore[no-untyped-def]
           secret_env: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    source, outbox = imap_section(mail_user), smtp_section(smtp_sink, retry_base=0.5, max_attempts=60)
    return make_config(tmp_path, source, outbox=outbox, store=store_url)


def test_a_25_mb_attachment_is_stored_whole_and_acknowledged(
    config: Path, mail_user, smtp_sink: SmtpSink, running  # type: ignore[no-untyped-def]
) -> None:
    payload = random.Random(25).randbytes(BIG)
    mail_user.dovecot.fill_fast(mail_user.name, [
        letter(0), letter(1, attachment=payload, name="сканы-2025.pdf"), letter(2)])
    daemon = running(build_daemon(load_config(config), clock=daemon_clock()))
    wait_until(lambda: len(acks(smtp_sink)) == 3, 120, "three acknowledgments")
    wait_until(lambda: mail_user.dovecot.count(mail_user.name, "INBOX") == 0, 30,
               "an empty INBOX")
    with Session(daemon.rt.engine) as s:
        stored = s.execute(select(Attachment).where(Attachment.size == BIG)).scalars().all()
    assert len(stored) == 1 and not stored[0].purged
    assert stored[0].filename == "сканы-2025.pdf"
    assert stored[0].sha256 == hashlib.sha256(payload).hexdigest()
    assert daemon.rt.blobs.get(stored[0].sha256) == payload
    assert set(acks(smtp_sink).values()) == {1}


def vmhwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@pytest.mark.slow
def test_a_mailbox_of_2000_letters_in_one_run_with_bounded_memory(
    config: Path, store_engine, mail_user  # type: ignore[no-untyped-def]
) -> None:
    count = 2000
    rnd = random.Random(2000)
    mail_user.dovecot.fill_fast(mail_user.name, [
        letter(n, attachment=rnd.randbytes(60_000) if n % 10 == 0 else b"")
        for n in range(count)])
    with open(config.parent / "daemon.log", "ab") as log:
        proc = subprocess.Popen(daemon_command(config, clock_offset(), "--once"),
                                env=dict(os.environ),
                                stdout=subprocess.DEVNULL, stderr=log)
    peak, started = 0.0, time.monotonic()
    while proc.poll() is None and time.monotonic() - started < 600:
        peak = max(peak, vmhwm_mb(proc.pid))
        time.sleep(0.05)
    assert proc.wait(timeout=10) == 0
    seconds = time.monotonic() - started
    print(f"\n{count} letters in one run --once: peak RSS (VmHWM) {peak:.0f} MB, {seconds:.0f} s")
    with Session(store_engine(config)) as s:
        requests = s.execute(select(func.count()).select_from(Request)).scalar_one()
        acks_queued = s.execute(select(func.count()).select_from(Message).where(
            Message.direction == "out", Message.kind == "ack")).scalar_one()
    assert requests == count and acks_queued == count
    assert mail_user.dovecot.count(mail_user.name, "INBOX") == 0
    assert 0 < peak < RSS_LIMIT_MB
