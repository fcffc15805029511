"""Parse a МЭДО package: passport.xml (xdms, ГОСТ Р 53898) and its envelope.ini (windows-1251)."""

from __future__ import annotations

import codecs
from datetime import date
from xml.etree.ElementTree import Element

from .card import Card, FileDecl, Link, Parsed, Person, strip_delo_index
from .errors import PackageError
from .fields import parse_date, require
from .xmlsafe import attr, kid, kids, local, parse_xml, text

ENVELOPE = "envelope.ini"
FILES_SECTION = "ФАЙЛЫ"
_SIGNATURE_EXT = (".sig", ".p7s", ".sgn")


def parse_envelope(data: bytes) -> dict[str, dict[str, str]]:
    """Read an ini envelope (windows-1251 unless it starts with a UTF-8 BOM) into sections."""
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :].decode("utf-8", "strict")
    else:
        body = data.decode("cp1251", "strict")
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().upper(), {})
        elif "=" in line and not line.startswith((";", "#")):
            key, value = line.split("=", 1)
            current[key.strip()] = value.strip()
    return sections


def envelope_files(data: bytes) -> list[str]:
    """The file names listed in the envelope's [ФАЙЛЫ] section."""
    try:
        sections = parse_envelope(data)
    except UnicodeDecodeError as e:
        raise PackageError(
            "encoding", f"Файл {ENVELOPE}: текст не читается в кодировке windows-1251", ENVELOPE
        ) from e
    if FILES_SECTION not in sections:
        raise PackageError(
            "envelope_mismatch", f"Файл {ENVELOPE}: нет раздела [{FILES_SECTION}]", ENVELOPE
        )
    return [v for v in sections[FILES_SECTION].values() if v]


def _person(el: Element | None) -> Person | None:
    fio = text(el, "person")
    if not fio:
        return None
    return Person(fio=fio, post=text(el, "post"), department=text(el, "department"))


def _role(el: Element, index: int, name: str) -> str:
    group = text(el, "group").lower()
    if name.lower().endswith(_SIGNATURE_EXT) or "подпис" in group:
        return "signature"
    return "main" if "текст" in group or index == 0 else "attachment"


def _files(root: Element, file: str) -> tuple[FileDecl, ...]:
    decls = []
    for index, el in enumerate(kids(kid(root, "files"), "file")):
        path = require(attr(el, "localName"), file=file, what="file/@localName (имя файла)")
        name = strip_delo_index(path.replace("\\", "/").rsplit("/", 1)[-1])
        fid = attr(el, "localId") or str(index)
        decls.append(FileDecl(fid, _role(el, index, name), path, name))
    return tuple(decls)


def _link(el: Element, file: str) -> Link:
    ref = next((e for e in el.iter() if local(e.tag) == "reference"), None)
    number = next((text(e) for e in el.iter() if local(e.tag) == "number"), "")
    raw_date = next((text(e) for e in el.iter() if local(e.tag) == "date"), "")
    return Link(
        type=attr(el, "linkType") or attr(el, "type"),
        number=number,
        date=parse_date(raw_date, file=file, what="дата связанного документа"),
        doc_uid=attr(el, "uid") or attr(ref, "uid") or None,
    )


def _deadline(doc: Element, file: str) -> date | None:
    found = []
    for clause in kids(kid(doc, "clauses"), "clause"):
        raw = attr(clause, "deadline") or text(clause, "deadline")
        found.append(parse_date(raw, file=file, what="срок исполнения пункта"))
    return min((d for d in found if d), default=None)


def _correspondent(doc: Element) -> str | None:
    theirs = text(doc, "signatories", "signatory", "organization")
    ours = text(doc, "addressees", "addressee", "organization")
    return theirs if theirs and theirs != ours else None


def _check_root(root: Element, file: str) -> None:
    if local(root.tag) != "communication":
        raise PackageError(
            "unsupported_format",
            f"Файл {file}: корневой элемент {root.tag}, ожидается communication (МЭДО)",
            file,
        )
    kind = attr(kid(root, "header"), "type")
    if kind and kind != "Документ":
        raise PackageError(
            "unsupported_message",
            f"Файл {file}: сообщение МЭДО типа «{kind}» не содержит документа",
            file,
        )


def parse(data: bytes, file: str) -> Parsed:
    """Parse passport.xml bytes (the envelope is checked by the package loader)."""
    root = parse_xml(data, file)
    _check_root(root, file)
    doc = kid(root, "document")
    addressees = [p for p in (_person(a) for a in kids(kid(doc, "addressees"), "addressee")) if p]
    card = Card(
        format="medo",
        doc_uid=require(attr(doc, "uid"), file=file, what="document/@uid (UID документа)"),
        reg_number=require(
            text(doc, "num", "number"), file=file, what="num/number (регистрационный номер)"
        ),
        reg_date=parse_date(text(doc, "num", "date"), file=file, what="дата регистрации"),
        journal="",
        doc_kind=text(doc, "kind"),
        channel="sed",
        author=_person(kid(doc, "signatories", "signatory")),
        correspondent=_correspondent(doc) if doc is not None else None,
        addressee="; ".join(p.fio for p in addressees),
        summary=text(doc, "annotation"),
        text="",
        resolutions=(),
        deadline=_deadline(doc, file) if doc is not None else None,
        files=(),
        links=tuple(_link(e, file) for e in kids(kid(doc, "links"), "link")),
        original_name=file,
        original=data,
    )
    return Parsed(card=card, files=_files(root, file))
