"""Each attachment stored once: after routing, a letter is kept without the base64 of its
attachments and rebuilt byte for byte from their files — on export (``buhdesk letters``), by
the readers of the store, after a backup and restore — on SQLite and PostgreSQL. Base64 that
would not be written again exactly stays in the letter; a file stays while a letter needs it."""

from __future__ import annotations

import base64
import hashlib
import io
import random
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import write_config
from sqlalchemy import func, select, update
from sqlmodel import Session, col
from support import letter, scratch_database

from buhdesk.cli.command import main
from buhdesk.config import load_config
from buhdesk.intake.take import take_in
from buhdesk.interfaces import RawItem
from buhdesk.route import letters as route_letters
from buhdesk.route.letters import route_pending
from buhdesk.rules.book import RuleBook
from buhdesk.schedule.retention import purge
from buhdesk.service.runtime import Runtime, build_runtime
from buhdesk.store import compress, splice
from buhdesk.store.backup import backup, restore
from buhdesk.store.models import Attachment, Message, Raw, RawCut, Request
from buhdesk.store.raw import read_raw, read_raws

MB = 1 << 20
PDF = b"%PDF-1.4\n" + random.Random(11).randbytes(60_000)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mime(n: int, body: bytes, *, eol: bytes = b"\r\n") -> bytes:
    """A letter from employee ``n`` whose PDF part's body is ``body`` exactly, as written."""
    head = (f"From: employee{n}@culture.example\r\nTo: buh@minfin.example\r\n"
            f"Subject: Справка {n}\r\nMessage-ID: <splice{n}@culture.example>\r\n"
            f"Date: Tue, 24 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
            f"--BB\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\nПрошу справку 2-НДФЛ ({n}).\r\n"
            f"--BB\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\n"
            f"Content-Disposition: attachment; filename=\"doc.pdf\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode()
    return (head.replace(b"\r\n", eol) + body + b"--BB--" + eol)


def _lines(data: bytes, width: int, eol: bytes, *, final: bool = True) -> bytes:
    text = base64.b64encode(data)
    run = eol.join(text[i:i + width] for i in range(0, len(text), width))
    return run + eol if final else run


# name: (letter, whether its base64 is cut out)
VARIANTS: dict[str, tuple[bytes, bool]] = {
    "crlf-76": (_mime(1, _lines(PDF, 76, b"\r\n")), True),
    "lf-76": (_mime(2, _lines(PDF, 76, b"\n"), eol=b"\n"), True),
    "crlf-64": (_mime(3, _lines(PDF, 64, b"\r\n")), True),
    "odd-75": (_mime(4, _lines(PDF, 75, b"\r\n")), True),
    "no-final-eol": (_mime(5, b"")[:-len(b"--BB--\r\n")] +
                     _lines(PDF, 76, b"\r\n", final=False), True),
    "one-line": (_mime(6, base64.b64encode(PDF) + b"\r\n"), True),
    "trailing-spaces": (_mime(7, _lines(PDF, 76, b" \r\n")), False),
    "mixed-eol": (_mime(8, _lines(PDF, 76, b"\r\n").replace(b"\r\n", b"\n", 5)), False),
    "broken": (_mime(9, _lines(PDF, 76, b"\r\n").replace(b"A", b"*", 1)), False),
    "short-last-lines": (_mime(10, _lines(PDF[:30_000], 76, b"\r\n") +
                               _lines(PDF[30_000:], 76, b"\r\n")), False),
}


def test_only_base64_written_again_exactly_is_cut() -> None:
    for name, (data, cut) in VARIANTS.items():
        cuts = splice.find_cuts(data, {_sha(PDF)})
        assert bool(cuts) == cut, name
        rest = splice.spliced(data, cuts)
        assert splice.rebuilt(rest, cuts, lambda sha: io.BytesIO({_sha(PDF): PDF}[sha])) == data, name
        if cut:
            assert len(rest) < 1000, name
    # a file that is not the letter's own is never cut, however it looks
    assert splice.find_cuts(VARIANTS["crlf-76"][0], {_sha(b"another file")}) == []
    small = _mime(1, _lines(PDF[:2000], 76, b"\r\n"))  # below MIN_RUN: not worth a row
    assert splice.find_cuts(small, {_sha(PDF[:2000])}) == []


def test_a_changed_file_is_named_not_rebuilt_wrong() -> None:
    data = VARIANTS["crlf-76"][0]
    cuts = splice.find_cuts(data, {_sha(PDF)})
    with pytest.raises(ValueError, match=_sha(PDF)):
        splice.rebuilt(splice.spliced(data, cuts), cuts, lambda sha: io.BytesIO(PDF[:-1] + b"x"))


@pytest.fixture
def site(tmp_path: Path, secret_env: str, store_url: str,
         shipped_rules: RuleBook) -> Iterator[tuple[Path, Runtime]]:
    config = write_config(tmp_path, store=store_url)
    rt = build_runtime(load_config(config), rules=shipped_rules)
    try:
        yield config, rt
    finally:
        rt.engine.dispose()


def _take_and_route(rt: Runtime, letters: dict[str, bytes]) -> dict[str, int]:
    items = [RawItem(source="minfin", key=key, data=data, received_at=datetime.now(UTC))
             for key, data in letters.items()]
    assert not items or not take_in(rt.engine, items, max_bytes=16 * MB).held
    while route_pending(rt):
        pass
    with Session(rt.engine) as s:
        return {m.source_key or "": m.id or 0 for m in s.execute(select(Message).where(
            col(Message.direction) == "in")).scalars()}


def _stored(rt: Runtime, pk: int) -> tuple[int, int, int]:
    """codec, stored size, cuts of message ``pk``'s raw row."""
    with Session(rt.engine) as s:
        codec, size = s.execute(select(col(Raw.codec), func.length(col(Raw.data)))
                                .where(col(Raw.message_pk) == pk)).one()
        cuts = s.execute(select(func.count()).select_from(RawCut)
                         .where(col(RawCut.message_pk) == pk)).scalar_one()
    return codec, size, cuts


def _export(config: Path, rt: Runtime, pk: int, out: Path) -> bytes:
    with Session(rt.engine) as s:
        request_id = s.get(Message, pk).request_id  # type: ignore[union-attr]
        number = s.get(Request, request_id).number  # type: ignore[union-attr]
    assert main(["--config", str(config), "letters", number, "--out", str(out)]) == 0
    [path] = sorted(out.glob("*.eml"))
    return path.read_bytes()


@pytest.mark.integration
def test_a_routed_letter_is_kept_without_its_pdf_and_exported_byte_for_byte(
        site: tuple[Path, Runtime], tmp_path: Path) -> None:
    config, rt = site
    ids = _take_and_route(rt, {key: data for key, (data, _) in VARIANTS.items()})
    for key, (data, cut) in VARIANTS.items():
        codec, size, cuts = _stored(rt, ids[key])
        assert bool(codec & compress.SPLICED) == cut and bool(cuts) == cut, key
        if cut:
            assert size < 1000 < len(data) // 50, key
        assert _export(config, rt, ids[key], tmp_path / key) == data, key
    with Session(rt.engine) as s:
        assert read_raws(s, list(ids.values()), rt.blobs) == {
            ids[k]: data for k, (data, _) in VARIANTS.items()}
        with pytest.raises(ValueError, match="attachment files"):
            read_raw(s, ids["crlf-76"])  # a reader that forgot the files is told so
        hashes = set(s.execute(select(col(Attachment.sha256))).scalars())
    assert _sha(PDF) in hashes and rt.blobs.get(_sha(PDF)) == PDF


@pytest.mark.integration
def test_a_letter_made_by_the_mail_library_is_cut(site: tuple[Path, Runtime],
                                                  tmp_path: Path) -> None:
    config, rt = site
    data = letter(1, attachment=PDF)
    ids = _take_and_route(rt, {"one": data})
    codec, size, cuts = _stored(rt, ids["one"])
    assert codec & compress.SPLICED and cuts == 1 and size < len(data) // 20
    assert _export(config, rt, ids["one"], tmp_path / "out") == data


@pytest.mark.integration
def test_a_shared_file_stays_while_a_letter_needs_it(site: tuple[Path, Runtime],
                                                    tmp_path: Path) -> None:
    config, rt = site
    first, second = letter(1, attachment=PDF), letter(2, attachment=PDF)
    ids = _take_and_route(rt, {"first": first, "second": second})
    assert len([p for p in rt.blobs.root.rglob("*") if p.is_file()
                and not p.name.startswith(".")]) == 1
    long_ago = datetime.now(UTC) - timedelta(days=5 * 365)
    with Session(rt.engine) as s:
        s.execute(update(Request).where(col(Request.id) == s.get(
            Message, ids["first"]).request_id).values(  # type: ignore[union-attr]
            state="closed", closed_at=long_ago))
        # even with no live attachment row left, the kept letter's cut holds the file
        s.execute(update(Attachment).where(col(Attachment.message_pk) == ids["second"])
                  .values(purged=True))
        s.commit()
    act = purge(rt.engine, rt.blobs, timedelta(days=3 * 365), datetime.now(UTC),
                tmp_path / "acts")
    assert len(act.items) == 1 and act.files_deleted == 0
    assert rt.blobs.get(_sha(PDF)) == PDF
    assert _export(config, rt, ids["second"], tmp_path / "out") == second
    with Session(rt.engine) as s:
        assert s.execute(select(func.count()).select_from(RawCut)
                         .where(col(RawCut.message_pk) == ids["first"])).scalar_one() == 0


@pytest.mark.integration
def test_a_failed_routing_leaves_the_letter_whole(site: tuple[Path, Runtime], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    config, rt = site

    def broken(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(route_letters, "handle_commands", broken)  # after the files are staged
    data = letter(1, attachment=PDF)
    ids = _take_and_route(rt, {"one": data})
    codec, size, cuts = _stored(rt, ids["one"])
    assert not codec & compress.SPLICED and cuts == 0 and size > len(PDF)
    with Session(rt.engine) as s:
        msg = s.get(Message, ids["one"])
        assert msg is not None and msg.status == "held"
        assert read_raw(s, ids["one"]) == data


@pytest.mark.integration
def test_a_backup_keeps_the_files_the_letters_need(tmp_path: Path, secret_env: str,
                                                   store_url: str,
                                                   shipped_rules: RuleBook) -> None:
    (tmp_path / "live").mkdir()
    live = write_config(tmp_path / "live", store=store_url)
    rt = build_runtime(load_config(live), rules=shipped_rules)
    try:
        letters = {"one": letter(1, attachment=PDF), "two": VARIANTS["odd-75"][0]}
        ids = _take_and_route(rt, letters)
        assert all(_stored(rt, pk)[0] & compress.SPLICED for pk in ids.values())
        with Session(rt.engine) as s:  # only the cut names the file now
            s.execute(update(Attachment).values(purged=True))
            s.commit()
    finally:
        rt.engine.dispose()
    manifest = backup(load_config(live), tmp_path / "copy")
    assert manifest.missing_blobs == []
    (tmp_path / "fresh").mkdir()
    with ExitStack() as stack:
        target = None if store_url.startswith("sqlite") else stack.enter_context(
            scratch_database(store_url, "buhdesk_restore"))
        fresh = write_config(tmp_path / "fresh", store=target)
        restore(load_config(fresh), tmp_path / "copy")
        rt = build_runtime(load_config(fresh), rules=shipped_rules)
        try:
            for key, data in letters.items():
                assert _export(fresh, rt, ids[key], tmp_path / key) == data
        finally:
            rt.engine.dispose()


@pytest.mark.integration
def test_a_big_letter_is_kept_without_its_attachment_and_exported_byte_for_byte(
        site: tuple[Path, Runtime], tmp_path: Path) -> None:
    """A letter over BIG: its runs are checked and written again in pieces (never copied
    whole); its rest is small, so the row is."""
    config, rt = site
    payload = random.Random(5).randbytes(3 * MB + 7)
    data = letter(1, attachment=payload)
    ids = _take_and_route(rt, {"big": data})
    codec, size, cuts = _stored(rt, ids["big"])
    assert codec & compress.SPLICED and cuts == 1 and size < 2000
    assert rt.blobs.get(_sha(payload)) == payload
    with Session(rt.engine) as s:
        assert read_raw(s, ids["big"], rt.blobs) == data
    assert _export(config, rt, ids["big"], tmp_path / "out") == data


@pytest.mark.integration
def test_a_spliced_letter_routed_again_is_read_whole(site: tuple[Path, Runtime],
                                                     tmp_path: Path) -> None:
    """A released letter is routed again (``quarantine``): the route reads it rebuilt and
    leaves the letter as it is kept."""
    config, rt = site
    data = letter(1, attachment=PDF)
    ids = _take_and_route(rt, {"one": data})
    before = _stored(rt, ids["one"])
    with Session(rt.engine) as s:
        s.execute(update(Message).where(col(Message.id) == ids["one"]).values(status="received"))
        s.commit()
    _take_and_route(rt, {})
    with Session(rt.engine) as s:
        msg = s.get(Message, ids["one"])
        assert msg is not None and msg.status != "held", msg.reason
    assert _stored(rt, ids["one"]) == before
    assert _export(config, rt, ids["one"], tmp_path / "out") == data
