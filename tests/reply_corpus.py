"""The reply corpus (tests/corpus/replies): each letter's new text as buhdesk reads it, beside the
expected text written by hand. ``python tests/reply_corpus.py`` prints the score of the main and the
held-out part."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from buhdesk.route.mime import parse_message
from buhdesk.route.quoting import new_text

REPLIES = Path(__file__).parent / "corpus" / "replies"
HELDOUT = REPLIES / "heldout"


@dataclass(frozen=True)
class Reply:
    name: str
    got: str
    expected: str

    @property
    def exact(self) -> bool:
        return self.got == self.expected


def cases(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.eml"))


def read(path: Path) -> Reply:
    parsed = parse_message(path.read_bytes())
    expected = path.with_suffix(".expected.txt").read_text(encoding="utf-8").strip("\n")
    return Reply(path.stem, new_text(parsed.body_text), expected)


def score(directory: Path) -> tuple[int, int, list[Reply]]:
    replies = [read(p) for p in cases(directory)]
    wrong = [r for r in replies if not r.exact]
    return len(replies) - len(wrong), len(replies), wrong


if __name__ == "__main__":
    for label, directory in (("main", REPLIES), ("held-out", HELDOUT)):
        ok, total, wrong = score(directory)
        print(f"{label}: {ok}/{total} exact")
        for r in wrong:
            print(f"  {r.name}:\n    got:      {r.got!r}\n    expected: {r.expected!r}")
