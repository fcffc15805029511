"""Peak memory of ``buhdesk run --once`` over a big mailbox, one letter with a 25 MB attachment.

The mailbox is filled with the intake benchmark's letters (one in ten with a 60 kB PDF) and one
letter carrying 25 MB; the daemon runs as its own process and its peak resident set is read from
``/proc/<pid>/status`` (VmHWM) while it runs, and from ``wait4`` when it exits. The daemon is
started by a small launcher process: Linux counts the memory of the process that execs into
``ru_maxrss``, and this script holds the whole corpus.

    .venv/bin/python bench/memory.py [--count 10000] [--big-mb 25] [--store sqlite|postgresql://...]

The store is migrated by this script before the daemon starts, as a daemon restarting over its
store finds it (``--unmigrated``: the daemon migrates a fresh store itself, and keeps Alembic's
modules, about 8 MB, for its life). ``--big-mb 0`` leaves the big letter out (the mailbox then
holds ``--count`` letters). While the daemon runs, its resident set (RSS, and the anonymous
part, from ``smaps_rollup``) is sampled every second with the letters taken in, the
acknowledgments queued and the letters sent so far; a few points along the run are printed
(``--points``).

``--rounds K`` runs the daemon as it lives (``buhdesk run``, not ``--once``): the mailbox is
filled in K parts, each when the daemon has acknowledged and sent everything before it (the big
letter comes with the last part), and the daemon is stopped with SIGTERM at the end. Without it,
``run --once`` takes the whole mailbox in first and then routes a backlog of ``--count`` letters.

Target: peak RSS < 200 MB at any count (issue 21).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from common import write_config
from harness import Dovecot
from intake import corpus
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from buhdesk.store.engine import make_engine, open_store
from buhdesk.store.models import Attachment, Message, Request

BIG = 25 * 1024 * 1024


@dataclass(frozen=True)
class Sample:
    seconds: float
    rss_kb: int
    anon_kb: int
    taken: int
    acks: int
    sent: int


@dataclass(frozen=True)
class Peak:
    seconds: float
    vmhwm_kb: int
    maxrss_kb: int
    exit_code: int
    samples: tuple[Sample, ...] = ()


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


def rss_kb(pid: int) -> tuple[int, int]:
    """The process's resident set and its anonymous part now (kB), or zeros once it is gone."""
    rss = anon = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Anonymous:"):
                anon = int(line.split()[1])
    except OSError:
        pass
    return rss, anon


