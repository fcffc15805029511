"""Benchmark of the offline text check: load time and words per second over the evaluation set.

    .venv/bin/python bench/textcheck.py [--rounds N]

Targets: load < 2 s, >= 20,000 words/s once loaded. Reported separately: the clean answers and
the seeded ones (about 2 % misspelled words, each needing suggestions), each on a freshly loaded
checker (cold look-up caches), and then warm passes over all texts.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from buhdesk.textcheck import TextChecker

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "corpus" / "answers"
WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def _texts(kind: str) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((CORPUS / kind).glob("*.txt"))]


def _words(texts: list[str]) -> int:
    return sum(len(WORD.findall(t)) for t in texts)


def _names() -> list[str]:
    lines = (CORPUS / "names.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _pass(checker: TextChecker, texts: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    findings = sum(len(checker.check(text)) for text in texts)
    return time.perf_counter() - started, findings


def _cold(kind: str) -> str:
    texts = _texts(kind)
    checker = TextChecker.load(REPO / "rules").with_names(_names())
    elapsed, findings = _pass(checker, texts)
    return (f"{kind} answers, cold: {len(texts)} texts, {_words(texts)} words, {findings} findings, "
            f"{_words(texts) / elapsed:,.0f} words/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="warm passes over the texts")
    args = parser.parse_args()

    started = time.perf_counter()
    checker = TextChecker.load(REPO / "rules")
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    checker = checker.with_names(_names())
    named = time.perf_counter() - started
    print(f"load (glossary, style, dictionaries): {loaded:.3f} s")
    print(f"with_names ({len(_names())} people): {named * 1000:.1f} ms")
    print(_cold("clean"))
    print(_cold("seeded"))
    texts = _texts("clean") + _texts("seeded")
    _pass(checker, texts)
    warm = min(_pass(checker, texts)[0] for _ in range(args.rounds))
    print(f"all answers, warm caches, best of {args.rounds}: {_words(texts) / warm:,.0f} words/s")


if __name__ == "__main__":
    main()
