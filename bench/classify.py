"""Benchmark: rule loading time and classification throughput over the golden corpus.

Run: .venv/bin/python bench/classify.py
"""

from __future__ import annotations

import time
from pathlib import Path

from buhdesk.rules.classify import Letter
from buhdesk.rules.ruleset import load_ruleset

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 20


def read_letters() -> list[Letter]:
    letters = []
    for path in sorted((ROOT / "tests" / "corpus" / "requests").glob("*.txt")):
        head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        fields = dict(line.partition(":")[::2] for line in head.splitlines())
        letters.append(Letter(fields.get("Subject", "").strip(), body, fields.get("From", "")))
    return letters


def main() -> None:
    started = time.perf_counter()
    ruleset = load_ruleset(ROOT / "rules")
    loaded = time.perf_counter() - started
    letters = read_letters()
    started = time.perf_counter()
    for letter in letters:  # first pass: cold lemma cache
        ruleset.classifier.classify(letter)
    cold = len(letters) / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for letter in letters:
            ruleset.classifier.classify(letter)
    warm = ROUNDS * len(letters) / (time.perf_counter() - started)
    print(f"load (incl. pymorphy3): {loaded:.2f} s")
    print(f"classify, cold cache: {cold:.0f} letters/s")
    print(f"classify, warm cache: {warm:.0f} letters/s ({len(letters)} letters x {ROUNDS})")


if __name__ == "__main__":
    main()
