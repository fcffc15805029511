"""Attachment files: one file per content however many letters carry it; staged files made
durable in one pass before the commit that names them (files synced, renamed, folders synced
once), gone when the transaction rolls back; the purge never deletes a file a letter being
stored is about to name."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from buhdesk.schedule.retention import _delete_unreferenced
from buhdesk.service.runner import Daemon
from buhdesk.store.backup import copy_tree
from buhdesk.store import blobs as blobs_module
from buhdesk.store.blobs import LOCK, BlobStore, stored_files
from buhdesk.store.engine import open_store
from buhdesk.store.models import Attachment, Message

SCAN = bytes(range(256)) * 40  # the same scan sent by two people


def _letter(n: int, files: dict[str, bytes]) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"employee{n}@culture.example"
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = f"Авансовый отчёт {n}"
    msg["Message-ID"] = f"<scan-{n}@culture.example>"
    msg.set_content("Добрый день! Направляю скан.")
    for name, data in files.items():
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


def _files(root: Path) -> list[Path]:
    """The files under their names (not the lock, not what is being staged)."""
    return list(stored_files(root))


def test_two_letters_with_the_same_file_share_one(daemon: Daemon) -> None:
    source = daemon.sources[0]
    source.put(_letter(1, {"скан.pdf": SCAN, "своё-1.pdf": b"%PDF own 1"}))  # type: ignore[attr-defined]
    source.put(_letter(2, {"отчёт.pdf": SCAN}))  # type: ignore[attr-defined]
    daemon.drain()
    with Session(daemon.rt.engine) as s:
        rows = s.execute(select(col(Attachment.filename), col(Attachment.sha256))
                         .order_by(col(Attachment.id))).all()
    blobs = daemon.rt.blobs
    assert [name for name, _ in rows] == ["скан.pdf", "своё-1.pdf", "отчёт.pdf"]
    assert rows[0][1] == rows[2][1] != rows[1][1]
    assert _files(blobs.root) == sorted({blobs.path(sha) for _, sha in rows})
    assert blobs.get(rows[2][1]) == SCAN
    assert not [p for p in blobs.root.rglob("*.tmp")]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, BlobStore]]:
    engine = open_store(f"sqlite:///{tmp_path}/buhdesk.db")
    yield engine, BlobStore(tmp_path / "blobs")
    engine.dispose()


def _message(session: Session) -> int:
    msg = Message(direction="in", status="routed")
    session.add(msg)
    session.flush()
    assert msg.id is not None
    return msg.id


def test_files_are_durable_in_one_pass_before_the_commit(
        store: tuple[Engine, BlobStore], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, blobs = store
    steps: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        steps.append(("sync-folder" if path.is_dir() else "sync-file", str(path)))
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        steps.append(("rename", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    event.listen(engine, "commit", lambda conn: steps.append(("commit", "")))
    payloads = [f"файл {n}".encode() for n in range(5)]
    with Session(engine) as s:
        pk = _message(s)
        hashes = [blobs.stage(s, data) for data in [*payloads, payloads[0]]]
        for sha in hashes:
            s.add(Attachment(message_pk=pk, filename="f.pdf", sha256=sha))
        assert not [step for step in steps if step[0] != "commit"]  # nothing synced while routing
        assert _files(blobs.root) == []  # nothing under its name before it is durable
        s.commit()
    kinds = [kind for kind, _ in steps]
    files, folders = kinds.count("sync-file"), kinds.count("sync-folder")
    assert files == 5 and kinds.count("rename") == 5
    assert kinds == ["sync-file"] * 5 + ["rename"] * 5 + ["sync-folder"] * folders + ["commit"]
    synced_folders = [p for kind, p in steps if kind == "sync-folder"]
    assert len(set(synced_folders)) == folders  # each folder once
    assert {str(blobs.path(h).parent) for h in hashes} <= set(synced_folders)
    assert str(blobs.root) in synced_folders  # new first-level folders are named there
    assert _files(blobs.root) == sorted({blobs.path(h) for h in hashes})
    assert [blobs.get(h) for h in hashes[:5]] == payloads


def test_a_rolled_back_transaction_leaves_no_file(store: tuple[Engine, BlobStore]) -> None:
    engine, blobs = store
    with Session(engine) as s:
        pk = _message(s)
        sha = blobs.stage(s, b"never committed")
        s.add(Attachment(message_pk=pk, filename="f.pdf", sha256=sha))
        s.rollback()
    assert [p for p in blobs.root.rglob("*") if p.is_file() and p.name != LOCK] == []


def test_a_file_that_cannot_be_made_durable_fails_the_commit(
        store: tuple[Engine, BlobStore], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, blobs = store

    def fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with Session(engine) as s:
        pk = _message(s)
        s.add(Attachment(message_pk=pk, filename="f.pdf", sha256=blobs.stage(s, b"scan")))
        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(OSError, match="No space"):
            s.commit()
    monkeypatch.undo()
    with Session(engine) as s:
        assert s.execute(select(Attachment)).first() is None  # the row was not committed
    assert [p for p in blobs.root.rglob("*") if p.is_file() and p.name != LOCK] == []


def _locked_out(blobs: BlobStore) -> bool:
    """Whether the purge would have to wait now (the lock is held by a transaction)."""
    fd = os.open(blobs.root / LOCK, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_the_purge_waits_for_a_letter_that_names_an_existing_file(
        store: tuple[Engine, BlobStore]) -> None:
    engine, blobs = store
    with Session(engine) as s:  # an old letter's file, no longer referred to
        pk = _message(s)
        s.add(Attachment(message_pk=pk, filename="old.pdf", purged=True,
                         sha256=blobs.stage(s, SCAN)))
        s.commit()
    sha = blobs.put(SCAN)
    assert not _locked_out(blobs)
    deleted: list[int] = []
    with Session(engine) as s:  # a new letter carries the same file
        pk = _message(s)
        assert blobs.stage(s, SCAN) == sha
        s.add(Attachment(message_pk=pk, filename="new.pdf", sha256=sha))
        assert _locked_out(blobs)
        purge = threading.Thread(target=lambda: deleted.append(
            _delete_unreferenced(engine, blobs, {sha})))
        purge.start()
        purge.join(0.5)  # the purge, if not held off, would delete the file now
        s.commit()
    purge.join()
    assert deleted == [0] and blobs.get(sha) == SCAN
    assert not _locked_out(blobs)
    with Session(engine) as s:  # once no row refers to it, the purge deletes it
        s.execute(select(Attachment).order_by(col(Attachment.id))).scalars().all()[-1].purged = True
        s.commit()
    assert _delete_unreferenced(engine, blobs, {sha}) == 1
    assert not blobs.path(sha).exists()


def test_a_file_cut_short_is_not_kept(store: tuple[Engine, BlobStore],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A write failing halfway (a full disk) inside a savepoint that is rolled back, in a
    transaction that goes on and commits: the cut file never appears under its name."""
    engine, blobs = store
    real_open = open

    class Full:
        def __init__(self, path: Path, mode: str) -> None:
            self.fh = real_open(path, mode)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: bytes) -> int:
            self.fh.write(data[:10])
            raise OSError(28, "No space left on device")

    with Session(engine) as s:
        pk = _message(s)
        monkeypatch.setattr(blobs_module, "open", Full, raising=False)  # the module's open()
        with pytest.raises(OSError), s.begin_nested():
            blobs.stage(s, SCAN)
        monkeypatch.undo()
        s.add(Attachment(message_pk=pk, filename="other.pdf", sha256=blobs.stage(s, b"other")))
        s.commit()
    assert not blobs.path(hashlib.sha256(SCAN).hexdigest()).exists()
    assert [p.name for p in blobs.root.rglob("*") if p.is_file()
            and p.name != LOCK] == [hashlib.sha256(b"other").hexdigest()]


def test_what_a_crash_leaves_staged_is_swept_a_day_later_and_never_backed_up(
        store: tuple[Engine, BlobStore], tmp_path: Path) -> None:
    engine, blobs = store
    with Session(engine) as s:  # one file made durable and named by a committed row
        pk = _message(s)
        s.add(Attachment(message_pk=pk, filename="f.pdf", sha256=blobs.stage(s, SCAN)))
        s.commit()
    # a transaction killed while staging: its files stay where staged files are written
    staging = blobs.root / blobs_module.STAGING
    old, fresh = staging / "a.1.2.tmp", staging / "b.1.3.tmp"
    old.write_bytes(b"half a scan")
    fresh.write_bytes(b"being written now")
    now = fresh.stat().st_mtime
    os.utime(old, (now - blobs_module.LEFT_OVER - 60,) * 2)
    assert copy_tree(blobs.root, tmp_path / "copy").files == 1  # the stored file alone
    assert blobs.sweep(now) == 1
    assert not old.exists() and fresh.exists()
    assert blobs.path(hashlib.sha256(SCAN).hexdigest()).exists()
    assert blobs.sweep(now) == 0
