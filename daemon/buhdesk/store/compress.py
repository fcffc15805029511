"""Stored raw letters compressed where it pays, read back byte for byte.

A raw letter is kept as received or as sent; most of it is text and base64 and shrinks to a
fraction with Zstandard (level 3: some milliseconds per megabyte). The row says how its bytes
are kept (``raws.codec``): :data:`NONE` (0) as they are — what every row written before
compression says — or :data:`ZSTD` (1) one Zstandard frame that records the letter's size. The
codec is a small integer, which SQLite keeps in the record's header alone: the bytes column is
then the last with data, so a big letter's zero-filled blob, written through blob I/O, is never
built in memory (a text value after it would make SQLite build it). A letter that would
not get smaller by at least :data:`MIN_SAVED` bytes and a tenth stays as it is.

A big letter (:data:`WHOLE` bytes or more) is compressed and read back in pieces, so that it is
never held in memory compressed beside itself; only the intake's path (``store.raw``) does that,
other writers keep a big letter as it is (outgoing letters with big files: the notice carrying a
client's scans).

A letter under :data:`WHOLE` bytes is compressed with a dictionary shipped with buhdesk
(``store/dictionaries/<id>.zdict``, trained by ``bench/zstd_dictionary.py`` on letters of the
service: headers, the templates' words, quoted-printable Cyrillic): most of an acknowledgment or
a notice is then said by reference (on letters it was not trained on, an acknowledgment of 4.2 kB
in 0.5 kB instead of 1.5 kB). The frame names its dictionary by id, so a letter is read back with
the one it was written with: a dictionary that has shipped is never changed or removed
(``tests/test_store_compression.py`` holds their hashes); a better one gets a new id.

Routing then cuts the base64 of a letter's attachments out of the stored bytes (flag
:data:`SPLICED` on the codec, :mod:`buhdesk.store.splice`); such a row is read only by
``store.raw``, which rebuilds the letter from the attachment files.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from functools import cache
from importlib.resources import files

import zstandard

NONE = 0
ZSTD = 1
CODECS = (NONE, ZSTD)
# a flag beside the codec: the letter's attachments are cut out (rows of ``raw_cuts``, rebuilt by
# ``store.raw`` from the files, ``store.splice``); the rest is kept as the codec without it says
SPLICED = 2
LEVEL = 3
MIN_SAVED = 64
WHOLE = 1 << 20
DICTIONARY = 760101  # the dictionary new letters are compressed with


def encode(data: bytes | bytearray) -> tuple[int, bytes]:
    """``(codec, stored bytes)`` for letter ``data``. A letter of :data:`WHOLE` bytes or more
    is kept as it is here: compressed whole it would be held twice; the intake compresses big
    letters in pieces (:func:`packed_pieces`, ``store.raw``)."""
    if 2 * MIN_SAVED <= len(data) < WHOLE:
        packed = _CODECS.packer.compress(data)
        if pays(len(data), len(packed)):
            return ZSTD, packed
    return NONE, bytes(data)


def pays(size: int, packed: int) -> bool:
    return packed <= min(size - MIN_SAVED, size * 9 // 10)


def packed_pieces(data: bytes | bytearray, piece: int) -> Iterator[bytes]:
    """``data`` as one Zstandard frame in pieces, compressed ``piece`` bytes at a time: a big
    letter is never held twice. The same letter gives the same pieces every time."""
    packer = zstandard.ZstdCompressor(level=LEVEL).compressobj(size=len(data))
    view = memoryview(data)
    for offset in range(0, len(data), piece):
        out = packer.compress(view[offset:offset + piece])
        if out:
            yield out
    yield packer.flush()


def unpack_pieces(pieces: Iterable[bytes]) -> bytearray:
    """The letter from its Zstandard frame read in pieces, into one ``bytearray`` of the size
    the frame records."""
    unpacker = zstandard.ZstdDecompressor().decompressobj()
    letter: bytearray | None = None
    at = 0
    for piece in pieces:
        if letter is None:
            size = zstandard.frame_content_size(piece)
            if size < 0:
                raise ValueError("a stored Zstandard frame without the letter's size")
            letter = bytearray(size)
        out = unpacker.decompress(piece)
        if at + len(out) > len(letter):
            raise ValueError(f"a stored letter is longer than the {len(letter)} bytes it records")
        letter[at:at + len(out)] = out
        at += len(out)
    if letter is None or at != len(letter):
        raise ValueError(f"a stored letter ends at byte {at} of {len(letter or b'')}")
    return letter


def decode(codec: int, stored: bytes | bytearray) -> bytes | bytearray:
    """The letter from its stored bytes as ``codec`` says they are kept."""
    if codec == NONE:
        return stored
    if codec == ZSTD:
        return _CODECS.unpacker(zstandard.get_frame_parameters(stored).dict_id).decompress(
            stored)
    if codec in (SPLICED | NONE, SPLICED | ZSTD):
        raise ValueError("a stored letter without its attachments: read it by store.raw.read_raw, "
                         "which puts them back from their files")
    raise ValueError(f"raw bytes kept in an unknown way: {codec!r}")


@cache
def dictionary(dict_id: int) -> zstandard.ZstdCompressionDict:
    """A shipped dictionary by its id (the id its frames carry)."""
    try:
        data = (files("buhdesk.store") / "dictionaries" / f"{dict_id}.zdict").read_bytes()
    except FileNotFoundError:
        raise ValueError(f"a stored letter was compressed with dictionary {dict_id}, which this "
                         "installation of buhdesk does not have") from None
    found = zstandard.ZstdCompressionDict(data)
    if found.dict_id() != dict_id:
        raise ValueError(f"dictionaries/{dict_id}.zdict holds dictionary {found.dict_id()}")
    return found


class _Codecs(threading.local):
    """A thread's compressor and decompressors, made when first needed (they are not to be
    shared between threads; making one digests its dictionary, so each is made once)."""

    def __init__(self) -> None:
        self._packer: zstandard.ZstdCompressor | None = None
        self._unpackers: dict[int, zstandard.ZstdDecompressor] = {}

    @property
    def packer(self) -> zstandard.ZstdCompressor:
        if self._packer is None:
            self._packer = zstandard.ZstdCompressor(level=LEVEL,
                                                    dict_data=dictionary(DICTIONARY))
        return self._packer

    def unpacker(self, dict_id: int) -> zstandard.ZstdDecompressor:
        found = self._unpackers.get(dict_id)
        if found is None:
            found = self._unpackers[dict_id] = (
                zstandard.ZstdDecompressor(dict_data=dictionary(dict_id)) if dict_id
                else zstandard.ZstdDecompressor())
        return found


_CODECS = _Codecs()
