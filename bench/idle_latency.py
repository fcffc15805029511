"""Push latency with IMAP IDLE: from the APPEND of one letter to its acknowledgment queued.

The daemon runs in a thread against a loopback Dovecot (IDLE on, file outbox); letters are
appended one at a time and the store is polled for the acknowledgment row.

    .venv/bin/python bench/idle_latency.py [--count 50] [--store sqlite|postgresql://...]

Prints p50, p95 and max in milliseconds. Target: p95 < 1 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import imap_tools.idle  # noqa: F401  # registers IDLE with imaplib for the bare baseline
from common import progress, write_config
from sqlalchemy.engine import Engine

from buhdesk.config import load_config
from buhdesk.service.main import build_daemon
from harness import Dovecot


@dataclass(frozen=True)
class Latency:
    what: str
    samples: list[float]

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def line(self) -> str:
        return (f"{self.what} ({len(self.samples)} letters): "
                f"p50 {self.quantile(0.5) * 1000:.0f} ms, p95 {self.quantile(0.95) * 1000:.0f} ms,"
                f" max {max(self.samples) * 1000:.0f} ms, mean "
                f"{statistics.fmean(self.samples) * 1000:.0f} ms")


def letter(n: int) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Сотрудник {n} <latency{n}@culture.example>"
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = f"Справка 2-НДФЛ ({n})"
    msg["Message-ID"] = f"<idle-bench-{n}-{time.time_ns()}@culture.example>"
    msg.set_content(f"Добрый день!\n\nПрошу подготовить справку 2-НДФЛ за 2025 год.\n\n"
                    f"С уважением,\nСотрудник {n}\n")
    return msg.as_bytes()


def wait_for(engine: Engine, target: int, timeout: float = 30.0) -> tuple[float, float]:
    """When the ``target``-th letter was stored and when its acknowledgment was queued."""
    start = time.perf_counter()
    stored = 0.0
    while True:
        taken, acks = progress(engine)
        now = time.perf_counter()
        if taken >= target and not stored:
            stored = now
        if acks >= target:
            return stored or now, now
        if now - start > timeout:
            raise TimeoutError(f"no acknowledgment {target} after {timeout} s")
        time.sleep(0.003)


def bare_idle(dovecot: Dovecot, count: int) -> Latency:
    """The server's share: APPEND → the untagged EXISTS on a bare imaplib IDLE connection."""
    dovecot.add_user("bare", "pw")
    client = dovecot.connect("bare")
    client.select("INBOX")
    samples = []
    for n in range(count):
        tag = client._command("IDLE")  # type: ignore[attr-defined]
        client._get_response()  # type: ignore[attr-defined]  # "+ idling"
        time.sleep(0.3)
        start = time.perf_counter()
        dovecot.append("bare", "INBOX", [letter(n)])
        while b"EXISTS" not in client._get_line():  # type: ignore[attr-defined]
            pass
        samples.append(time.perf_counter() - start)
        client.send(b"DONE\r\n")
        client._command_complete("IDLE", tag)  # type: ignore[attr-defined]
    client.logout()
    return Latency("baseline, bare IDLE: APPEND → EXISTS", samples)


def measure(dovecot: Dovecot, work: Path, count: int,
            store: str | None) -> tuple[Latency, Latency]:
    """Start the daemon in a thread, then append ``count`` letters one by one."""
    os.environ.setdefault("BUHDESK_SECRET", secrets.token_hex(32))
    os.environ["BENCH_IMAP_PASSWORD"] = "pw"
    dovecot.add_user("idle", "pw")
    daemon = build_daemon(load_config(write_config(work, dovecot, "idle", store)))
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        dovecot.append("idle", "INBOX", [letter(-1)])  # warm-up: connect, IDLE, first route
        wait_for(daemon.rt.engine, 1, timeout=60)
        to_store, to_ack = [], []
        for n in range(count):
            time.sleep(0.3)  # let the daemon settle back into IDLE
            start = time.perf_counter()
            dovecot.append("idle", "INBOX", [letter(n)])
            stored, acked = wait_for(daemon.rt.engine, n + 2)
            to_store.append(stored - start)
            to_ack.append(acked - start)
        return (Latency("IDLE push, APPEND → letter stored", to_store),
                Latency("IDLE push, APPEND → acknowledgment queued", to_ack))
    finally:
        daemon.stop()
        thread.join(timeout=60)
        daemon.rt.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--store", help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    with Dovecot() as dovecot, tempfile.TemporaryDirectory() as tmp:
        print(bare_idle(dovecot, min(args.count, 20)).line())
        for latency in measure(dovecot, Path(tmp), args.count, args.store):
            print(latency.line())


if __name__ == "__main__":
    main()
