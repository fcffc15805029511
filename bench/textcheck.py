"""Benchmark of the offline text check: load time and words per second over the evaluation set.

    .venv/bin/python bench/textcheck.py [--rounds N]

Targets: load < 2 s, >= 20,000 words per CPU-second once loaded, with every rule switched on
(typography and comma switches of ``style.toml`` all true). Reported separately: the clean answers
(all parts of the corpus) and the seeded ones (about 2 % misspelled words, each needing
suggestions), each on a freshly loaded checker (cold look-up caches), and then warm passes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path

from buhdesk.textcheck import TextChecker

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "corpus" / "answers"
WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def _texts(kind: str) -> list[str]:
    paths = sorted((CORPUS / kind).glob("*.txt"))
    for part in ("tuning", "heldout"):
        paths += sorted((CORPUS / part / kind).glob("*.txt"))
    return [p.read_text(encoding="utf-8") for p in paths]


def _all_rules_on(target: Path) -> Path:
    """A copy of the shipped rules with every typography and comma rule switched on."""
    shutil.copytree(REPO / "rules", target, dirs_exist_ok=True)
    style = (target / "style.toml").read_text(encoding="utf-8")
    (target / "style.toml").write_text(re.sub(r"(?m)^(\w+) = false$", r"\1 = true", style),
                                       encoding="utf-8")
    return target


def _words(texts: list[str]) -> int:
    return sum(len(WORD.findall(t)) for t in texts)


def _names() -> list[str]:
    lines = (CORPUS / "names.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _pass(checker: TextChecker, texts: list[str]) -> tuple[float, int]:
    started = time.process_time()
    findings = sum(len(checker.check(text)) for text in texts)
    return time.process_time() - started, findings


def _cold(kind: str, rules: Path) -> str:
    texts = _texts(kind)
    checker = TextChecker.load(rules).with_names(_names())
    elapsed, findings = _pass(checker, texts)
    return (f"{kind} answers, cold: {len(texts)} texts, {_words(texts)} words, "
            f"{findings} findings, "
            f"{_words(texts) / elapsed:,.0f} words per CPU-second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="warm passes over the texts")
    args = parser.parse_args()

    rules = _all_rules_on(Path(tempfile.mkdtemp(prefix="bench-textcheck-")) / "rules")
    started = time.perf_counter()
    checker = TextChecker.load(rules)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    checker = checker.with_names(_names())
    named = time.perf_counter() - started
    print(f"load (glossary, style, dictionaries): {loaded:.3f} s")
    print(f"with_names ({len(_names())} people): {named * 1000:.1f} ms")
    print(_cold("clean", rules))
    print(_cold("seeded", rules))
    texts = _texts("clean") + _texts("seeded")
    _pass(checker, texts)
    warm = min(_pass(checker, texts)[0] for _ in range(args.rounds))
    print(f"all answers, warm caches, best of {args.rounds}: "
          f"{_words(texts) / warm:,.0f} words per CPU-second")
    shutil.rmtree(rules.parent)


if __name__ == "__main__":
    main()
