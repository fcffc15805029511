"""Build the hand-marked parts of the answers corpus (deterministic; run from anywhere).

    .venv/bin/python tests/corpus/answers/make_marked.py

Sources: ``heldout/clean.txt``, ``heldout/seeded.txt``, ``tuning/clean.txt``, ``tuning/seeded.txt``;
texts are separated by ``=== name`` lines, ``#`` lines before the first text are comments. In a
seeded text each error is marked by hand as ``⟦fragment|kind⟧`` (s spelling, p punctuation,
t typography, y style). The script writes ``PART/clean/NAME.txt`` and ``PART/seeded/NAME.txt``
with ``NAME.json`` beside it: the plain text and the expected findings (start, end, text, kind).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PARTS = ("heldout", "tuning")
KINDS = {"s": "spelling", "p": "punctuation", "t": "typography", "y": "style"}
MARK = re.compile(r"⟦([^⟧|]+)\|([sapty])⟧")
HEADER = re.compile(r"^=== (\S+)\n", re.MULTILINE)


def split(source: str) -> list[tuple[str, str]]:
    """(name, text) pairs of a source file."""
    pieces = HEADER.split(source)
    return [(pieces[i], pieces[i + 1].strip("\n") + "\n") for i in range(1, len(pieces), 2)]


def unmark(marked: str) -> tuple[str, list[dict[str, object]]]:
    """The plain text and its marked errors with offsets into it."""
    out, errors, last = [], [], 0
    length = 0
    for m in MARK.finditer(marked):
        plain = marked[last:m.start()]
        out.append(plain)
        length += len(plain)
        fragment = m.group(1)
        errors.append({"start": length, "end": length + len(fragment), "text": fragment,
                       "kind": KINDS[m.group(2)]})
        out.append(fragment)
        length += len(fragment)
        last = m.end()
    out.append(marked[last:])
    text = "".join(out)
    if "⟦" in text or "⟧" in text:
        raise ValueError(f"broken mark-up near: {text[text.find('⟦') - 20:][:60]!r}")
    return text, errors


def build(part: str) -> None:
    for kind in ("clean", "seeded"):
        source = ROOT / part / f"{kind}.txt"
        if not source.exists():
            continue
        out_dir = ROOT / part / kind
        out_dir.mkdir(exist_ok=True)
        for old in out_dir.glob("*"):
            old.unlink()
        for name, marked in split(source.read_text(encoding="utf-8")):
            text, errors = unmark(marked)
            if kind == "clean" and errors:
                raise ValueError(f"{part}/{kind}/{name}: a clean text has marked errors")
            if kind == "seeded" and not errors:
                raise ValueError(f"{part}/{kind}/{name}: a seeded text has no marked error")
            (out_dir / f"{name}.txt").write_text(text, encoding="utf-8")
            if kind == "seeded":
                (out_dir / f"{name}.json").write_text(
                    json.dumps({"errors": errors}, ensure_ascii=False, indent=1) + "\n",
                    encoding="utf-8")


def main() -> None:
    for part in PARTS:
        build(part)


if __name__ == "__main__":
    main()
