"""Prints how many corpus messages per second parse_message handles (the corpus, repeated).

Run: ``.venv/bin/python tests/corpus/mail/bench_parse.py [ROUNDS]``. Belongs in bench/ once that
folder has an owner; kept beside the corpus it reads.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from buhdesk.automated import detect_automated
from buhdesk.mime import parse_message

SKIP = {"too_many_parts", "very_long_line"}  # not typical mail; reported separately


def rate(messages: list[bytes], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for raw in messages:
            detect_automated(parse_message(raw))
    return rounds * len(messages) / (time.perf_counter() - start)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    files = sorted(Path(__file__).parent.glob("*.eml"))
    typical = [p.read_bytes() for p in files if p.stem not in SKIP]
    heavy = [p.read_bytes() for p in files if p.stem in SKIP]
    print(f"typical: {len(typical)} messages x {rounds}: {rate(typical, rounds):.0f} msg/s")
    print(f"heavy:   {len(heavy)} messages x {rounds}: {rate(heavy, rounds):.0f} msg/s")


if __name__ == "__main__":
    main()
