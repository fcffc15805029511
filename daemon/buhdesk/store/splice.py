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
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

MIN_RUN = 4096
_PIECE = 3 << 18  # file bytes encoded at a time (whole base64 quanta)
_WINDOW = 1 << 20  # base64 text decoded at a time, up to a line break
# a stretch of base64 characters and line breaks, found from its first character on: one
# character class repeated, which the regex engine matches without a stack per line (a pattern
# of repeated lines kept some 60 MB of backtracking state on a 35 MB letter)
_STRETCH = re.compile(rb"(?<![A-Za-z0-9+/=\r\n])[A-Za-z0-9+/=\r\n]{%d,}" % MIN_RUN)
_EOLS = b"\r\n"


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
        lines = _Lines(self.line, self.crlf, self.final_eol)
        return lines.feed(content) + lines.end()


class _Lines:
    """A file's base64 in lines of ``line`` characters, written piece by piece."""

    def __init__(self, line: int, crlf: bool, final_eol: bool) -> None:
        self.line, self.final_eol = line, final_eol
        self.eol = b"\r\n" if crlf else b"\n"
        self.held = b""  # file bytes short of a whole quantum
        self.chars = b""  # base64 text short of a line, or one whole line (maybe the last)

    def feed(self, content: bytes) -> bytes:
        data = self.held + content
        usable = len(data) - len(data) % 3
        self.held = data[usable:]
        chars = self.chars + binascii.b2a_base64(data[:usable], newline=False)
        whole = (len(chars) - 1) // self.line * self.line if chars else 0  # one line stays
        self.chars = chars[whole:]
        return b"".join(chars[at:at + self.line] + self.eol for at in range(0, whole, self.line))

    def end(self) -> bytes:
        chars = self.chars + binascii.b2a_base64(self.held, newline=False)
        run = self.eol.join(chars[at:at + self.line] for at in range(0, len(chars), self.line))
        return run + self.eol if self.final_eol and run else run


def find_cuts(letter: bytes | bytearray, files: Collection[str]) -> list[Cut]:
    """The runs of ``letter`` that encode one of ``files`` (hashes) and are written again
    exactly from it, in the order of the letter. A big run is read in pieces: the letter is
    never copied whole."""
    cuts = []
    view = memoryview(letter)
    for found in _STRETCH.finditer(letter):
        span = _lines_of(letter, *found.span())
        if span is not None:
            cut = _cut(letter, view, *span, files)
            if cut is not None:
                cuts.append(cut)
    return cuts


def _lines_of(letter: bytes | bytearray, start: int, end: int) -> tuple[int, int] | None:
    """The stretch narrowed to whole lines: from the start of its first line with a base64
    character to its last base64 character and the line ending after it."""
    if start > 0:  # after a character of no base64 line: from the next line on
        start = letter.find(b"\n", start, end) + 1
        if start == 0:
            return None
    while start < end and letter[start] in _EOLS:
        start += 1
    if end < len(letter) and letter[end - 1] not in _EOLS:  # ends mid-line: the line before
        end = letter.rfind(b"\n", start, end) + 1
    while end > start and letter[end - 1] in _EOLS:
        end -= 1
    first = letter.find(b"\n", start, min(end + 2, start + _WINDOW))
    if first <= start:
        return None
    eol = b"\r\n" if letter[first - 1] == _EOLS[0] else b"\n"
    if letter[end:end + len(eol)] == eol:
        end += len(eol)
    return (start, end) if end - start >= MIN_RUN else None


def _cut(letter: bytes | bytearray, view: memoryview, start: int, end: int,
         files: Collection[str]) -> Cut | None:
    first = letter.find(b"\n", start, min(end, start + _WINDOW)) - start
    if first <= 0:
        return None
    crlf = view[start + first - 1] == ord("\r")
    line = first - 1 if crlf else first
    if line <= 0:
        return None
    final_eol = view[end - 1] == ord("\n")
    lines = _Lines(line, crlf, final_eol)
    digest = hashlib.sha256()
    at = start  # how far the written-again run matches the letter
    try:
        for content in _decoded(letter, view, start, end, crlf):
            digest.update(content)
            again = lines.feed(content)
            if view[at:at + len(again)] != again:
                return None
            at += len(again)
    except binascii.Error:
        return None
    again = lines.end()
    if at + len(again) != end or view[at:end] != again:
        return None
    sha = digest.hexdigest()
    return Cut(offset=start, length=end - start, sha256=sha, line=line, crlf=crlf,
               final_eol=final_eol) if sha in files else None


