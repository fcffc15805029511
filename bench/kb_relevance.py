"""Knowledge-base suggestions on a small question set with the expected articles: how many of the
offered articles fit (precision) and how many questions get their article (recall), for the
development half and the held-out half. Run: .venv/bin/python bench/kb_relevance.py [share]"""

from __future__ import annotations

import sys
from pathlib import Path

from buhdesk.kb.library import KnowledgeBase
from buhdesk.rules.lemmas import Lemmatizer

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "tests" / "corpus" / "kb" / "questions.tsv"


def load() -> list[tuple[str, str, str, set[str], str]]:
    rows = []
    for line in QUESTIONS.read_text("utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        part, process, need, expected, question = line.split("\t")
        rows.append((part, process, need, {s for s in expected.split(",") if s}, question))
    return rows


def evaluate(kb: KnowledgeBase, part: str, **kwargs: float) -> tuple[float, float, int]:
    offered = fitting = found = total = 0
    for p, process, need, expected, question in load():
        if p != part:
            continue
        slugs = [a.slug for a, _ in kb.suggest(process, need, question, 3, **kwargs)]
        offered += len(slugs)
        fitting += len(set(slugs) & expected)
        found += bool(set(slugs) & expected) if expected else 0
        total += bool(expected)
    return fitting / max(offered, 1), found / max(total, 1), offered


def main() -> None:
    kb = KnowledgeBase.load(ROOT / "rules", lemmatizer=Lemmatizer())
    shares = [float(a) for a in sys.argv[1:]] or [0.0, 0.3, 0.4, 0.5, 0.6, 0.7]
    for share in shares:
        for part in ("dev", "held"):
            precision, recall, offered = evaluate(kb, part, min_share=share)
            print(f"share {share:.2f} {part:4}: precision {precision:.2f}, recall {recall:.2f}, "
                  f"offered {offered}")


if __name__ == "__main__":
    main()
