"""Backup of a live store while another connection writes; restore into an empty place only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from support import ops_cli, scratch_database

from buhdesk.store.backup import BackupError, backup, restore
from buhdesk.store.blobs import BlobStore
from buhdesk.config import Config, load_config
from buhdesk.store.models import Attachment, Message, Request
from buhdesk.store.engine import open_store


def _config_file(folder: Path, url: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "buhdesk.toml"
    file.write_text(f'[store]\nurl = "{url or f"sqlite:///{folder}/buhdesk.db"}"\n'
                    'blobs = "blobs"\n[outbox]\nkind = "files"\npath = "out"\n', encoding="utf-8")
    return file


def _config(folder: Path, url: str | None = None) -> Config:
    return load_config(_config_file(folder, url))


def _add_request(session: Session, blobs: BlobStore, n: int) -> None:
    req = Request(number=f"БУХ-2026-{n:06d}", state="assigned", subject=f"Вопрос {n}")
    session.add(req)
    session.flush()
    msg = Message(direction="in", status="routed", source="minfin", source_key=f"1:{n}",
                  request_id=req.id, body_text=f"Текст обращения {n}")
    session.add(msg)
    session.flush()
    data = f"вложение {n % 7}".encode()  # some files shared between requests
    session.add(Attachment(message_pk=msg.id, filename="a.txt", size=len(data),
                           sha256=blobs.put(data)))


def _live_store(folder: Path, url: str, requests: int) -> tuple[Path, BlobStore]:
    """A configuration file over ``url`` holding ``requests`` requests with attachments."""
    live = _config_file(folder, url)
    engine = open_store(url)
    blobs = BlobStore(load_config(live).store.blobs)
    with Session(engine) as s:
        for n in range(1, requests + 1):
            _add_request(s, blobs, n)
        s.commit()
    engine.dispose()
    return live, blobs


def _request_numbers(url: str) -> list[str]:
    engine = open_store(url)
    try:
        with Session(engine) as s:
            return sorted(s.exec(select(Request.number)).all())
    finally:
        engine.dispose()


def test_backup_of_a_live_store_restores_consistently(tmp_path: Path) -> None:
    live = _config(tmp_path / "live")
    engine = open_store(live.store.url)
    blobs = BlobStore(live.store.blobs)
    with Session(engine) as s:
        for n in range(1, 51):
            _add_request(s, blobs, n)
        s.commit()

    stop, written = threading.Event(), [0]

    def writer() -> None:  # another connection keeps writing during the backup
        n = 1000
        while not stop.is_set() and n < 3000:
            with Session(engine) as s:
                _add_request(s, blobs, n)
                s.commit()
            n += 1
            written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 5:
            stop.wait(0.01)
        manifest = backup(live, tmp_path / "copy")
    finally:
        stop.set()
        thread.join()
    engine.dispose()

    assert manifest.store == "sqlite"
    assert manifest.counts["requests"] >= 55
    # one transaction per request: the snapshot never holds half of one
    assert manifest.counts["requests"] == manifest.counts["messages"]
    assert manifest.counts["messages"] == manifest.counts["attachments"]
    assert manifest.missing_blobs == []
    assert manifest.blobs.files == 7 and manifest.blobs.linked == 7
    on_disk = json.loads((tmp_path / "copy" / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["sha256"] == manifest.sha256

    fresh = _config(tmp_path / "fresh")
    report = restore(fresh, tmp_path / "copy")
    assert report.blobs.files == 7
    numbers = _request_numbers(fresh.store.url)
    assert len(numbers) == manifest.counts["requests"]
    assert numbers[:50] == [f"БУХ-2026-{n:06d}" for n in range(1, 51)]
    restored = BlobStore(fresh.store.blobs)
    assert restored.get(blobs.put("вложение 3".encode())) == "вложение 3".encode()


def test_backup_names_attachments_whose_file_is_missing(
        store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live, blobs = _live_store(tmp_path / "live", store_url, 7)
    lost = blobs.put("вложение 2".encode())
    blobs.path(lost).unlink()  # removed by hand, say

    assert ops_cli(live, "backup", str(tmp_path / "copy")) == 0

    assert "Внимание: нет файлов вложений: 1" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "copy" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["missing_blobs"] == [lost]
    assert manifest["counts"]["attachments"] == 7


def test_restore_refuses_a_store_with_data_unless_forced(tmp_path: Path) -> None:
    cfg = _config(tmp_path / "live")
    engine = open_store(cfg.store.url)
    with Session(engine) as s:
        _add_request(s, BlobStore(cfg.store.blobs), 1)
        s.commit()
    backup(cfg, tmp_path / "copy")
    with Session(engine) as s:
        _add_request(s, BlobStore(cfg.store.blobs), 2)
        s.commit()
    engine.dispose()

    with pytest.raises(BackupError, match="не пусто"):
        restore(cfg, tmp_path / "copy")
    assert len(_request_numbers(cfg.store.url)) == 2  # untouched
    restore(cfg, tmp_path / "copy", force=True)
    assert _request_numbers(cfg.store.url) == ["БУХ-2026-000001"]


def test_restore_rejects_a_damaged_copy(tmp_path: Path) -> None:
    cfg = _config(tmp_path / "live")
    engine = open_store(cfg.store.url)
    with Session(engine) as s:
        _add_request(s, BlobStore(cfg.store.blobs), 1)
        s.commit()
    engine.dispose()
    backup(cfg, tmp_path / "copy")
    db = tmp_path / "copy" / "buhdesk.db"
    data = bytearray(db.read_bytes())
    data[-100] ^= 0xFF
    db.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="контрольная сумма"):
        restore(_config(tmp_path / "fresh"), tmp_path / "copy")
    assert not (tmp_path / "fresh" / "buhdesk.db").exists()


def test_backup_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    cfg = _config(tmp_path / "live")
    open_store(cfg.store.url).dispose()
    dest = tmp_path / "copy"
    dest.mkdir()
    (dest / "old.txt").write_text("x", encoding="utf-8")
    with pytest.raises(BackupError, match="не пуст"):
        backup(cfg, dest)


@pytest.fixture
def empty_pg_database(store_url: str) -> Iterator[str]:
    """A second, empty (unmigrated) database on the test's PostgreSQL server: a restore target."""
    with scratch_database(store_url, "buhdesk_restore") as url:
        yield url


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_postgresql_backup_restores_into_an_empty_database_by_the_cli(
        store_url: str, empty_pg_database: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    live, blobs = _live_store(tmp_path / "live", store_url, 10)

    assert ops_cli(live, "backup", str(tmp_path / "copy")) == 0
    out = capsys.readouterr().out
    assert "обращений: 10, сообщений: 10, файлов вложений: 7" in out
    assert "нет файлов вложений" not in out
    manifest = json.loads((tmp_path / "copy" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["store"] == "postgresql"
    assert manifest["counts"]["attachments"] == 10
    assert manifest["missing_blobs"] == []
    assert (tmp_path / "copy" / manifest["database"]).stat().st_size == manifest["size"]

    assert ops_cli(live, "restore", str(tmp_path / "copy")) == 1  # the live store holds data
    assert "не пусто" in capsys.readouterr().err

    fresh = _config_file(tmp_path / "fresh", empty_pg_database)
    assert ops_cli(fresh, "restore", str(tmp_path / "copy")) == 0
    assert "обращений: 10" in capsys.readouterr().out
    assert _request_numbers(empty_pg_database) == [f"БУХ-2026-{n:06d}" for n in range(1, 11)]
    restored = BlobStore(load_config(fresh).store.blobs)
    assert restored.get(blobs.put("вложение 3".encode())) == "вложение 3".encode()

    sqlite_side = _config_file(tmp_path / "other")  # a PostgreSQL dump cannot go into SQLite
    assert ops_cli(sqlite_side, "restore", str(tmp_path / "copy")) == 1
    assert "из PostgreSQL" in capsys.readouterr().err
