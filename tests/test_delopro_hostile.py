"""Hostile and broken «ДелоПро» packages end as PackageError with a stable code and a Russian
message naming the file; nothing outside the package is read, written or disturbed."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from buhdesk_connectors.delopro import DeloproFolder, Limits, PackageError, load_package

SAMPLES = Path(__file__).parent / "corpus" / "delopro_samples"  # the «ДелоПро» contract samples
CARD_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'


def make_card_package(dest: Path) -> Path:
    shutil.copytree(SAMPLES / "contract" / "pkg", dest, copy_function=shutil.copyfile)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


def card_text(pkg: Path) -> str:
    return (pkg / "card.xml").read_text("cp1251")


def set_card(pkg: Path, text: str) -> None:
    (pkg / "card.xml").write_text(text, "cp1251")


def replace_in_card(pkg: Path, old: str, new: str) -> None:
    text = card_text(pkg)
    assert old in text
    set_card(pkg, text.replace(old, new))


def failure(pkg: Path, limits: Limits | None = None) -> PackageError:
    with pytest.raises(PackageError) as err:
        load_package(pkg, limits or Limits())
    assert err.value.message and any("а" <= ch <= "я" for ch in err.value.message.lower())
    return err.value


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<Card xmlns="urn:ru-67-minfin:delopro-export:1"><Summary>&lol4;</Summary></Card>"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE Card [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Card xmlns="urn:ru-67-minfin:delopro-export:1"><Summary>&secret;</Summary></Card>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE Card SYSTEM "http://127.0.0.1:9/card.dtd">
<Card xmlns="urn:ru-67-minfin:delopro-export:1"/>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL, EXTERNAL_DTD])
def test_entities_and_dtds_are_refused(tmp_path: Path, xml: str) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    (pkg / "card.xml").write_text(xml, "utf-8")
    err = failure(pkg)
    assert err.code == "xml_forbidden" and err.file == "card.xml" and "card.xml" in err.message


def test_truncated_xml_reports_where(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    (pkg / "card.xml").write_bytes((pkg / "card.xml").read_bytes()[:700])
    err = failure(pkg)
    assert err.code == "xml_malformed" and "строка" in err.message and "card.xml" in err.message


def test_bytes_invalid_in_declared_encoding(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    data = (pkg / "card.xml").read_bytes().replace(b"<DocKind>", b"<DocKind>\x98")
    (pkg / "card.xml").write_bytes(data)  # 0x98 is unassigned in windows-1251
    err = failure(pkg)
    assert err.code == "encoding" and "0x98" in err.message


def test_unknown_encoding(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    (pkg / "card.xml").write_bytes(b'<?xml version="1.0" encoding="x-klingon"?><Card/>')
    err = failure(pkg)
    assert err.code == "encoding" and "x-klingon" in err.message


@pytest.mark.parametrize(
    "path",
    [
        "../outside.pdf",
        "files/../../outside.pdf",
        "/etc/passwd",
        "C:\\Windows\\win.ini",
        "..\\outside.pdf",
    ],
)
def test_paths_leaving_the_package(tmp_path: Path, path: str) -> None:
    (tmp_path / "outside.pdf").write_bytes(b"secret")
    pkg = make_card_package(tmp_path / "pkg")
    replace_in_card(pkg, 'path="files/001_sluzhebnaya_zapiska.pdf"', f'path="{path}"')
    err = failure(pkg)
    assert err.code == "path_outside" and path in err.message


def test_symlink_to_a_file_outside_is_never_followed(tmp_path: Path) -> None:
    (tmp_path / "secret.pdf").write_bytes(b"x" * 25)
    pkg = make_card_package(tmp_path / "pkg")
    target = pkg / "files" / "001_sluzhebnaya_zapiska.pdf"
    target.unlink()
    target.symlink_to(tmp_path / "secret.pdf")
    err = failure(pkg)
    assert err.code == "symlink" and "001_sluzhebnaya_zapiska.pdf" in err.message


def test_symlinked_card_and_folder(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    shutil.move(pkg / "card.xml", tmp_path / "real-card.xml")
    (pkg / "card.xml").symlink_to(tmp_path / "real-card.xml")
    assert failure(pkg).code == "symlink"
    pkg2 = make_card_package(tmp_path / "pkg2")
    shutil.move(pkg2 / "files", tmp_path / "real-files")
    (pkg2 / "files").symlink_to(tmp_path / "real-files")
    assert failure(pkg2).code == "symlink"


def test_fifo_in_package(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    os.mkfifo(pkg / "files" / "pipe")
    assert failure(pkg).code == "special_file"


def test_missing_file(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    (pkg / "files" / "002_avansovyi_otchet.xlsx").unlink()
    err = failure(pkg)
    assert err.code == "file_missing" and "002_avansovyi_otchet.xlsx" in err.message
    assert "Авансовый отчет (март).xlsx" in err.message


def test_wrong_size_and_wrong_hash(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    (pkg / "files" / "002_avansovyi_otchet.xlsx").write_bytes(b"cut")
    err = failure(pkg)
    assert err.code == "size_mismatch" and err.file == "files/002_avansovyi_otchet.xlsx"
    pkg2 = make_card_package(tmp_path / "pkg2")
    (pkg2 / "files" / "002_avansovyi_otchet.xlsx").write_bytes(b"X" * 20)
    err = failure(pkg2)
    assert err.code == "hash_mismatch" and "SHA-256" in err.message


def test_too_many_files(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    for i in range(10):
        (pkg / "files" / f"extra{i}.txt").write_bytes(b"x")
    assert failure(pkg, Limits(max_files=8)).code == "too_many_files"


def test_file_and_package_size_caps(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    (pkg / "files" / "big.bin").write_bytes(b"x" * 5000)
    err = failure(pkg, Limits(max_file_bytes=4000))
    assert err.code == "file_too_large" and "big.bin" in err.message
    assert failure(pkg, Limits(max_total_bytes=6000)).code == "package_too_large"


def test_undecodable_file_name(tmp_path: Path) -> None:
    pkg = make_card_package(tmp_path / "pkg")
    with open(os.path.join(os.fsencode(pkg / "files"), b"\xff\xfe-scan.pdf"), "wb") as fh:
        fh.write(b"x")
    err = failure(pkg)
    assert err.code == "name_undecodable" and "scan.pdf" in err.message


# --- zip packages, through the folder ------------------------------------------------------


def zip_bytes(members: dict[str, bytes], *, utf8_names: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 3, 12, 10, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


def sample_members() -> dict[str, bytes]:
    pkg = SAMPLES / "contract" / "pkg"
    return {str(p.relative_to(pkg)): p.read_bytes() for p in pkg.rglob("*") if p.is_file()}


def zip_failure(
    tmp_path: Path, data: bytes, limits: dict | None = None
) -> tuple[PackageError, DeloproFolder]:
    (tmp_path / "root").mkdir(exist_ok=True)
    folder = DeloproFolder(tmp_path / "root", **(limits or {}))
    folder.ensure_layout()
    (folder.root / "incoming" / "PKG.zip").write_bytes(data)
    (folder.root / "incoming" / "PKG.zip.ready").write_bytes(b"")
    (ref,) = folder.scan()
    pkg = folder.claim(ref)
    assert pkg is not None
    with pytest.raises(PackageError) as err:
        folder.load(pkg)
    return err.value, folder


def test_zip_slip_writes_nothing_outside(tmp_path: Path) -> None:
    members = sample_members() | {"../../../../evil.txt": b"pwned"}
    err, _ = zip_failure(tmp_path, zip_bytes(members))
    assert err.code == "path_outside" and "evil.txt" in err.message
    assert not any(p.name == "evil.txt" for p in tmp_path.rglob("*"))


def test_zip_absolute_member(tmp_path: Path) -> None:
    err, _ = zip_failure(tmp_path, zip_bytes(sample_members() | {"/tmp/evil.txt": b"x"}))
    assert err.code == "path_outside"


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    err, _ = zip_failure(
        tmp_path, zip_bytes(sample_members() | {"files/zeros.bin": bytes(3_000_000)})
    )
    assert err.code == "zip_bomb" and "zeros.bin" in err.message


def test_zip_total_size_cap(tmp_path: Path) -> None:
    members = sample_members() | {f"files/r{i}.bin": os.urandom(3000) for i in range(4)}
    err, _ = zip_failure(tmp_path, zip_bytes(members), {"max_total_bytes": 10_000})
    assert err.code == "package_too_large"


def test_zip_lying_about_sizes_is_stopped_while_unpacking(tmp_path: Path) -> None:
    data = bytearray(zip_bytes(sample_members() | {"files/big.bin": bytes(50_000)}))
    # The central directory claims 100 bytes for a member that unpacks to 50 000.
    entry = data.rfind(b"PK\x01\x02", 0, data.rfind(b"files/big.bin"))
    data[entry + 24 : entry + 28] = (100).to_bytes(4, "little")
    err, folder = zip_failure(tmp_path, bytes(data))
    assert err.code in ("zip_bomb", "zip_invalid")
    assert not any(p.stat().st_size > 100 for p in (folder.root / "work").rglob("big.bin"))


def test_zip_too_many_members(tmp_path: Path) -> None:
    members = sample_members() | {f"files/{i}.txt": b"x" for i in range(20)}
    err, _ = zip_failure(tmp_path, zip_bytes(members), {"max_files": 10})
    assert err.code == "too_many_files"


def test_zip_symlink_member(tmp_path: Path) -> None:
    buf = io.BytesIO(zip_bytes(sample_members()))
    with zipfile.ZipFile(buf, "a") as zf:
        info = zipfile.ZipInfo("files/link.pdf")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    err, _ = zip_failure(tmp_path, buf.getvalue())
    assert err.code == "symlink" and "link.pdf" in err.message


def test_damaged_zip(tmp_path: Path) -> None:
    err, _ = zip_failure(tmp_path, b"PK\x03\x04 this is not a zip at all")
    assert err.code == "zip_invalid" and "PKG.zip" in err.message


def set_utf8_flag(data: bytes) -> bytes:
    out = bytearray(data)
    for marker, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = out.find(marker)
        while start >= 0:
            flags = int.from_bytes(out[start + offset : start + offset + 2], "little") | 0x800
            out[start + offset : start + offset + 2] = flags.to_bytes(2, "little")
            start = out.find(marker, start + 4)
    return bytes(out)


def test_zip_name_flagged_utf8_but_not(tmp_path: Path) -> None:
    data = set_utf8_flag(zip_bytes(sample_members() | {"files/Q.pdf": b"x"}))
    err, _ = zip_failure(tmp_path, data.replace(b"files/Q.pdf", b"files/\xff.pdf"))
    assert err.code == "name_undecodable"


def test_hostile_package_fails_alone(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir(exist_ok=True)
    folder = DeloproFolder(tmp_path / "root")
    folder.ensure_layout()
    bad = make_card_package(folder.root / "incoming" / "bad")
    (bad / "card.xml").write_text(BILLION_LAUGHS, "utf-8")
    good = make_card_package(folder.root / "incoming" / "good")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in good.rglob("*") if p.is_file()}
    ref = next(r for r in folder.scan() if r.name == "bad")
    pkg = folder.claim(ref)
    assert pkg is not None
    with pytest.raises(PackageError) as err:
        folder.load(pkg)
    dest = folder.fail(pkg, err.value)
    assert dest == folder.root / "failed" / "bad" and (dest / "error.json").is_file()
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in good.rglob("*") if p.is_file()}
    assert after == before and [r.name for r in folder.scan()] == ["good"]


def test_error_json_symlink_in_package_is_replaced_not_followed(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir(exist_ok=True)
    folder = DeloproFolder(tmp_path / "root")
    folder.ensure_layout()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    pkg_dir = make_card_package(folder.root / "incoming" / "p")
    (pkg_dir / "error.json").symlink_to(victim)
    pkg = folder.claim(folder.scan()[0])
    assert pkg is not None
    with pytest.raises(PackageError) as err:
        folder.load(pkg)
    assert err.value.code == "symlink"
    dest = folder.fail(pkg, err.value)
    assert victim.read_text() == "keep me"
    assert not (dest / "error.json").is_symlink() and "symlink" in (dest / "error.json").read_text()
