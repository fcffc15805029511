"""Raw letters stored compressed where it pays and given back byte for byte: the MIME corpus
through intake, export (``buhdesk letters``) and backup, on SQLite and PostgreSQL; rows written
before compression (no codec) still read."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zstandard
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import write_config
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col
from support import letter, migrate_store

from buhdesk.cli.command import main
from buhdesk.config import load_config
from buhdesk.intake.take import take_in
from buhdesk.interfaces import RawItem
from buhdesk.store import compress
from buhdesk.store.backup import backup, restore
from buhdesk.store.engine import make_engine, open_store
from buhdesk.store.models import Message, Raw, Request
from buhdesk.store.raw import BIG, read_raw, read_raws

CORPUS = sorted((Path(__file__).parent / "corpus").rglob("*.eml"))
MB = 1 << 20
NUMBER = "БУХ-2026-000001"


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) > 50


def test_a_letter_is_compressed_only_where_it_pays() -> None:
    text_letter = letter(1) * 20
    codec, stored = compress.encode(text_letter)
    assert codec == compress.ZSTD and len(stored) < len(text_letter) // 4
    assert compress.decode(codec, stored) == text_letter
    noise = random.Random(3).randbytes(4000)  # nothing to gain: kept as it is
    assert compress.encode(noise) == (compress.NONE, noise)
    assert compress.encode(b"") == (compress.NONE, b"")
    assert compress.encode(b"From: a@b\r\n\r\nhi") == (compress.NONE, b"From: a@b\r\n\r\nhi")
    with pytest.raises(ValueError, match="unknown"):
        compress.decode(7, stored)
    one = letter(2)  # built once: each call draws a new Message-ID, of a varying length
    big = one * (compress.WHOLE // len(one) + 1)  # only the intake packs it, in pieces
    assert compress.encode(big) == (compress.NONE, big)
    assert compress.unpack_pieces(compress.packed_pieces(big, 4096)) == big


def _stored(engine: Engine) -> dict[int, tuple[int, int]]:
    with Session(engine) as s:
        rows = s.execute(select(col(Raw.message_pk), col(Raw.codec), func.length(col(Raw.data))))
        return {pk: (codec, size) for pk, codec, size in rows}


def _take(engine: Engine, letters: dict[str, bytes]) -> dict[str, int]:
    """The letters stored by intake and joined to one request; their message ids by key."""
    items = [RawItem(source="minfin", key=key, data=data, received_at=datetime.now(UTC))
             for key, data in letters.items()]
    result = take_in(engine, items, max_bytes=16 * MB)
    assert not result.held
    with Session(engine) as s:
        request = Request(number=NUMBER, state="assigned", subject="Корпус писем")
        s.add(request)
        s.flush()
        s.execute(update(Message).values(request_id=request.id, status="routed"))
        s.commit()
        return {m.source_key or "": m.id or 0 for m in s.execute(
            select(Message).order_by(col(Message.id))).scalars()}


def _exported(config: Path, out: Path) -> list[bytes]:
    assert main(["--config", str(config), "letters", NUMBER, "--out", str(out)]) == 0
    return [p.read_bytes() for p in sorted(out.glob("*.eml"))]


# Every dictionary that has shipped, by id, with the SHA-256 of its file: letters in stores name
# the dictionary they were compressed with, so a shipped file may never change or go.
SHIPPED_DICTIONARIES = {
    760101: "cfa661680a10c2818e5eb8c5b42fb666981c386af78cce738cce0a27c0d8501a",
}


def test_shipped_dictionaries_never_change() -> None:
    folder = Path(compress.__file__).parent / "dictionaries"
    found = {int(p.stem): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in folder.glob("*.zdict")}
    assert found == SHIPPED_DICTIONARIES
    assert compress.DICTIONARY in SHIPPED_DICTIONARIES


def test_letters_are_compressed_with_the_dictionary_and_read_with_the_one_they_name() -> None:
    letter = CORPUS[0].read_bytes()
    codec, stored = compress.encode(letter)
    assert codec == compress.ZSTD
    assert zstandard.get_frame_parameters(stored).dict_id == compress.DICTIONARY
    assert compress.decode(codec, stored) == letter
    plain = zstandard.ZstdCompressor(level=compress.LEVEL).compress(letter)
    assert len(stored) < len(plain)  # the dictionary says the headers' words by reference
    assert compress.decode(compress.ZSTD, plain) == letter  # written before the dictionary
    other = zstandard.train_dictionary(4096, [p.read_bytes() for p in CORPUS], dict_id=42)
    unknown = zstandard.ZstdCompressor(dict_data=other).compress(letter)
    with pytest.raises(ValueError, match="dictionary 42"):
        compress.decode(compress.ZSTD, unknown)


@pytest.mark.integration
def test_the_corpus_is_stored_smaller_and_exported_byte_for_byte(
        store_url: str, tmp_path: Path, secret_env: str) -> None:
    letters = {f"{n:03d}": p.read_bytes() for n, p in enumerate(CORPUS)}
    # a big letter: more than BIG bytes even compressed (the blob-I/O and COPY paths)
    letters["big"] = letter(1, attachment=random.Random(7).randbytes(2 * MB))
    engine = open_store(store_url)
    try:
        ids = _take(engine, letters)
        stored = _stored(engine)
        with Session(engine) as s:
            for key, data in letters.items():
                assert read_raw(s, ids[key]) == data, key
            small = [ids[k] for k in letters if k != "big"]
            assert read_raws(s, small) == {ids[k]: letters[k] for k in letters if k != "big"}
    finally:
        engine.dispose()
    codecs = {stored[ids[k]][0] for k in letters}
    assert codecs == {compress.NONE, compress.ZSTD}
    assert stored[ids["big"]][0] == compress.ZSTD and stored[ids["big"]][1] >= BIG
    corpus_size = sum(len(d) for k, d in letters.items() if k != "big")
    assert sum(stored[ids[k]][1] for k in letters if k != "big") < corpus_size * 0.4
    config = write_config(tmp_path, store=store_url)
    order = list(letters)  # exported in the order the letters came (their ids)
    assert _exported(config, tmp_path / "out") == [letters[k] for k in order]


def test_a_backup_keeps_the_compressed_letters(tmp_path: Path, secret_env: str) -> None:
    letters = {f"{n:03d}": p.read_bytes() for n, p in enumerate(CORPUS[:20])}
    (tmp_path / "live").mkdir()
    live = write_config(tmp_path / "live")
    engine = open_store(load_config(live).store.url)
    try:
        _take(engine, letters)
    finally:
        engine.dispose()
    backup(load_config(live), tmp_path / "copy")
    (tmp_path / "fresh").mkdir()
    fresh = write_config(tmp_path / "fresh")
    restore(load_config(fresh), tmp_path / "copy")
    assert _exported(fresh, tmp_path / "out") == list(letters.values())


@pytest.mark.integration
def test_letters_stored_before_compression_still_read(store_url: str) -> None:
    old = CORPUS[0].read_bytes()
    engine = make_engine(store_url)
    try:
        migrate_store(engine, "0013_store_of_years")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO messages (id, direction, kind, status, to_addrs, "
                              "subject, raw_sha256, size, attempts, created_at) VALUES "
                              "(1, 'in', '', 'received', '', '', '', 0, 0, :now)"),
                         {"now": datetime.now(UTC)})
            conn.execute(text("INSERT INTO raws (message_pk, data) VALUES (1, :d)"), {"d": old})
        migrate_store(engine, "head")
        with Session(engine) as s:
            assert read_raw(s, 1) == old
            assert read_raws(s, [1]) == {1: old}
            row = s.get(Raw, 1)
            assert row is not None and row.codec == compress.NONE and row.letter() == old
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert [d for d in diff if "raws" in repr(d)] == []
    finally:
        engine.dispose()


@pytest.mark.integration
def test_a_big_letter_that_does_not_shrink_and_the_downgrade(store_url: str) -> None:
    """A big letter that compression would not shrink is kept as it is and read back; going
    back below 0009 writes every compressed letter back as it is."""
    noise = b"From: a@b.example\r\n\r\n" + random.Random(5).randbytes(BIG + 10)
    text_letter = CORPUS[1].read_bytes()
    engine = open_store(store_url)
    try:
        ids = _take(engine, {"noise": noise, "text": text_letter})
        stored = _stored(engine)
        assert stored[ids["noise"]] == (compress.NONE, len(noise))
        assert stored[ids["text"]][0] == compress.ZSTD
        with Session(engine) as s:
            assert read_raw(s, ids["noise"]) == noise
        migrate_store(engine, "0013_store_of_years", down=True)
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT message_pk, data FROM raws")).all())
        assert rows == {ids["noise"]: noise, ids["text"]: text_letter}
    finally:
        engine.dispose()
