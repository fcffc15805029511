"""Intake on PostgreSQL with one and with several ``buhdesk run`` instances on one database.

One Dovecot mailbox of ``--count`` letters, a fresh PostgreSQL database per run, the daemons as
separate processes (file outbox). The rate counts from the first letter stored to the last
acknowledgment queued, so process start-up is left out.

    .venv/bin/python bench/instances.py [--count 1000] [--instances 1 3]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from common import progress, write_config
from intake import corpus

from buhdesk.store.engine import open_store
from harness import Dovecot

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def new_database(admin: str) -> str:
    name = f"buhdesk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))


def drop_database(admin: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(dovecot: Dovecot, letters: list[bytes], instances: int, admin: str) -> str:
    user = f"pg{instances}"
    dovecot.add_user(user, "pw")
    dovecot.fill_fast(user, letters)
    url = new_database(admin)
    engine = open_store(url)
    env = {**os.environ, "BENCH_IMAP_PASSWORD": "pw",
           "BUHDESK_SECRET": os.environ.get("BUHDESK_SECRET", secrets.token_hex(32))}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp), dovecot, user, url, poll_interval=1)
        procs = [subprocess.Popen([sys.executable, "-m", "buhdesk.cli.command", "--config", str(cfg),
                                   "run"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for _ in range(instances)]
        try:
            first = finish = None
            deadline = time.monotonic() + 1800
            while time.monotonic() < deadline:
                taken, acks = progress(engine)
                if taken and first is None:
                    first = time.perf_counter()
                if acks >= len(letters):
                    finish = time.perf_counter()
                    break
                time.sleep(0.05)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=120)
    engine.dispose()
    drop_database(admin, url)
    if first is None or finish is None:
        return f"PostgreSQL, {instances} instance(s): did not finish"
    rate = len(letters) / (finish - first)
    return (f"PostgreSQL intake → request + ack queued, {instances} instance(s): {rate:6.0f} "
            f"msg/s ({len(letters)} letters in {finish - first:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--instances", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--pg", default=os.environ.get("BUHDESK_TEST_PG_URL", ADMIN),
                    help="an administrative PostgreSQL URL (databases are created and dropped)")
    args = ap.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    letters = corpus(args.count)
    with Dovecot() as dovecot:
        for n in args.instances:
            print(run(dovecot, letters, n, args.pg))


if __name__ == "__main__":
    main()
