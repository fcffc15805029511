"""Parse our own contract card (card.xml, namespace urn:ru-67-minfin:delopro-export:1)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from .card import ROLES, Card, FileDecl, Link, Parsed, Person, Resolution
from .errors import PackageError
from .fields import parse_bool, parse_date, parse_sha256, parse_size, require
from .xmlsafe import attr, kid, kids, local, parse_xml, text

NAMESPACE = "urn:ru-67-minfin:delopro-export:1"
CHANNELS = ("sed", "email", "paper")


def _person(el: Element | None) -> Person | None:
    fio = text(el, "FIO")
    if el is None or not fio:
        return None
    return Person(
        fio=fio,
        post=text(el, "Post"),
        department=text(el, "Department"),
        email=text(el, "Email") or None,
        phone=text(el, "Phone") or None,
    )


def _resolution(el: Element, file: str) -> Resolution:
    rid = require(attr(el, "id"), file=file, what="Resolution/@id (номер резолюции)")
    executors = [(_person(e), parse_bool(attr(e, "responsible"))) for e in kids(el, "Executor")]
    people = tuple(p for p, _ in executors if p is not None)
    responsible = next((p for p, flag in executors if flag and p), people[0] if people else None)
    return Resolution(
        id=rid,
        date=parse_date(attr(el, "date"), file=file, what=f"дата резолюции {rid}"),
        author=_person(kid(el, "Author")),
        text=text(el, "Text"),
        executors=people,
        responsible=responsible,
        deadline=parse_date(text(el, "Deadline"), file=file, what=f"срок резолюции {rid}"),
    )


def _link(el: Element, file: str) -> Link:
    return Link(
        type=attr(el, "type"),
        number=attr(el, "number"),
        date=parse_date(attr(el, "date"), file=file, what="дата связанного документа"),
        doc_uid=attr(el, "docUid") or None,
    )


def _file(el: Element, file: str) -> FileDecl:
    fid = require(attr(el, "id"), file=file, what="File/@id")
    path = require(attr(el, "path"), file=file, what=f"File/@path (файл {fid})")
    role = attr(el, "role") or "attachment"
    if role not in ROLES:
        raise PackageError(
            "bad_value",
            f"Файл {file}: роль файла {fid} «{role}» не из списка main, attachment, signature",
            file,
        )
    size = require(attr(el, "size"), file=file, what=f"File/@size (файл {fid})")
    return FileDecl(
        id=fid,
        role=role,
        path=path,
        name=attr(el, "name") or path.replace("\\", "/").rsplit("/", 1)[-1],
        size=parse_size(size, file=file, what=f"размер файла {fid}"),
        sha256=parse_sha256(attr(el, "sha256"), file=file, what=f"SHA-256 файла {fid}"),
    )


def _channel(root: Element, file: str) -> str:
    channel = text(root, "Channel").lower() or "sed"
    if channel not in CHANNELS:
        raise PackageError(
            "bad_value",
            f"Файл {file}: канал поступления «{channel}» не из списка sed, email, paper",
            file,
        )
    return channel


def _check_root(root: Element, file: str) -> None:
    ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if local(root.tag) != "Card" or ns not in (NAMESPACE, ""):
        raise PackageError(
            "unsupported_format",
            f"Файл {file}: корневой элемент {root.tag} — ожидается Card "
            f"в пространстве имён {NAMESPACE}",
            file,
        )


def parse(data: bytes, file: str) -> Parsed:
    """Parse card.xml bytes; the registration number and the document UID are mandatory."""
    root = parse_xml(data, file)
    _check_root(root, file)
    reg = kid(root, "Registration")
    addressees = [p for p in (_person(e) for e in kids(root, "Addressee")) if p]
    card = Card(
        format="card",
        doc_uid=require(attr(reg, "docUid"), file=file, what="Registration/@docUid (UID РК)"),
        reg_number=require(
            attr(reg, "number"), file=file, what="Registration/@number (регистрационный номер)"
        ),
        reg_date=parse_date(attr(reg, "date"), file=file, what="дата регистрации"),
        journal=attr(reg, "journal"),
        doc_kind=text(root, "DocKind"),
        channel=_channel(root, file),
        author=_person(kid(root, "Author")),
        correspondent=text(root, "Correspondent", "Organization") or None,
        addressee="; ".join(p.fio for p in addressees),
        summary=text(root, "Summary"),
        text=text(root, "Text"),
        resolutions=tuple(
            _resolution(e, file) for e in kids(kid(root, "Resolutions"), "Resolution")
        ),
        deadline=parse_date(text(root, "Deadline"), file=file, what="срок исполнения"),
        files=(),
        links=tuple(_link(e, file) for e in kids(kid(root, "Links"), "Link")),
        original_name=file,
        original=data,
    )
    files = tuple(_file(e, file) for e in kids(kid(root, "Files"), "File"))
    return Parsed(card=card, files=files)
