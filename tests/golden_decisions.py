"""Per-letter regression guard for the golden classification corpora.

Every letter's decision is stored beside its corpus in ``expected.tsv``. A letter whose stored
decision matched its label and whose decision now differs fails the test, so an edit that re-routes
known letters cannot hide behind unchanged totals. After a deliberate change refresh the files with
``BUHDESK_UPDATE_EXPECTED=1 .venv/bin/python -m pytest -q tests/test_classify_golden.py
tests/test_classify_model.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

Decision = tuple[str, str]


def updating() -> bool:
    return bool(os.environ.get("BUHDESK_UPDATE_EXPECTED"))


def write_expected(path: Path, decisions: Mapping[str, Decision]) -> None:
    lines = [f"{k}\t{p}\t{n}" for k, (p, n) in sorted(decisions.items())]
    path.write_text("letter\tprocess\tneed\n" + "\n".join(lines) + "\n", encoding="utf-8")


def read_expected(path: Path) -> dict[str, Decision]:
    expected = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        key, process, need = line.split("\t")
        expected[key] = (process, need)
    return expected


def letters_gone_wrong(decisions: Mapping[str, Decision], labels: Mapping[str, Decision],
                       expected: Mapping[str, Decision]) -> list[str]:
    """Letters that were decided right when ``expected`` was written and are decided wrong now."""
    worse = []
    for key, (process, need) in sorted(decisions.items()):
        was_process, was_need = expected.get(key, (None, None))
        label_process, label_need = labels[key]
        if was_process == label_process != process:
            worse.append(f"{key}: процесс {was_process} -> {process}")
        if was_need == label_need != need:
            worse.append(f"{key}: потребность {was_need} -> {need}")
    return worse


def check_or_update(path: Path, decisions: Mapping[str, Decision],
                    labels: Mapping[str, Decision]) -> list[str]:
    """Write ``path`` when updating on purpose; otherwise the letters that got worse."""
    if updating():
        write_expected(path, decisions)
        return []
    return letters_gone_wrong(decisions, labels, read_expected(path))
