"""MaildirSource on a temporary Maildir: fetch order, keys, ack into .Processed, wait."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from buhdesk_connectors.maildir import MaildirSource


def _deliver(root: Path, sub: str, name: str, data: bytes, mtime: float) -> Path:
    path = root / sub / name
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def test_creates_the_maildir_structure(tmp_path):
    MaildirSource(name="md", path=tmp_path / "box")

    for sub in ("tmp", "new", "cur"):
        assert (tmp_path / "box" / sub).is_dir()
        assert (tmp_path / "box" / ".Processed" / sub).is_dir()


def test_fetch_reads_new_and_cur_oldest_first(tmp_path, make_message):
    source = MaildirSource(name="md", path=tmp_path)
    second = make_message(subject="second")
    first = make_message(subject="first")
    _deliver(tmp_path, "new", "1700000200.M2P1.host", second, 1_700_000_200)
    _deliver(tmp_path, "cur", "1700000100.M1P1.host:2,S", first, 1_700_000_100)

    items = source.fetch(10)

    assert [i.data for i in items] == [first, second]
    assert [i.key for i in items] == ["1700000100.M1P1.host", "1700000200.M2P1.host"]
    assert items[0].received_at.timestamp() == 1_700_000_100
    assert items[0].received_at.tzinfo is not None
    assert items[0].source == "md"


def test_limit_and_no_repeat_until_close(tmp_path, make_message):
    source = MaildirSource(name="md", path=tmp_path)
    for i in range(3):
        _deliver(tmp_path, "new", f"m{i}", make_message(), 1_700_000_000 + i)

    assert [i.key for i in source.fetch(2)] == ["m0", "m1"]
    assert [i.key for i in source.fetch(2)] == ["m2"]
    assert source.fetch(2) == []
    source.close()
    assert len(source.fetch(10)) == 3


def test_one_fetch_holds_at_most_batch_bytes(tmp_path):
    source = MaildirSource(name="md", path=tmp_path, batch_bytes=250_000)
    for i, size in enumerate([100_000, 100_000, 100_000, 600_000, 10]):
        _deliver(tmp_path, "new", f"m{i}", b"x" * size, 1_700_000_000 + i)

    assert [i.key for i in source.fetch(50)] == ["m0", "m1"]
    assert [i.key for i in source.fetch(50)] == ["m2"]  # m3 would go over the budget
    assert [i.key for i in source.fetch(50)] == ["m3"]  # bigger than the budget: alone
    assert [i.key for i in source.fetch(50)] == ["m4"]


def test_ack_moves_files_into_processed_cur(tmp_path, make_message):
    source = MaildirSource(name="md", path=tmp_path)
    _deliver(tmp_path, "new", "a1", make_message(), 1_700_000_000)
    _deliver(tmp_path, "cur", "a2:2,S", make_message(), 1_700_000_001)

    source.ack(source.fetch(10))

    assert list((tmp_path / "new").iterdir()) == []
    assert list((tmp_path / "cur").iterdir()) == []
    moved = sorted(p.name for p in (tmp_path / ".Processed" / "cur").iterdir())
    assert moved == ["a1:2,", "a2:2,S"]
    source.close()
    assert source.fetch(10) == []


def test_ack_of_a_file_already_gone_is_harmless(tmp_path, make_message):
    source = MaildirSource(name="md", path=tmp_path)
    path = _deliver(tmp_path, "new", "gone", make_message(), 1_700_000_000)
    items = source.fetch(10)
    path.unlink()

    source.ack(items)

    assert list((tmp_path / ".Processed" / "cur").iterdir()) == []


def test_wait_returns_when_a_message_arrives(tmp_path, make_message):
    source = MaildirSource(name="md", path=tmp_path, poll_interval=0.05)
    data = make_message(subject="late")
    timer = threading.Timer(0.2, lambda: (tmp_path / "new" / "late").write_bytes(data))
    timer.start()
    try:
        source.wait(30.0)
    finally:
        timer.join()

    assert [i.data for i in source.fetch(10)] == [data]
