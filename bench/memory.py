"""Peak memory of ``buhdesk run --once`` over a big mailbox, one letter with a 25 MB attachment.

The mailbox is filled with the intake benchmark's letters (one in ten with a 60 kB PDF) and one
letter carrying 25 MB; the daemon runs as its own process and its peak resident set is read from
``/proc/<pid>/status`` (VmHWM) while it runs, and from ``wait4`` when it exits. The daemon is
started by a small launcher process: Linux counts the memory of the process that execs into
``ru_maxrss``, and this script holds the whole corpus.

    .venv/bin/python bench/memory.py [--count 10000] [--store sqlite|postgresql://...]

Target: peak RSS < 250 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from common import write_config
from intake import corpus
from sqlalchemy import func, select
from sqlmodel import Session

from buhdesk.store.models import Attachment, Message, Request
from buhdesk.store.engine import make_engine
from harness import Dovecot

BIG = 25 * 1024 * 1024


@dataclass(frozen=True)
class Peak:
    seconds: float
    vmhwm_kb: int
    maxrss_kb: int
    exit_code: int


def big_letter(size: int) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Сотрудник <big@culture.example>"
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = "Скан первичных документов за год"
    msg["Message-ID"] = "<memory-bench-big@culture.example>"
    msg.set_content("Добрый день!\n\nВо вложении сканы первичных документов за 2025 год.\n")
    msg.add_attachment(random.Random(25).randbytes(size), maintype="application",
                       subtype="pdf", filename="сканы-2025.pdf")
    return msg.as_bytes()


def vmhwm_kb(pid: int) -> int:
    """The process's peak resident set so far (kB), or 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# Starts the command, prints its pid, waits for it and prints its exit code and ru_maxrss (kB).
LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
print(proc.pid, flush=True)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, flush=True)
"""


def run_measured(args: list[str], env: dict[str, str], log: Path, timeout: float) -> Peak:
    """Run a command; sample VmHWM while it runs and take ru_maxrss from wait4 at the end."""
    start = time.perf_counter()
    with open(log, "ab") as err:
        launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, *args], env=env,
                                    stdout=subprocess.PIPE, stderr=err, text=True)
    assert launcher.stdout is not None
    line = launcher.stdout.readline()
    if not line:
        raise RuntimeError(f"{args} did not start (exit {launcher.wait()}); see {log}")
    pid = int(line)
    peak = 0
    while launcher.poll() is None:
        peak = max(peak, vmhwm_kb(pid))
        if time.perf_counter() - start > timeout:
            os.kill(pid, 9)
            launcher.wait()
            raise TimeoutError(f"{args} did not finish in {timeout} s")
        time.sleep(0.05)
    exit_code, maxrss = map(int, launcher.stdout.read().split())
    return Peak(time.perf_counter() - start, peak, maxrss, exit_code)


def stored(url: str) -> tuple[int, int, int]:
    """Requests registered, letters held, and the size of the biggest attachment kept."""
    engine = make_engine(url)
    with Session(engine) as s:
        requests = s.execute(select(func.count()).select_from(Request)).scalar_one()
        held = s.execute(select(func.count()).select_from(Message).where(
            Message.direction == "in", Message.status == "held")).scalar_one()
        biggest = s.execute(select(func.max(Attachment.size)).where(
            Attachment.purged.is_(False))).scalar() or 0  # type: ignore[attr-defined]
    engine.dispose()
    return requests, held, biggest


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 2**10:.0f} kB"


def measure(dovecot: Dovecot, work: Path, count: int, store: str | None,
            big: int = BIG) -> str:
    dovecot.add_user("mem", "pw")
    letters = corpus(count)
    dovecot.fill_fast("mem", [*letters, big_letter(big)])
    size = (sum(map(len, letters)) + big * 4 / 3) / 1e6
    cfg = write_config(work, dovecot, "mem", store)
    env = {**os.environ, "BENCH_IMAP_PASSWORD": "pw",
           "BUHDESK_SECRET": os.environ.get("BUHDESK_SECRET", secrets.token_hex(32))}
    peak = run_measured([sys.executable, "-m", "buhdesk.cli.command", "--config", str(cfg), "run",
                         "--once"], env, work / "daemon.log", timeout=3600)
    requests, held, biggest = stored(store or f"sqlite:///{work}/bench.db")
    return (f"peak memory, run --once over {count + 1} letters ({size:.0f} MB, one with a "
            f"{_size(big)} attachment): VmHWM {peak.vmhwm_kb / 1024:.0f} MB, ru_maxrss "
            f"{peak.maxrss_kb / 1024:.0f} MB; exit {peak.exit_code}, {peak.seconds:.0f} s "
            f"({(count + 1) / peak.seconds:.0f} msg/s); {requests} requests, {held} held, "
            f"biggest attachment kept {biggest / 2**20:.1f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--store", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--big-mb", type=float, default=BIG / 2**20, help="the big attachment, MB")
    args = ap.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    with Dovecot() as dovecot, tempfile.TemporaryDirectory() as tmp:
        print(measure(dovecot, Path(tmp), args.count, args.store,
                          int(args.big_mb * 2**20)))


if __name__ == "__main__":
    main()
