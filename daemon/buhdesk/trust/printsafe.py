"""Text from letters made safe to print: subjects, names and addresses come from strangers and may
carry terminal escape sequences (ANSI ESC, C1 controls such as CSI), line breaks that forge extra
output lines, or bidirectional overrides that show a different text than the one stored. Every
command that prints such text (``list``, ``held``, ``explain``, reports, digests) passes it
through here at the output edge; the store keeps the original.
"""

from __future__ import annotations

import json
import re
from typing import Any

# ESC sequences first (CSI … final byte, OSC … BEL/ST, any other ESC + one character), so their
# parameters disappear with them instead of being printed as text.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?",
                      re.DOTALL)
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f" + _BIDI + "]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f" + _BIDI + "\u2028\u2029]")


def _picture(match: re.Match[str]) -> str:
    """A visible stand-in: the Unicode control picture for C0 and DEL, U+FFFD for the rest."""
    code = ord(match[0])
    if code < 0x20:
        return chr(0x2400 + code)
    return "\u2421" if code == 0x7F else "\ufffd"


def safe_line(value: object) -> str:
    """One printable line: escape sequences removed, every control (line breaks included) and
    every bidirectional control shown as a visible stand-in."""
    return _CONTROLS.sub(_picture, _ESCAPES.sub("\ufffd", "" if value is None else str(value)))


def safe_text(value: object) -> str:
    """Printable text of several lines: like :func:`safe_line`, but line breaks and tabs kept."""
    return "\n".join(safe_line(line).replace("\u2409", "\t")
                     for line in ("" if value is None else str(value)).split("\n"))


def safe_json(value: Any, **options: Any) -> str:
    """``json.dumps`` (readable Cyrillic kept) with C1 and bidirectional controls written as
    ``\\uXXXX``: the same data for a program, nothing a terminal acts on."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
