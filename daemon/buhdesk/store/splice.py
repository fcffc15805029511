"""A raw letter kept without the base64 of its attachments, rebuilt byte for byte from their files.

Routing stores each attachment as a file named by its SHA-256 (:mod:`buhdesk.store.blobs`); the
letter kept whole would hold it a second time, as base64, which Zstandard shrinks only to about
three quarters. Once the files are staged, each base64 run of :data:`MIN_RUN` bytes or more that
decodes to one of the letter's files is cut out of the stored letter, and a :class:`Cut` says
where it was and how to write it again: the file's hash, the line length, the line ending and
whether the last line has one. A run is cut only when encoding the file that way gives back
exactly its bytes (checked when it is cut): odd line lengths, spaces, mixed line endings or
broken base64 stay in the letter as they are.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

MIN_RUN = 4096
# lines of the base64 alphabet; the last may end the letter without a line ending
_RUN = re.compile(rb"(?:[A-Za-z0-9+/=]+(?:\r\n|\n|\Z))+")


@dataclass(frozen=True)
class Cut:
    """One base64 run taken out of a letter: ``length`` bytes at ``offset`` of the letter."""

    offset: int
    length: int
    sha256: str
    line: int
    crlf: bool
    final_eol: bool

    def encode(self, content: bytes) -> bytes:
        """The run again from the file's ``content``."""
        text = binascii.b2a_base64(content, newline=False)
        eol = b"\r\n" if self.crlf else b"\n"
        run = eol.join(text[at:at + self.line] for at in range(0, len(text), self.line))
        return run + eol if self.final_eol else run


def find_cuts(letter: bytes | bytearray, files: Collection[str]) -> list[Cut]:
    """The runs of ``letter`` that encode one of ``files`` (hashes) and are written again
    exactly from it, in the order of the letter."""
    cuts = []
    for found in _RUN.finditer(letter):
        start, end = found.span()
        if end - start >= MIN_RUN:
            cut = _cut(bytes(letter[start:end]), start, files)
            if cut is not None:
                cuts.append(cut)
    return cuts


def _cut(run: bytes, offset: int, files: Collection[str]) -> Cut | None:
    first = run.find(b"\n")
    if first <= 0:
        return None
    crlf = run[first - 1:first] == b"\r"
    line = first - 1 if crlf else first
    if line <= 0:
        return None
    try:
        content = binascii.a2b_base64(run.replace(b"\r\n" if crlf else b"\n", b""),
                                      strict_mode=True)
    except binascii.Error:
        return None
    sha = hashlib.sha256(content).hexdigest()
    if sha not in files:
        return None
    cut = Cut(offset=offset, length=len(run), sha256=sha, line=line, crlf=crlf,
              final_eol=run.endswith(b"\n"))
    return cut if cut.encode(content) == run else None


def spliced(letter: bytes | bytearray, cuts: Sequence[Cut]) -> bytes:
    """``letter`` without the runs ``cuts`` name."""
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(letter[at:cut.offset])
        at = cut.offset + cut.length
    pieces.append(letter[at:])
    return b"".join(pieces)


def rebuilt(rest: bytes | bytearray, cuts: Sequence[Cut],
            read_file: Callable[[str], bytes]) -> bytes:
    """The letter from what :func:`spliced` left of it and its files (``read_file`` by hash)."""
    pieces: list[bytes | bytearray] = []
    at = kept = 0  # in the letter, in what was left of it
    for cut in sorted(cuts, key=lambda c: c.offset):
        pieces.append(rest[kept:kept + cut.offset - at])
        kept += cut.offset - at
        content = read_file(cut.sha256)
        if hashlib.sha256(content).hexdigest() != cut.sha256:
            raise ValueError(f"attachment file {cut.sha256} does not hold the bytes named by its "
                             f"hash: the letter cannot be rebuilt from it")
        run = cut.encode(content)
        if len(run) != cut.length:
            raise ValueError(f"attachment file {cut.sha256} gives {len(run)} bytes of base64, "
                             f"the letter had {cut.length}")
        pieces.append(run)
        at = cut.offset + cut.length
    pieces.append(rest[kept:])
    return b"".join(pieces)
