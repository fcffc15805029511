"""FileTransport: exact bytes in <key>.eml, the envelope in <key>.json, nothing half-written."""

from __future__ import annotations

import json
from urllib.parse import unquote

from buhdesk.interfaces import Envelope, TransientDeliveryError
from buhdesk_connectors.fileoutbox import FileTransport, file_stem


def test_writes_eml_and_envelope_sidecar(tmp_path, make_message):
    data = make_message(subject="Ответ на запрос")
    envelope = Envelope("БУХ-2026-000001-1", "buh@example.org", ("a@example.org", "b@x.ru"), data)

    results = FileTransport(tmp_path / "outbox").send([envelope])

    assert results == {"БУХ-2026-000001-1": None}
    stem = file_stem(envelope.key)
    assert (tmp_path / "outbox" / f"{stem}.eml").read_bytes() == data
    sidecar = json.loads((tmp_path / "outbox" / f"{stem}.json").read_text(encoding="utf-8"))
    assert sidecar == {"key": envelope.key, "sender": "buh@example.org",
                       "recipients": ["a@example.org", "b@x.ru"]}
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [f"{stem}.eml",
                                                                       f"{stem}.json"]


def test_keys_become_safe_reversible_file_names():
    for key in ("a/b", "../x", ".", "..", "", "msg:1 2"):
        stem = file_stem(key)
        assert "/" not in stem and not stem.startswith(".") and stem
        if key:
            assert unquote(stem) == key


def test_resend_overwrites_the_same_files(tmp_path):
    transport = FileTransport(tmp_path)
    transport.send([Envelope("k", "s@x", ("r@x",), b"first\r\n")])
    transport.send([Envelope("k", "s@x", ("r@x",), b"second\r\n")])

    assert (tmp_path / "k.eml").read_bytes() == b"second\r\n"
    assert len(list(tmp_path.iterdir())) == 2


def test_unwritable_outbox_is_transient(tmp_path):
    transport = FileTransport(tmp_path / "outbox")
    (tmp_path / "outbox").rmdir()
    (tmp_path / "outbox").write_text("not a directory")

    results = transport.send([Envelope("k", "s@x", ("r@x",), b"x\r\n")])

    assert isinstance(results["k"], TransientDeliveryError)
