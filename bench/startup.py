"""Start-up time of the `buhdesk` command: how long before a command does anything.

Runs each command several times as a fresh process (the way an administrator runs it) and
prints the fastest and the median wall time, next to a bare `python -c pass`. Targets on an
idle machine: `buhdesk --help` under 0.3 s, a one-file `textcheck` under 0.5 s.

    .venv/bin/python bench/startup.py [--runs 7]

Import costs behind a figure: `.venv/bin/python -X importtime -m buhdesk.cli.command --help`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUHDESK = Path(sys.executable).with_name("buhdesk")
TEXT = "Добрый день! Справка 2-НДФЛ готова, её можно получить в кабинете 215.\n"


def timed(argv: list[str], runs: int) -> tuple[float, float]:
    env = {**os.environ, "BUHDESK_CONFIG": "/nonexistent/buhdesk.toml"}  # the shipped rules
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    runs = ap.parse_args().runs
    command = [str(BUHDESK)] if BUHDESK.exists() else [sys.executable, "-m", "buhdesk.cli.command"]
    with tempfile.TemporaryDirectory() as tmp:
        letter = Path(tmp) / "answer.txt"
        letter.write_text(TEXT, encoding="utf-8")
        cases = [("python -c pass", [sys.executable, "-c", "pass"], None),
                 ("buhdesk --help", [*command, "--help"], 0.3),
                 ("buhdesk textcheck ONE-FILE", [*command, "textcheck", str(letter)], 0.5)]
        print(f"start-up, {runs} runs each; load average {os.getloadavg()[0]:.2f}")
        for name, argv, target in cases:
            fastest, median = timed(argv, runs)
            goal = f"  (target < {target:.1f} s on an idle machine)" if target else ""
            print(f"  {name:28} fastest {fastest:.3f} s, median {median:.3f} s{goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
