"""Stored raw letters compressed where it pays, read back byte for byte.

A raw letter is kept as received or as sent; most of it is text and base64 and shrinks to a
fraction with Zstandard (level 3: some milliseconds per megabyte). The row says how its bytes
are kept (``raws.codec``): ``"none"`` as they are — what every row written before compression
says — or ``"zstd"`` one Zstandard frame that records the letter's size. A letter that would
not get smaller by at least :data:`MIN_SAVED` bytes and a tenth stays as it is.
"""

from __future__ import annotations

import zstandard

NONE = "none"
ZSTD = "zstd"
CODECS = (NONE, ZSTD)
LEVEL = 3
MIN_SAVED = 64


def encode(data: bytes | bytearray) -> tuple[str, bytes]:
    """``(codec, stored bytes)`` for letter ``data``."""
    if len(data) >= 2 * MIN_SAVED:
        packed = zstandard.ZstdCompressor(level=LEVEL).compress(data)
        if len(packed) <= min(len(data) - MIN_SAVED, len(data) * 9 // 10):
            return ZSTD, packed
    return NONE, bytes(data)


def decode(codec: str, stored: bytes | bytearray) -> bytes | bytearray:
    """The letter from its stored bytes as ``codec`` says they are kept."""
    if codec == NONE:
        return stored
    if codec == ZSTD:
        return zstandard.ZstdDecompressor().decompress(stored)
    raise ValueError(f"raw bytes kept in an unknown way: {codec!r}")
