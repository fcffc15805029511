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
they were; "big" is the size of what is stored. Once routing has stored a letter's attachments
as files, :func:`splice_raw` keeps the letter without their base64 (:mod:`buhdesk.store.splice`);
the readers here put it back from the files (``blobs``), byte for byte.
"""

from __future__ import annotations

import binascii
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlmodel import Session, col

from buhdesk.store import compress, splice
from buhdesk.store.append_rows import insert_raws
from buhdesk.store.engine import table_of
from buhdesk.store.models import Raw, RawCut

if TYPE_CHECKING:
    import psycopg

    from buhdesk.store.blobs import BlobStore

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


def read_raw(session: Session, pk: int, blobs: BlobStore | None = None) -> bytes | bytearray:
    """The stored bytes of message ``pk``: ``bytes``, or a ``bytearray`` for a big letter (one
    stored in ``BIG`` bytes or more, decompressed in pieces; on PostgreSQL also one stored as
    it is). A letter kept without its attachments is rebuilt from their files in ``blobs``."""
    where = col(Raw.message_pk) == pk
    dbapi = _dbapi(session)
    if isinstance(dbapi, sqlite3.Connection):
        codec = session.execute(select(col(Raw.codec)).where(where)).scalar_one()
        with dbapi.blobopen("raws", "data", pk, readonly=True) as blob:
            if codec & compress.SPLICED:
                return _whole(session, {pk: blob.read()}, codec, blobs)[pk]
            if codec == compress.NONE or len(blob) < BIG:
                return compress.decode(codec, blob.read())
            return compress.unpack_pieces(iter(lambda: blob.read(_PIECE), b""))
    size, codec = session.execute(select(func.length(col(Raw.data)), col(Raw.codec))
                                  .where(where)).one()
    if size < BIG or codec & compress.SPLICED:
        small: bytes = session.execute(select(col(Raw.data)).where(where)).scalar_one()
        if codec & compress.SPLICED:
            return _whole(session, {pk: small}, codec, blobs)[pk]
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


def read_raws(session: Session, ids: Sequence[int],
              blobs: BlobStore | None = None) -> dict[int, bytes | bytearray]:
    """The stored bytes of several (small) messages in one query, by message id; a letter kept
    without its attachments is rebuilt from their files in ``blobs``."""
    if not ids:
        return {}
    rows = session.execute(select(col(Raw.message_pk), col(Raw.codec), col(Raw.data))
                           .where(col(Raw.message_pk).in_(ids)))
    found: dict[int, bytes | bytearray] = {}
    spliced: dict[int, dict[int, bytes]] = {}
    for pk, codec, data in rows:
        if codec & compress.SPLICED:
            spliced.setdefault(codec, {})[pk] = data
        else:
            found[pk] = compress.decode(codec, data)
    for codec, stored in spliced.items():
        found.update(_whole(session, stored, codec, blobs))
    return found


def _whole(session: Session, stored: dict[int, bytes], codec: int,
           blobs: BlobStore | None) -> dict[int, bytes | bytearray]:
    """Letters kept without their attachments (``codec`` with the flag), rebuilt."""
    if blobs is None:
        raise ValueError(f"stored letters {sorted(stored)} are kept without their attachments: "
                         f"reading them needs the attachment files")
    cuts: dict[int, list[splice.Cut]] = {pk: [] for pk in stored}
    for row in session.execute(select(RawCut).where(col(RawCut.message_pk).in_(list(stored)))
                               .order_by(col(RawCut.message_pk), col(RawCut.seq))).scalars():
        cuts[row.message_pk].append(splice.Cut(
            offset=row.offset, length=row.length, sha256=row.sha256, line=row.line,
            crlf=row.crlf, final_eol=row.final_eol))
    store: BlobStore = blobs  # checked above; a name the reader below can close over
    return {pk: splice.rebuilt(compress.decode(codec & ~compress.SPLICED, data), cuts[pk],
                               lambda sha: store.path(sha).open("rb"))
            for pk, data in stored.items()}


def splice_raw(session: Session, pk: int, letter: bytes | bytearray, files: set[str]) -> int:
    """Keep message ``pk``'s stored ``letter`` without the base64 of the attachment ``files``
    (hashes) it carries, where they write it again exactly; the bytes saved. Called in the
    transaction that stages the files (``BlobStore.stage``): they are durable before the letter
    names them, and a rollback leaves it whole. A big letter is read in pieces, never copied
    whole; one whose rest would still be big stays whole."""
    if not files:
        return 0
    where = col(Raw.message_pk) == pk
    # read on the session's connection: the raw rows are written with Core, never pending in
    # the session, so its changes need not be flushed first (they go once, with the batch)
    codec = session.connection().execute(select(col(Raw.codec)).where(where)).scalar_one_or_none()
    if codec is None or codec & compress.SPLICED:
        return 0  # destroyed, or routed once already (a requeued letter)
    cuts = splice.find_cuts(letter, files)
    if not cuts:
        return 0
    rest = splice.spliced(letter, cuts)
    if len(rest) >= BIG:
        return 0
    codec, data = compress.encode(rest)
    connection = session.connection()
    connection.execute(update(table_of(Raw)).where(where).values(
        codec=codec | compress.SPLICED, data=data))
    connection.execute(insert(table_of(RawCut)), [
        {"message_pk": pk, "seq": n, "offset": c.offset, "length": c.length,
         "sha256": c.sha256, "line": c.line, "crlf": c.crlf, "final_eol": c.final_eol}
        for n, c in enumerate(cuts)])
    return sum(c.length for c in cuts)


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
