"""Quality of the whole text check on hand-marked accountants' answers, per category.

The held-out part (``tests/corpus/answers/heldout``) was written and marked before the checker was
changed and is never tuned on; the figures asserted here are the held-out ones. The tuning part is
scored and printed for comparison. A finding matches a marked error of the same category when
their spans overlap; greeting findings count as style. Precision counts every finding (clean and
seeded texts), recall every marked error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from buhdesk.textcheck import Finding, TextChecker

ROOT = Path(__file__).parent / "corpus" / "answers"
RULES = Path(__file__).parents[1] / "rules"
CATEGORIES = ("spelling", "punctuation", "typography", "style")
MIN_PRECISION = 0.90
MIN_RECALL = 0.70
MIN_SILENT_CLEAN = 0.95


@dataclass
class Tally:
    found: int = 0
    found_right: int = 0
    marked: int = 0
    marked_found: int = 0

    @property
    def precision(self) -> float:
        return self.found_right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.marked_found / self.marked if self.marked else 1.0


@dataclass
class Report:
    tallies: dict[str, Tally] = field(default_factory=lambda: {c: Tally() for c in CATEGORIES})
    clean: int = 0
    silent_clean: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    def lines(self, part: str) -> list[str]:
        silent = self.silent_clean / max(1, self.clean)
        out = [f"{part}: clean answers without any finding {self.silent_clean}/{self.clean} "
               + f"({silent:.3f})"]
        for name, t in self.tallies.items():
            out.append(f"  {name:<12} precision {t.precision:.3f} ({t.found_right}/{t.found}), "
                       f"recall {t.recall:.3f} ({t.marked_found}/{t.marked})")
        return out


def _names() -> list[str]:
    lines = (ROOT / "names.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def category(finding: Finding) -> str:
    return "style" if finding.kind == "greeting" else finding.kind


def _overlaps(f: Finding, e: dict[str, object]) -> bool:
    return f.start < int(e["end"]) and int(e["start"]) < f.end  # type: ignore[call-overload]


def score(checker: TextChecker, part: str) -> Report:
    report = Report()
    clean = sorted((ROOT / part / "clean").glob("*.txt"))
    if part == "tuning":  # the older clean answers (spelling set) are tuning material too
        clean += sorted((ROOT / "clean").glob("*.txt"))
    for path in clean:
        findings = checker.check(path.read_text(encoding="utf-8"))
        report.clean += 1
        report.silent_clean += not findings
        for f in findings:
            report.tallies[category(f)].found += 1
            report.false_alarms.append(f"{path.stem}: {f.kind} «{f.text}» {f.message}")
    for path in sorted((ROOT / part / "seeded").glob("*.json")):
        text = path.with_suffix(".txt").read_text(encoding="utf-8")
        errors = json.loads(path.read_text(encoding="utf-8"))["errors"]
        findings = checker.check(text)
        for f in findings:
            tally = report.tallies[category(f)]
            tally.found += 1
            if any(e["kind"] == category(f) and _overlaps(f, e) for e in errors):
                tally.found_right += 1
            else:
                report.false_alarms.append(f"{path.stem}: {f.kind} «{f.text}» {f.message}")
        for e in errors:
            tally = report.tallies[e["kind"]]
            tally.marked += 1
            if any(category(f) == e["kind"] and _overlaps(f, e) for f in findings):
                tally.marked_found += 1
            else:
                report.misses.append(f"{path.stem}: {e['kind']} «{e['text']}»")
    return report


@pytest.fixture(scope="module")
def checker() -> TextChecker:
    return TextChecker.load(RULES).with_names(_names())


def test_marked_corpus_is_large_enough_and_consistent() -> None:
    texts = {part: {kind: sorted((ROOT / part / kind).glob("*.txt"))
                    for kind in ("clean", "seeded")}
             for part in ("heldout", "tuning")}
    total = sum(len(paths) for kinds in texts.values() for paths in kinds.values())
    assert total + len(list((ROOT / "clean").glob("*.txt"))) >= 150
    assert len(texts["heldout"]["clean"]) >= 30 and len(texts["heldout"]["seeded"]) >= 30
    for part in texts:
        for path in texts[part]["seeded"]:
            text = path.read_text(encoding="utf-8")
            errors = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["errors"]
            assert errors and all(text[e["start"]:e["end"]] == e["text"] for e in errors)


def test_heldout_precision_recall_and_silence_on_clean(checker: TextChecker,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    tuning = score(checker, "tuning")
    heldout = score(checker, "heldout")
    with capsys.disabled():  # the figures belong in every CI log
        print("\n" + "\n".join(tuning.lines("tuning") + heldout.lines("held-out")))
        print("held-out misses:\n  " + "\n  ".join(heldout.misses))
        print("held-out false alarms:\n  " + "\n  ".join(heldout.false_alarms))
    assert heldout.silent_clean / heldout.clean >= MIN_SILENT_CLEAN
    for name, tally in heldout.tallies.items():
        assert tally.precision >= MIN_PRECISION, name
        assert tally.recall >= MIN_RECALL, name
