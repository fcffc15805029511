"""The classification development corpus (tests/corpus/classify/) keeps its format and its split.

The classifier is tuned on tune/ and scored on heldout/; these checks make sure every letter
carries a label the classifier can produce and that no letter sits in both parts, so the held-out
figure stays a measure of letters the rules were never fitted to.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from buhdesk.rules.classify import NEEDS, PROCESSES

CORPUS = Path(__file__).resolve().parent / "corpus" / "classify"
PARTS = ("tune", "heldout")
UNSORTED = "none"
HEADER = ("Subject", "From", "Process", "Need")


def letters(part: str) -> list[Path]:
    return sorted((CORPUS / part).glob("*.txt"))


def parse(path: Path) -> tuple[dict[str, str], str]:
    head, sep, body = path.read_text(encoding="utf-8").partition("\n\n")
    assert sep, f"{path.name}: no blank line between the header and the body"
    fields = {}
    for line in head.splitlines():
        key, colon, value = line.partition(":")
        assert colon, f"{path.name}: header line without a colon: {line!r}"
        fields[key] = value.strip()
    return fields, body


@pytest.mark.parametrize("part", PARTS)
def test_every_letter_has_the_four_headers_and_known_labels(part: str) -> None:
    paths = letters(part)
    assert paths, f"{part}/ is empty"
    for path in paths:
        assert re.fullmatch(r"\d{4}\.txt", path.name), f"{part}/{path.name}: name is not NNNN.txt"
        fields, _ = parse(path)
        assert tuple(fields) == HEADER, f"{part}/{path.name}: headers {tuple(fields)}"
        assert fields["Process"] in PROCESSES + (UNSORTED,), f"{part}/{path.name}: {fields['Process']}"
        assert fields["Need"] in NEEDS, f"{part}/{path.name}: {fields['Need']}"


def test_no_letter_is_in_both_parts() -> None:
    def texts(part: str) -> dict[str, str]:
        seen = {}
        for path in letters(part):
            fields, body = parse(path)
            text = " ".join((fields["Subject"] + " " + body).split())
            if body.strip():
                seen[text] = path.name
        return seen

    tune, heldout = texts("tune"), texts("heldout")
    shared = sorted(f"tune/{tune[t]} = heldout/{heldout[t]}" for t in tune.keys() & heldout.keys())
    assert not shared, shared


def test_held_out_part_covers_every_label() -> None:
    processes, needs = set(), set()
    for path in letters("heldout"):
        fields, _ = parse(path)
        processes.add(fields["Process"])
        needs.add(fields["Need"])
    assert processes == set(PROCESSES) | {UNSORTED}
    assert needs == set(NEEDS)
