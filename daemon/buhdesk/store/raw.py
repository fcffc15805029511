"""The stored bytes of messages (table ``raws``), written and read so that a big letter is held in
memory once.

A plain INSERT or SELECT copies a blob several times over: on SQLite the bound value and the
record, the column value and the Python bytes; on PostgreSQL the parameter in libpq's buffer, and
the value read back as hex text, twice its size, in libpq's buffer and result. Letters of ``BIG``
bytes or more therefore take another way, in the same transaction. On SQLite the row is inserted
with a zero-filled blob and the bytes written through SQLite's incremental blob I/O, which also
reads them back straight into one ``bytes``. On PostgreSQL the bytes are sent by ``COPY`` in
pieces and read back in pieces into one ``bytearray``.

The bytes are stored compressed where it pays (:mod:`buhdesk.store.compress`) and read back as
they were; "big" is the size of what is stored.
"""

from __future__ import annotations

import binascii
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from buhdesk.store import compress
from buhdesk.store.append_rows import insert_raws
from buhdesk.store.models import Raw

if TYPE_CHECKING:
    import psycopg

BIG = compress.WHOLE
_PIECE = 1 << 20


def _dbapi(session: Session) -> object:
    return session.connection().connection.dbapi_connection


def _psycopg(dbapi: object) -> psycopg.Connection[Any]:
    """The driver's connection when the store is PostgreSQL (the only other kind of store)."""
    import psycopg  # loaded with the PostgreSQL dialect anyway; SQLite stores never need it

    if not isinstance(dbapi, psycopg.Connection):
        raise TypeError(f"the store's driver connection is neither SQLite nor psycopg: "
                        f"{type(dbapi).__name__}")
    return dbapi


def store_raws(session: Session, rows: Sequence[tuple[int, bytes]]) -> None:
    """The bytes of message rows that are already flushed, ``(message id, bytes)`` each."""
    insert_raws(session, [row for row in rows if len(row[1]) < BIG])
    big = [row for row in rows if len(row[1]) >= BIG]
    if not big:
        return
    dbapi = _dbapi(session)
    for pk, data in big:
        # compressed twice in pieces, once to learn the size and once to write: the letter is
        # never held compressed beside itself
        packed = sum(len(p) for p in compress.packed_pieces(data, _PIECE))
        codec = compress.ZSTD if compress.pays(len(data), packed) else compress.NONE
        pieces = (compress.packed_pieces(data, _PIECE) if codec == compress.ZSTD
                  else _pieces(data))
        if isinstance(dbapi, sqlite3.Connection):
            _sqlite_write(session, dbapi, pk, codec,
                          packed if codec == compress.ZSTD else len(data), pieces)
        else:
            _copy_in(_psycopg(dbapi), pk, codec, pieces)


def _pieces(data: bytes) -> Iterator[bytes | memoryview]:
    view = memoryview(data)
    for offset in range(0, len(data), _PIECE):
        yield view[offset:offset + _PIECE]


def has_raw(session: Session, pk: int) -> bool:
    """Whether message ``pk`` still has its stored bytes (the retention purge deletes them)."""
    found = session.execute(select(col(Raw.message_pk)).where(col(Raw.message_pk) == pk))
    return found.first() is not None


def read_raw(session: Session, pk: int) -> bytes | bytearray:
    """The stored bytes of message ``pk``: ``bytes``, or a ``bytearray`` for a big letter (one
    stored in ``BIG`` bytes or more, decompressed in pieces; on PostgreSQL also one stored as
    it is)."""
    where = col(Raw.message_pk) == pk
    dbapi = _dbapi(session)
    if isinstance(dbapi, sqlite3.Connection):
        codec = session.execute(select(col(Raw.codec)).where(where)).scalar_one()
        with dbapi.blobopen("raws", "data", pk, readonly=True) as blob:
            if codec == compress.NONE or len(blob) < BIG:
                return compress.decode(codec, blob.read())
            return compress.unpack_pieces(iter(lambda: blob.read(_PIECE), b""))
    size, codec = session.execute(select(func.length(col(Raw.data)), col(Raw.codec))
                                  .where(where)).one()
    if size < BIG:
        small: bytes = session.execute(select(col(Raw.data)).where(where)).scalar_one()
        return compress.decode(codec, small)

    def pieces() -> Iterator[bytes]:
        for offset in range(0, size, _PIECE):
            yield session.execute(select(func.substring(col(Raw.data), offset + 1, _PIECE))
                                  .where(where)).scalar_one()

    if codec != compress.NONE:
        return compress.unpack_pieces(pieces())
    data = bytearray(size)
    offset = 0
    for piece in pieces():
        data[offset:offset + len(piece)] = piece
        offset += len(piece)
    return data


def read_raws(session: Session, ids: Sequence[int]) -> dict[int, bytes | bytearray]:
    """The stored bytes of several (small) messages in one query, by message id."""
    if not ids:
        return {}
    rows = session.execute(select(col(Raw.message_pk), col(Raw.codec), col(Raw.data))
                           .where(col(Raw.message_pk).in_(ids)))
    return {pk: compress.decode(codec, data) for pk, codec, data in rows}


def _sqlite_write(session: Session, conn: sqlite3.Connection, pk: int, codec: int, size: int,
                  pieces: Iterable[bytes | memoryview]) -> None:
    session.connection().execute(insert(Raw).values(
        message_pk=pk, codec=codec, data=func.zeroblob(size)))
    with conn.blobopen("raws", "data", pk) as blob:
        for piece in pieces:
            blob.write(piece)


def _copy_in(conn: psycopg.Connection[Any], pk: int, codec: int,
             pieces: Iterable[bytes | memoryview]) -> None:
    """One row by ``COPY … FROM STDIN`` (text format, the bytes as ``\\x`` hex), in pieces."""
    if codec not in compress.CODECS:
        raise ValueError(f"raw bytes kept in an unknown way: {codec!r}")
    with conn.cursor() as cur, cur.copy(
            "COPY raws (message_pk, codec, data) FROM STDIN") as copy:
        copy.write(b"%d\t%d\t\\\\x" % (pk, codec))
        for piece in pieces:
            copy.write(binascii.hexlify(piece))
        copy.write(b"\n")
