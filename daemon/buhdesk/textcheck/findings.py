"""The value a text check produces: one finding per problem, with its place and a Russian
message."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("spelling", "punctuation", "typography", "style", "greeting")


@dataclass(frozen=True)
class Finding:
    """One problem in a checked text; ``start``/``end`` are character offsets into that text."""

    kind: str
    start: int
    end: int
    text: str
    message: str
    suggestions: tuple[str, ...] = ()
    blocking: bool = True  # False: advice, the answer goes out anyway

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready form (suggestions as a list)."""
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "message": self.message,
            "suggestions": list(self.suggestions),
            "blocking": self.blocking,
        }


def make(kind: str, text: str, start: int, end: int, message: str,
         suggestions: tuple[str, ...] = ()) -> Finding:
    """Build a finding for ``text[start:end]``; the message reads as a finished sentence, since
    the suggestions follow it in the returned letter and in `buhdesk textcheck`."""
    message = message.rstrip()
    if not message.endswith((".", "!", "?", "…")):
        message += "."
    return Finding(kind, start, end, text[start:end], message, suggestions)


def quote(fragment: str) -> str:
    """Inner Russian quotation marks for a fragment inside a message."""
    return f"„{fragment}“"
