"""The «ДелоПро» export folder: completeness, claiming (also under races), recovery, processed
and failed moves, answer packages and receipts."""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from buhdesk_connectors.delopro import (
    AnswerPackage,
    DeloproFolder,
    DeloproUnavailable,
    InReplyTo,
    PackageError,
    Person,
)
from buhdesk_connectors.delopro_source import DeloproSource

SAMPLES = Path(__file__).parent / "corpus" / "delopro_samples"  # the «ДелоПро» contract samples
NS = "{urn:ru-67-minfin:delopro-export:1}"
AT = datetime(2025, 3, 18, 15, 20, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def copy_pkg(src: Path, dest: Path, *, ready: bool = True) -> Path:
    shutil.copytree(src, dest, copy_function=shutil.copyfile)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if not ready:
        (dest / "READY").unlink(missing_ok=True)
    return dest


def card_pkg(folder: DeloproFolder, name: str, *, ready: bool = True) -> Path:
    return copy_pkg(SAMPLES / "contract" / "pkg", folder.root / "incoming" / name, ready=ready)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def folder(tmp_path: Path, clock: FakeClock) -> DeloproFolder:
    (tmp_path / "root").mkdir()  # the export folder is the EDMS's (or the share's), never made
    f = DeloproFolder(tmp_path / "root", stable_interval=30.0, clock=clock)
    f.ensure_layout()
    return f


def test_layout_is_created(folder: DeloproFolder) -> None:
    for name in (
        "incoming",
        "work",
        "processed",
        "failed",
        "outgoing",
        "outgoing/.tmp",
        "receipts",
    ):
        assert (folder.root / name).is_dir()


def test_marked_packages_are_found_and_temporary_ones_ignored(folder: DeloproFolder) -> None:
    card_pkg(folder, "A")
    card_pkg(folder, ".hidden")
    card_pkg(folder, "B.tmp")
    assert [r.name for r in folder.scan()] == ["A"]


def test_native_markers(folder: DeloproFolder) -> None:
    copy_pkg(SAMPLES / "medo", folder.root / "incoming" / "M")  # envelope.ini
    copy_pkg(SAMPLES / "sev", folder.root / "incoming" / "S")  # no envelope yet
    assert [r.name for r in folder.scan()] == ["M"]
    (folder.root / "incoming" / "S.env").write_text("<Envelop/>")
    assert sorted(r.name for r in folder.scan()) == ["M", "S"]


def test_unmarked_package_counts_after_two_stable_scans(
    folder: DeloproFolder, clock: FakeClock
) -> None:
    pkg = card_pkg(folder, "P", ready=False)
    assert folder.scan() == []
    clock.now += 10
    assert folder.scan() == []  # unchanged, but not long enough
    (pkg / "files" / "late.pdf").write_bytes(b"still writing")
    clock.now += 25
    assert folder.scan() == []  # changed: the interval starts again
    clock.now += 29
    assert folder.scan() == []
    clock.now += 1
    assert [r.name for r in folder.scan()] == ["P"]


def test_unmarked_zip_counts_after_two_stable_scans(
    folder: DeloproFolder, clock: FakeClock
) -> None:
    (folder.root / "incoming" / "Z.zip").write_bytes(b"PK partial")
    assert folder.scan() == []
    clock.now += 31
    (ref,) = folder.scan()
    assert (ref.name, ref.kind) == ("Z", "zip")


def test_listing_error_is_no_information(tmp_path: Path) -> None:
    folder = DeloproFolder(tmp_path / "absent")
    with pytest.raises(DeloproUnavailable):
        folder.scan()


def test_a_missing_export_folder_is_reported_and_never_made(tmp_path: Path) -> None:
    # a wrong path, or a share not mounted: an empty local folder would take nothing in and
    # would swallow the answer packages written to it
    root = tmp_path / "share" / "edms"
    source = DeloproSource("edms", root, stable_interval=0.0)
    with pytest.raises(DeloproUnavailable, match="не найдена.*не создаёт"):
        source.fetch(10)
    assert not (tmp_path / "share").exists()
    with pytest.raises(FileNotFoundError):
        DeloproFolder(root).ensure_layout()
    root.mkdir(parents=True)  # the share is back: the source goes on by itself
    assert list(source.fetch(10)) == []
    assert (root / "incoming").is_dir() and (root / "outgoing").is_dir()


def test_claim_moves_to_work_once(folder: DeloproFolder) -> None:
    card_pkg(folder, "A")
    (ref,) = folder.scan()
    pkg = folder.claim(ref)
    assert pkg is not None and pkg.path == folder.root / "work" / "A" and pkg.path.is_dir()
    assert not ref.path.exists()
    assert folder.claim(ref) is None


def test_sev_envelope_beside_the_folder_goes_with_it(folder: DeloproFolder) -> None:
    copy_pkg(SAMPLES / "sev", folder.root / "incoming" / "S")
    (folder.root / "incoming" / "S.env").write_text("<Envelop/>")
    pkg = folder.claim(folder.scan()[0])
    assert pkg is not None and (pkg.path / "S.env").is_file()
    assert not (folder.root / "incoming" / "S.env").exists()


def test_claim_takes_a_free_name_when_work_has_one(folder: DeloproFolder) -> None:
    (folder.root / "work" / "A").mkdir()
    (folder.root / "work" / "A" / "keep").write_text("older")
    card_pkg(folder, "A")
    pkg = folder.claim(folder.scan()[0])
    assert pkg is not None and pkg.path.name == "A~2" and pkg.name == "A"
    assert (folder.root / "work" / "A" / "keep").read_text() == "older"


def _race(root: Path, barrier: threading.Barrier, out: list[str]) -> None:
    folder = DeloproFolder(root, stable_interval=0.0)
    refs = folder.scan()
    barrier.wait()
    for ref in refs:
        pkg = folder.claim(ref)
        if pkg is not None:
            out.append(pkg.path.name)


def test_racing_instances_never_claim_a_package_twice(folder: DeloproFolder) -> None:
    for i in range(40):
        card_pkg(folder, f"P{i:02d}")
        zdata = (SAMPLES / "contract" / "pkg" / "card.xml").read_bytes()
        (folder.root / "incoming" / f"Z{i:02d}.zip").write_bytes(zdata)
        (folder.root / "incoming" / f"Z{i:02d}.zip.ready").write_bytes(b"")
    barrier, results = threading.Barrier(4), [[] for _ in range(4)]
    threads = [threading.Thread(target=_race, args=(folder.root, barrier, r)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [name for r in results for name in r]
    assert len(claimed) == len(set(claimed)) == 80
    assert sorted(os.listdir(folder.root / "work")) == sorted(claimed)
    assert os.listdir(folder.root / "incoming") == []


def test_recover_picks_up_work(folder: DeloproFolder) -> None:
    card_pkg(folder, "A")
    (folder.root / "incoming" / "Z.zip").write_bytes(zip_of(SAMPLES / "contract" / "pkg"))
    (folder.root / "incoming" / "Z.zip.ready").write_bytes(b"")
    for ref in folder.scan():
        folder.claim(ref)
    restarted = DeloproFolder(folder.root)
    found = {(p.name, p.kind) for p in restarted.recover()}
    assert found == {("A", "folder"), ("Z", "zip")}
    for pkg in restarted.recover():
        assert restarted.load(pkg).reg_number == "ВН-1245/25"


def test_finish_moves_to_processed_with_receipt(folder: DeloproFolder) -> None:
    card_pkg(folder, "A")
    pkg = folder.claim(folder.scan()[0])
    assert pkg is not None
    card = folder.load(pkg)
    dest = folder.finish(pkg, request_number="БУХ-2025-000187", at=AT)
    assert dest == folder.root / "processed" / "2025" / "03" / "A"
    receipt = json.loads((dest / "receipt.json").read_text("utf-8"))
    assert receipt == {"request": "БУХ-2025-000187", "at": AT.isoformat(), "doc_uid": card.doc_uid}
    assert (dest / "card.xml").read_bytes() == card.original
    card_pkg(folder, "A")
    pkg2 = folder.claim(folder.scan()[0])
    assert pkg2 is not None
    folder.load(pkg2)
    assert folder.finish(pkg2, request_number="БУХ-2025-000188", at=AT).name == "A~2"
    assert os.listdir(folder.root / "work") == []


def test_fail_writes_error_json_and_suffixes_clashes(folder: DeloproFolder) -> None:
    first = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
    for expected in ("A", "A~2"):
        pkg_dir = card_pkg(folder, "A")
        (pkg_dir / "files" / "002_avansovyi_otchet.xlsx").unlink()
        pkg = folder.claim(folder.scan()[0])
        assert pkg is not None
        with pytest.raises(PackageError) as err:
            folder.load(pkg)
        dest = folder.fail(pkg, err.value, first_seen=first)
        assert dest == folder.root / "failed" / expected
        error = json.loads((dest / "error.json").read_text("utf-8"))
        assert (
            error["code"] == "file_missing" and error["file"] == "files/002_avansovyi_otchet.xlsx"
        )
        assert "нет в пакете" in error["message"] and error["first_seen"] == first.isoformat()


def zip_of(src: Path, *, cp866: bool = False, wrap: str = "") -> bytes:
    """Zip a folder; with ``cp866`` the names are OEM bytes without the UTF-8 flag (Windows)."""
    buf, renames = io.BytesIO(), []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, path in enumerate(sorted(p for p in src.rglob("*") if p.is_file())):
            name = wrap + str(path.relative_to(src))
            if cp866:  # an ASCII placeholder of the same length, patched below
                raw = name.encode("cp866")
                placeholder = f"~{i:03d}~".encode().ljust(len(raw), b"_")
                renames.append((placeholder, raw))
                name = placeholder.decode()
            zf.writestr(
                zipfile.ZipInfo(name, (2025, 3, 12, 10, 0, 0)),
                path.read_bytes(),
                zipfile.ZIP_DEFLATED,
            )
    data = buf.getvalue()
    for placeholder, raw in renames:
        data = data.replace(placeholder, raw)
    return data


def test_zip_package_with_cp866_names_end_to_end(folder: DeloproFolder, tmp_path: Path) -> None:
    medo = copy_pkg(SAMPLES / "medo", tmp_path / "medo")
    data = zip_of(medo, cp866=True, wrap="Пакет/")
    assert "Служебная".encode() not in data  # names really are cp866 bytes
    (folder.root / "incoming" / "M.zip").write_bytes(data)
    (folder.root / "incoming" / "M.zip.ready").write_bytes(b"")
    pkg = folder.claim(folder.scan()[0])
    assert pkg is not None and not (folder.root / "incoming" / "M.zip.ready").exists()
    card = folder.load(pkg)
    assert card.format == "medo" and card.files[0].name == "Служебная_записка_Ковалева.pdf"
    assert card.files[0].path.read_bytes() == (medo / "Служебная_записка_Ковалева.pdf").read_bytes()
    dest = folder.finish(pkg, request_number="БУХ-1", at=AT)
    assert sorted(os.listdir(dest)) == ["M.zip", "receipt.json"]
    assert os.listdir(folder.root / "work") == []


def test_failed_zip_keeps_the_original_zip(folder: DeloproFolder) -> None:
    (folder.root / "incoming" / "Z.zip").write_bytes(b"not a zip")
    (folder.root / "incoming" / "Z.zip.ready").write_bytes(b"")
    pkg = folder.claim(folder.scan()[0])
    assert pkg is not None
    with pytest.raises(PackageError) as err:
        folder.load(pkg)
    dest = folder.fail(pkg, err.value)
    assert (dest / "Z.zip").read_bytes() == b"not a zip" and (dest / "error.json").is_file()
    assert os.listdir(folder.root / "work") == []


# --- answers and receipts --------------------------------------------------------------------


def answer(name: str = "R-187", files: tuple[tuple[str, bytes], ...] = ()) -> AnswerPackage:
    return AnswerPackage(
        name=name,
        in_reply_to=InReplyTo("ВН-1245/25", date(2025, 3, 12), "b8d1c6e2", "5521"),
        request_id="БУХ-2025-000187",
        result="executed",
        executor=Person("Смирнов Денис Игоревич", post="консультант"),
        summary="Авансовый отчет принят, возмещение будет перечислено до 21.03.2025",
        addressee=Person("Ковалева Анна Сергеевна", email="a.kovaleva@example.invalid"),
        files=files,
        created=AT,
    )


def test_answer_package_is_complete(folder: DeloproFolder) -> None:
    files = (("Ответ на ВН-1245/25.pdf", b"%PDF answer"), ("../../evil.txt", b"x"))
    dest = folder.write_answer(answer(files=files))
    assert dest == folder.root / "outgoing" / "R-187" and (dest / "READY").is_file()
    root = ET.parse(dest / "answer.xml").getroot()
    assert root.tag == f"{NS}Answer"
    reply = root.find(f"{NS}InReplyTo")
    assert reply is not None and reply.attrib == {
        "number": "ВН-1245/25",
        "date": "2025-03-12",
        "docUid": "b8d1c6e2",
        "resolutionId": "5521",
    }
    assert root.findtext(f"{NS}RequestId") == "БУХ-2025-000187"
    assert root.findtext(f"{NS}Result") == "executed"
    assert root.findtext(f"{NS}Executor/{NS}FIO") == "Смирнов Денис Игоревич"
    assert root.findtext(f"{NS}Addressee/{NS}Email") == "a.kovaleva@example.invalid"
    listed = root.findall(f"{NS}Files/{NS}File")
    assert [f.get("name") for f in listed] == ["Ответ на ВН-1245/25.pdf", "../../evil.txt"]
    for f, (_, data) in zip(listed, files, strict=True):
        stored = dest / f.get("path", "")
        assert stored.parent == dest / "files" and stored.read_bytes() == data
        assert int(f.get("size", "-1")) == len(data)
    assert os.listdir(folder.root / "outgoing" / ".tmp") == []
    assert not (folder.root / "evil.txt").exists()


def test_answer_never_visible_half_written(
    folder: DeloproFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "rename", crash)
    with pytest.raises(OSError):
        folder.write_answer(answer())
    monkeypatch.undo()
    assert os.listdir(folder.root / "outgoing") == [".tmp"]
    dest = folder.write_answer(answer())  # the leftover in .tmp is replaced
    assert sorted(os.listdir(dest)) == ["READY", "answer.xml", "files"]


def test_answer_refuses_bad_name_result_and_duplicates(folder: DeloproFolder) -> None:
    with pytest.raises(ValueError):
        folder.write_answer(answer(name="../x"))
    with pytest.raises(ValueError):
        folder.write_answer(AnswerPackage(**{**answer().__dict__, "result": "maybe"}))
    folder.write_answer(answer())
    with pytest.raises(FileExistsError):
        folder.write_answer(answer())


def test_an_answer_is_never_written_where_the_export_folder_is_missing(tmp_path: Path) -> None:
    root = tmp_path / "share" / "edms"
    with pytest.raises(DeloproUnavailable, match="не найдена"):
        DeloproFolder(root).write_answer(answer())
    assert not (tmp_path / "share").exists()


def test_receipts_are_read_and_moved_to_done(folder: DeloproFolder) -> None:
    receipts = folder.root / "receipts"
    (receipts / "R-187.ok").write_bytes("Принято".encode("cp1251"))
    (receipts / "R-188.err").write_text("Ошибка импорта: нет РК", "utf-8")
    (receipts / "R-189.ok.tmp").write_text("")
    found = sorted(folder.read_receipts(), key=lambda r: r.package)
    assert [(r.package, r.ok, r.text) for r in found] == [
        ("R-187", True, "Принято"),
        ("R-188", False, "Ошибка импорта: нет РК"),
    ]
    assert sorted(os.listdir(receipts / "done")) == ["R-187.ok", "R-188.err"]
    assert folder.read_receipts() == []
