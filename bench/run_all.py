"""Run every benchmark in one go and print their figures, against Dovecot and an SMTP sink on
loopback (started by the scripts themselves):

(a) intake rate next to bare UID FETCH and fetch+parse (intake.py), (b) IDLE push latency
(idle_latency.py), (c) delivery rate (delivery.py), (d) text-check words per second
(textcheck.py), (e) peak memory over 10,000 letters with a 25 MB attachment (memory.py),
(f) intake on PostgreSQL with 1 and 3 instances (instances.py), disk per letter (storage.py).

    .venv/bin/python bench/run_all.py [--quick] [--skip memory instances ...]

Each script runs as its own process (so one's memory or environment never colours another);
the figures go into docs/performance.md by hand, with the machine line.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = {
    "intake": ["intake.py", "--count", "2000"],
    "idle_latency": ["idle_latency.py", "--count", "50"],
    "delivery": ["delivery.py", "--count", "1000"],
    "textcheck": ["textcheck.py"],
    "memory": ["memory.py", "--count", "10000"],
    "instances": ["instances.py", "--count", "1000", "--instances", "1", "3"],
    "storage": ["storage.py", "--letters", "500"],
}
QUICK = {
    "intake": ["intake.py", "--count", "300"],
    "idle_latency": ["idle_latency.py", "--count", "10"],
    "delivery": ["delivery.py", "--count", "200"],
    "textcheck": ["textcheck.py", "--rounds", "2"],
    "memory": ["memory.py", "--count", "500"],
    "instances": ["instances.py", "--count", "300", "--instances", "1", "3"],
    "storage": ["storage.py", "--letters", "100"],
}


def run(name: str, args: list[str]) -> tuple[bool, list[str]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], cwd=HERE,
                          capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0:
        lines.append(f"FAILED (exit {done.returncode}): {done.stderr.strip()[-600:]}")
    lines.append(f"({name}: {time.perf_counter() - started:.0f} s)")
    return done.returncode == 0, lines


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    ap.add_argument("--skip", nargs="*", default=[], choices=sorted(FULL))
    args = ap.parse_args()
    plan = QUICK if args.quick else FULL
    ok = True
    for name, command in plan.items():
        if name in args.skip:
            continue
        print(f"== {name}: {' '.join(command)}", flush=True)
        passed, lines = run(name, command)
        ok &= passed
        print("\n".join(f"   {line}" for line in lines), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