# Starts the command, prints its pid, waits for it and prints its exit code and ru_maxrss (kB).
LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
print(proc.pid, flush=True)
_, status, usage = os.wait4(proc.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, flush=True)
"""


def run_measured(args: list[str], env: dict[str, str], log: Path, timeout: float,
                 progress: Callable[[], tuple[int, int, int]] = lambda: (0, 0, 0),
                 feed: Callable[[int], None] | None = None) -> Peak:
    """Run a command; sample VmHWM while it runs and take ru_maxrss from wait4 at the end.
    Every second the resident set is noted with ``progress()`` (letters taken, acknowledgments
    queued, letters sent). ``feed(pid)``, if given, runs in a thread beside the command."""
    start = time.perf_counter()
    with open(log, "ab") as err:
        launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, *args], env=env,
                                    stdout=subprocess.PIPE, stderr=err, text=True)
    assert launcher.stdout is not None
    line = launcher.stdout.readline()
    if not line:
        raise RuntimeError(f"{args} did not start (exit {launcher.wait()}); see {log}")
    pid = int(line)
    if feed is not None:
        threading.Thread(target=feed, args=(pid,), daemon=True).start()
    peak = 0
    samples: list[Sample] = []
    next_sample = time.perf_counter()
    while launcher.poll() is None:
        peak = max(peak, vmhwm_kb(pid))
        if time.perf_counter() >= next_sample:
            next_sample += 1.0
            rss, anon = rss_kb(pid)
            try:
                counts = progress()
            except Exception:  # the store is being created or is locked for a moment
                last = samples[-1] if samples else Sample(0, 0, 0, 0, 0, 0)
                counts = last.taken, last.acks, last.sent
            if rss:
                samples.append(Sample(time.perf_counter() - start, rss, anon, *counts))
        if time.perf_counter() - start > timeout:
            os.kill(pid, 9)
            launcher.wait()
            raise TimeoutError(f"{args} did not finish in {timeout} s")
        time.sleep(0.05)
    exit_code, maxrss = map(int, launcher.stdout.read().split())
    return Peak(time.perf_counter() - start, peak, maxrss, exit_code, tuple(samples))


def _line(s: Sample) -> str:
    return (f"  {s.seconds:6.0f} s  taken {s.taken:7d}  acknowledged {s.acks:7d}  sent "
            f"{s.sent:7d}  RSS {s.rss_kb / 1024:5.0f} MB  anon {s.anon_kb / 1024:5.0f} MB")


def along(samples: tuple[Sample, ...], points: int) -> list[str]:
    """The samples where the acknowledgments queued first reach each of ``points`` even steps,
    then as many at even steps of time after the last of them, and the highest sampled."""
    if not samples:
        return []
    total = max(s.acks for s in samples)
    chosen: list[Sample] = []
    for step in range(1, points + 1):
        hit = next((s for s in samples if s.acks >= total * step / points), None)
        if hit is not None and hit not in chosen:
            chosen.append(hit)
    lines = ["by acknowledgments queued:", *map(_line, chosen)]
    rest = [s for s in samples if not chosen or s.seconds > chosen[-1].seconds]
    if rest:
        picked = sorted({rest[round(i * (len(rest) - 1) / max(1, points - 1))].seconds: None
                         for i in range(points)})
        lines += ["after the last, by time:", *(_line(s) for s in rest if s.seconds in picked)]
    top = max(samples, key=lambda s: s.rss_kb)
    lines.append(f"highest sampled:\n{_line(top)}")
    return lines


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


PROGRESS = ("SELECT count(*) FILTER (WHERE direction = 'in'), "
            "count(*) FILTER (WHERE direction = 'out' AND kind = 'ack'), "
            "count(*) FILTER (WHERE direction = 'out' AND status = 'sent') FROM messages")


def store_progress(engine: Engine) -> tuple[int, int, int]:
    """Letters taken in, acknowledgments queued, letters sent."""
    with engine.connect() as conn:
        taken, acks, sent = conn.execute(text(PROGRESS)).one()
    return int(taken), int(acks), int(sent)


def sqlite_progress(path: Path) -> tuple[int, int, int]:
    """The same read without a write lock (the store's engine begins every transaction
    IMMEDIATE, which would hold up the daemon)."""
    if not path.exists():
        return 0, 0, 0
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as db:
        taken, acks, sent = db.execute(PROGRESS).fetchone()
    return int(taken), int(acks), int(sent)


def _wait_for(done: Callable[[], bool]) -> None:
    while True:
        try:
            if done():
                return
        except Exception:  # the store is being created or is locked for a moment
            pass
        time.sleep(0.5)


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 2**10:.0f} kB"


def measure(dovecot: Dovecot, work: Path, count: int, store: str | None,
            big: int = BIG, points: int = 10, migrated: bool = True,
            cache_mb: int | None = None, rounds: int = 0) -> str:
    dovecot.add_user("mem", "pw")
    letters = corpus(count)
    if big:
        letters.append(big_letter(big))
    total = len(letters)
    size = sum(map(len, letters)) / 1e6
    parts = [letters[total * i // rounds:total * (i + 1) // rounds] for i in range(rounds)] \
        if rounds else [letters]
    del letters
    if not rounds:
        dovecot.fill_fast("mem", parts.pop())
    cfg = write_config(work, dovecot, "mem", store, poll_interval=1 if rounds else 60)
    if cache_mb is not None:
        cfg.write_text(cfg.read_text(encoding="utf-8").replace(
            "[service]\n", f"[service]\ncache_mb = {cache_mb}\n", 1), encoding="utf-8")
    env = {**os.environ, "BENCH_IMAP_PASSWORD": "pw",
           "BUHDESK_SECRET": os.environ.get("BUHDESK_SECRET", secrets.token_hex(32))}
    url = store or f"sqlite:///{work}/bench.db"
    if migrated:
        open_store(url).dispose()
    engine = make_engine(url) if store else None

    def progress() -> tuple[int, int, int]:
        return store_progress(engine) if engine else sqlite_progress(work / "bench.db")

    def feed(pid: int) -> None:
        """Each part once everything before it is acknowledged and sent; then SIGTERM."""
        given = 0
        try:
            for part in parts:
                dovecot.fill_fast("mem", part)
                given += len(part)
                _wait_for(lambda: progress()[2] >= 2 * given)
        finally:  # a failing feed stops the run instead of leaving it to the timeout
            os.kill(pid, signal.SIGTERM)

    command = [sys.executable, "-m", "buhdesk.cli.command", "--config", str(cfg), "run"]
    peak = run_measured(command if rounds else [*command, "--once"], env, work / "daemon.log",
                        timeout=4 * 3600, progress=progress, feed=feed if rounds else None)
    if engine:
        engine.dispose()
    requests, held, biggest = stored(url)
    which = f"one with a {_size(big)} attachment" if big else "no big letter"
    how = f"run in {rounds} rounds" if rounds else "run --once"
    return "\n".join([
        f"peak memory, {how} over {total} letters ({size:.0f} MB, {which}): VmHWM "
        f"{peak.vmhwm_kb / 1024:.0f} MB, ru_maxrss {peak.maxrss_kb / 1024:.0f} MB; exit "
        f"{peak.exit_code}, {peak.seconds:.0f} s ({total / peak.seconds:.0f} msg/s); "
        f"{requests} requests, {held} held, biggest attachment kept {biggest / 2**20:.1f} MB",
        "resident set along the run:", *along(peak.samples, points)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--store", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--big-mb", type=float, default=BIG / 2**20,
                    help="the big attachment, MB (0: no big letter)")
    ap.add_argument("--unmigrated", action="store_true",
                    help="let the daemon migrate the fresh store itself")
    ap.add_argument("--cache-mb", type=int, help="[service] cache_mb (default: the daemon's)")
    ap.add_argument("--points", type=int, default=10, help="points of the resident set printed")
    ap.add_argument("--rounds", type=int, default=0,
                    help="run the daemon (not --once) and fill the mailbox in this many parts")
    args = ap.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    with Dovecot() as dovecot, tempfile.TemporaryDirectory() as tmp:
        print(measure(dovecot, Path(tmp), args.count, args.store,
                      int(args.big_mb * 2**20), args.points, not args.unmigrated,
                      args.cache_mb, args.rounds), flush=True)


if __name__ == "__main__":
    main()
