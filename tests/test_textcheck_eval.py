"""Spelling quality of the text check on the evaluation set of accounting-service answers.

Clean answers must raise no spelling findings; seeded answers must raise exactly the words listed
in the JSON beside each one. Per-word precision and recall are printed and held to 0.95 / 0.85.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from buhdesk.textcheck import TextChecker

ROOT = Path(__file__).parent / "corpus" / "answers"
RULES = Path(__file__).parents[1] / "rules"
MIN_PRECISION = 0.95
MIN_RECALL = 0.85


@dataclass
class Score:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    suggested_first: int = 0

    @property
    def precision(self) -> float:
        return self.true_positive / max(1, self.true_positive + self.false_positive)

    @property
    def recall(self) -> float:
        return self.true_positive / max(1, self.true_positive + self.false_negative)


def _names() -> list[str]:
    lines = (ROOT / "names.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def checker() -> TextChecker:
    return TextChecker.load(RULES).with_names(_names())


def _seeded() -> list[tuple[str, list[dict[str, object]]]]:
    cases = []
    for truth_path in sorted((ROOT / "seeded").glob("*.json")):
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        text = truth_path.with_suffix(".txt").read_text(encoding="utf-8")
        cases.append((text, truth["errors"]))
    return cases


def _spelling_spans(checker: TextChecker, text: str) -> dict[tuple[int, int], tuple[str, ...]]:
    return {(f.start, f.end): f.suggestions for f in checker.check(text) if f.kind == "spelling"}


def test_evaluation_set_is_large_enough_and_consistent() -> None:
    clean = sorted((ROOT / "clean").glob("*.txt"))
    seeded = _seeded()
    assert len(clean) >= 40 and len(seeded) >= 40
    for text, errors in seeded:
        assert errors, "every seeded text has at least one error"
        for error in errors:
            assert text[error["start"]:error["end"]] == error["word"]


def test_clean_answers_are_never_held_back(checker: TextChecker) -> None:
    """No finding that blocks the answer (style advice may remain: see test_textcheck_quality)."""
    noisy = {}
    for path in sorted((ROOT / "clean").glob("*.txt")):
        findings = [f for f in checker.check(path.read_text(encoding="utf-8")) if f.blocking]
        if findings:
            noisy[path.name] = [(f.kind, f.text) for f in findings]
    assert noisy == {}


def test_spelling_precision_and_recall(checker: TextChecker) -> None:
    score = Score()
    for path in sorted((ROOT / "clean").glob("*.txt")):
        score.false_positive += len(_spelling_spans(checker, path.read_text(encoding="utf-8")))
    for text, errors in _seeded():
        found = _spelling_spans(checker, text)
        expected = {(e["start"], e["end"]): e["correct"] for e in errors}
        hits = found.keys() & expected.keys()
        score.true_positive += len(hits)
        score.false_positive += len(found.keys() - expected.keys())
        score.false_negative += len(expected.keys() - found.keys())
        score.suggested_first += sum(found[s][:1] == (expected[s],) for s in hits)
    print(f"\nspelling: precision {score.precision:.3f}, recall {score.recall:.3f} "
          f"(TP {score.true_positive}, FP {score.false_positive}, FN {score.false_negative}); "
          f"right word first among suggestions: {score.suggested_first}/{score.true_positive}")
    assert score.precision >= MIN_PRECISION
    assert score.recall >= MIN_RECALL