def _decoded(letter: bytes | bytearray, view: memoryview, start: int, end: int,
             crlf: bool) -> Iterator[bytes]:
    """The run's content in pieces; binascii.Error when it is not clean base64 with one line
    ending throughout."""
    eol = b"\r\n" if crlf else b"\n"
    held = b""
    at = start
    while at < end:
        stop = min(end, at + _WINDOW)
        if stop < end:  # up to a line break, so that no line ending is split
            stop = letter.rfind(b"\n", at, stop) + 1
            if stop <= at:
                raise binascii.Error("a line longer than the window")
        text = held + bytes(view[at:stop]).replace(eol, b"")
        if b"\r" in text or b"\n" in text:
            raise binascii.Error("mixed line endings")
        usable = len(text) - len(text) % 4
        held = text[usable:]
        yield binascii.a2b_base64(text[:usable], strict_mode=True)
        at = stop
    if held:
        raise binascii.Error("base64 not in whole quanta")


def spliced(letter: bytes | bytearray, cuts: Sequence[Cut]) -> bytes:
    """``letter`` without the runs ``cuts`` name."""
    view = memoryview(letter)
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(view[at:cut.offset])
        at = cut.offset + cut.length
    pieces.append(view[at:])
    return b"".join(pieces)


def rebuilt(rest: bytes | bytearray, cuts: Sequence[Cut],
            open_file: Callable[[str], BinaryIO]) -> bytearray:
    """The letter from what :func:`spliced` left of it and its files (``open_file`` by hash),
    each file read and encoded in pieces into the one copy of the letter."""
    ordered = sorted(cuts, key=lambda c: c.offset)
    letter = bytearray(len(rest) + sum(c.length for c in ordered))
    at = kept = 0  # in the letter, in what was left of it
    for cut in ordered:
        size = cut.offset - at
        letter[at:cut.offset] = rest[kept:kept + size]
        kept += size
        _write_run(letter, cut, open_file)
        at = cut.offset + cut.length
    letter[at:] = rest[kept:]
    if len(letter) != len(rest) + sum(c.length for c in ordered):
        raise ValueError("a stored letter without its attachments does not add up")
    return letter


def _write_run(letter: bytearray, cut: Cut, open_file: Callable[[str], BinaryIO]) -> None:
    """The run ``cut`` names written into its place in ``letter`` from the file."""
    lines = _Lines(cut.line, cut.crlf, cut.final_eol)
    digest = hashlib.sha256()
    at, end = cut.offset, cut.offset + cut.length
    try:
        source = open_file(cut.sha256)
    except FileNotFoundError as e:
        raise ValueError(f"attachment file {cut.sha256}, which a stored letter is rebuilt "
                         f"from, is missing: {e.filename}") from e
    with source:
        for content in iter(lambda: source.read(_PIECE), b""):
            digest.update(content)
            at = _put(letter, at, end, lines.feed(content), cut)
    at = _put(letter, at, end, lines.end(), cut)
    if digest.hexdigest() != cut.sha256 or at != end:
        raise ValueError(f"attachment file {cut.sha256} does not hold the bytes named by its "
                         f"hash: the letter cannot be rebuilt from it")


def _put(letter: bytearray, at: int, end: int, piece: bytes, cut: Cut) -> int:
    if at + len(piece) > end:
        raise ValueError(f"attachment file {cut.sha256} gives more base64 than the "
                         f"{cut.length} bytes the letter had")
    letter[at:at + len(piece)] = piece
    return at + len(piece)
