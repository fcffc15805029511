"""Answer packages for «ДелоПро» to import: answer.xml + files + READY, written in outgoing/.tmp
and renamed into outgoing/ only when complete and fsynced."""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from .card import Card, Person
from .formats_card import NAMESPACE
from .moves import fsync_dir, remove_tree, write_synced

RESULTS = ("executed", "explained", "refused", "redirected")
_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]')


@dataclass(frozen=True)
class InReplyTo:
    number: str
    date: date | None
    doc_uid: str
    resolution_id: str | None = None

    @classmethod
    def from_card(cls, card: Card, resolution_id: str | None = None) -> InReplyTo:
        return cls(card.reg_number, card.reg_date, card.doc_uid, resolution_id)


@dataclass(frozen=True)
class AnswerPackage:
    name: str
    in_reply_to: InReplyTo
    request_id: str
    result: str
    executor: Person
    summary: str
    addressee: Person | str
    files: tuple[tuple[str, bytes], ...] = ()
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    package_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def check_answer(answer: AnswerPackage) -> None:
    """Refuse an answer that «ДелоПро» could not import or that would escape outgoing/."""
    name = answer.name
    if not name or name.startswith(".") or _UNSAFE.search(name) or name in ("..",):
        raise ValueError(f"bad answer package name: {name!r}")
    if answer.result not in RESULTS:
        raise ValueError(f"answer result must be one of {RESULTS}, not {answer.result!r}")


def safe_file_name(name: str, index: int) -> str:
    """A file name safe on SMB shares: no separators or reserved characters, at most 120 chars."""
    cleaned = _UNSAFE.sub("_", name).strip(" .") or f"file{index}"
    stem, dot, ext = cleaned.rpartition(".")
    if dot and len(ext) <= 10:
        return f"{index:03d}_{stem[:100]}.{ext}"
    return f"{index:03d}_{cleaned[:110]}"


def _person(parent: ET.Element, tag: str, who: Person | str) -> None:
    el = ET.SubElement(parent, tag)
    person = who if isinstance(who, Person) else Person(fio=who)
    values = (
        ("FIO", person.fio),
        ("Post", person.post),
        ("Department", person.department),
        ("Email", person.email),
        ("Phone", person.phone),
    )
    for child, value in values:
        if value:
            ET.SubElement(el, child).text = value


def render_answer(answer: AnswerPackage, files: list[dict[str, str]]) -> bytes:
    """The answer.xml bytes (UTF-8) for ``answer`` with its already written ``files``."""
    root = ET.Element(
        "Answer",
        xmlns=NAMESPACE,
        version="1",
        packageId=answer.package_id,
        created=answer.created.isoformat(timespec="seconds"),
    )
    ref = answer.in_reply_to
    reply = {
        "number": ref.number,
        "date": ref.date.isoformat() if ref.date else "",
        "docUid": ref.doc_uid,
        "resolutionId": ref.resolution_id or "",
    }
    ET.SubElement(root, "InReplyTo", {k: v for k, v in reply.items() if v})
    ET.SubElement(root, "RequestId").text = answer.request_id
    ET.SubElement(root, "Result").text = answer.result
    _person(root, "Executor", answer.executor)
    ET.SubElement(root, "Summary").text = answer.summary
    _person(root, "Addressee", answer.addressee)
    listing = ET.SubElement(root, "Files")
    for attrs in files:
        ET.SubElement(listing, "File", attrs)
    ET.indent(root)
    out = io.BytesIO()  # what ET.tostring does, with the result typed as bytes
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    return out.getvalue()


def _write_files(folder: Path, answer: AnswerPackage) -> list[dict[str, str]]:
    (folder / "files").mkdir()
    listed = []
    for index, (name, data) in enumerate(answer.files, start=1):
        stored = safe_file_name(name, index)
        write_synced(folder / "files" / stored, data)
        listed.append(
            {
                "id": str(index),
                "role": "main" if index == 1 else "attachment",
                "path": f"files/{stored}",
                "name": name,
                "size": str(len(data)),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    fsync_dir(folder / "files")
    return listed


def write_answer(outgoing: Path, answer: AnswerPackage) -> Path:
    """Write the package in ``outgoing/.tmp/NAME`` and rename it to ``outgoing/NAME``."""
    check_answer(answer)
    final, tmp = outgoing / answer.name, outgoing / ".tmp" / answer.name
    if os.path.lexists(final):
        raise FileExistsError(f"answer package {final} already exists")
    remove_tree(tmp)  # left over from a crash before the rename: ours, never visible
    tmp.mkdir()  # outgoing/.tmp is laid out with the folder: never made in its place
    files = _write_files(tmp, answer)
    write_synced(tmp / "answer.xml", render_answer(answer, files))
    write_synced(tmp / "READY", b"")
    fsync_dir(tmp)
    os.rename(tmp, final)
    fsync_dir(outgoing)
    return final
