"""Parse an ЭОС СЭВ message (DocInfo.xml, namespace http://www.eos.ru/2010/sev)."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from .card import Card, FileDecl, Link, Parsed, Person, Resolution, strip_delo_index
from .errors import PackageError
from .fields import parse_bool, parse_date, parse_size, require
from .xmlsafe import attr, kid, kids, local, parse_xml, text

DOCUMENT_MESSAGES = ("MainDoc", "AddToDoc", "Editing")
_KINDS = {"Incoming": "Входящий документ", "Created": "Собственный документ", "Project": "Проект"}
_CHANNELS = {
    "сэд": "sed",
    "сэв": "sed",
    "мэдо": "sed",
    "электронная почта": "email",
    "e-mail": "email",
    "email": "email",
    "почта": "paper",
    "бумага": "paper",
    "курьер": "paper",
    "нарочно": "paper",
}
_LINK_REF = re.compile(r"№\s*(?P<number>\S+)(?:\s+от\s+(?P<date>\d{2}\.\d{2}\.\d{4}))?")


def _econtact(contact: Element | None, *types: str) -> str | None:
    for el in kids(contact, "Econtact"):
        if attr(el, "Type").lower() in types and text(el):
            return text(el)
    return None


def _person(holder: Element | None) -> Person | None:
    contact = kid(holder, "Contact")
    official = kid(contact, "OfficialPerson")
    fio = text(official, "FIO") or text(holder, "PrivatePerson", "FIO")
    if not fio:
        return None
    return Person(
        fio=fio,
        post=text(official, "Post"),
        department=text(contact, "Department", "Name"),
        email=_econtact(contact, "email", "e-mail", "mail"),
        phone=_econtact(contact, "phone", "телефон", "tel"),
    )


def _extra(doc: Element, name: str) -> str:
    for el in kids(doc, "AdditionalField"):
        if attr(el, "Name").lower() == name.lower():
            return text(el)
    return ""


def _task(el: Element, file: str) -> Resolution:
    tid = attr(el, "TaskID") or attr(el, "UID")
    executors = [(_person(e), parse_bool(attr(e, "Responsible"))) for e in kids(el, "Executor")]
    people = tuple(p for p, _ in executors if p is not None)
    return Resolution(
        id=require(tid, file=file, what="Task/@TaskID (номер поручения)"),
        date=parse_date(text(el, "Author", "SignDate"), file=file, what=f"дата поручения {tid}"),
        author=_person(kid(el, "Author")),
        text=text(el, "Text"),
        executors=people,
        responsible=next((p for p, f in executors if f and p), people[0] if people else None),
        deadline=parse_date(text(el, "Control", "Deadline"), file=file, what=f"срок {tid}"),
    )


def _link(el: Element, file: str) -> Link:
    description = attr(el, "Description")
    found = _LINK_REF.search(description)
    number = found["number"] if found else description
    raw_date = (found["date"] or "") if found else ""
    return Link(
        type=text(el, "LinkType"),
        number=number,
        date=parse_date(raw_date, file=file, what="дата связанного документа"),
        doc_uid=attr(el, "DocumentID") or None,
    )


def _resource(resources: dict[str, str], rid: str, file: str) -> str:
    if rid not in resources:
        raise PackageError(
            "bad_reference",
            f"Файл {file}: ссылка на ресурс {rid or '(пусто)'}, которого нет в ResourceList",
            file,
        )
    return resources[rid]


def _files(doc: Element, resources: dict[str, str], file: str) -> tuple[FileDecl, ...]:
    decls: list[FileDecl] = []
    for index, el in enumerate(kids(doc, "File")):
        path = _resource(resources, attr(el, "ResourceID"), file)
        name, ext = text(el, "Description") or path, text(el, "Extension")
        if ext and not name.lower().endswith("." + ext.lower()):
            name = f"{name}.{ext}"
        fid = attr(el, "UID") or str(index + 1)
        size = parse_size(attr(el, "Size"), file=file, what=f"размер файла {fid}")
        role = "main" if index == 0 else "attachment"
        decls.append(FileDecl(fid, role, path, strip_delo_index(name), size))
        for eds in kids(el, "EDS"):
            sig = _resource(resources, attr(eds, "ResourceID"), file)
            decls.append(
                FileDecl(
                    f"{fid}-eds-{attr(eds, 'ResourceID')}",
                    "signature",
                    sig,
                    strip_delo_index(sig.rsplit("/", 1)[-1]),
                )
            )
    return tuple(decls)


def _correspondent(root: Element, doc: Element) -> str | None:
    ours = text(root, "Header", "Recipient", "Contact", "Organization", "ShortName")
    theirs = text(kid(doc, "Author"), "Contact", "Organization", "ShortName")
    return theirs if theirs and theirs != ours else None


def _channel(doc: Element) -> str:
    return _CHANNELS.get(_extra(doc, "Канал поступления").lower(), "sed")


def _main_document(root: Element, file: str) -> Element:
    docs = kids(kid(root, "DocumentList"), "Document")
    if not docs:
        raise PackageError("missing_field", f"Файл {file}: в DocumentList нет документа", file)
    return next((d for d in docs if parse_bool(attr(d, "MainDocument"))), docs[0])


def _check_root(root: Element, file: str) -> None:
    if local(root.tag) != "DocInfo":
        raise PackageError(
            "unsupported_format",
            f"Файл {file}: корневой элемент {root.tag}, ожидается DocInfo",
            file,
        )
    kind = attr(kid(root, "Header"), "MessageType")
    if kind not in DOCUMENT_MESSAGES:
        raise PackageError(
            "unsupported_message",
            f"Файл {file}: сообщение СЭВ типа «{kind or '(не указан)'}» не содержит документа "
            "(ожидается MainDoc, AddToDoc или Editing)",
            file,
        )


def parse(data: bytes, file: str) -> Parsed:
    """Parse DocInfo.xml bytes; files are the physical names from ResourceList."""
    root = parse_xml(data, file)
    _check_root(root, file)
    resources = {
        attr(r, "UID"): attr(r, "UniqueName")
        for r in kids(kid(root, "Header", "ResourceList"), "Resource")
    }
    doc = _main_document(root, file)
    addressees = [p for p in (_person(a) for a in kids(doc, "Addressee")) if p]
    card = Card(
        format="sev",
        doc_uid=require(attr(doc, "UID"), file=file, what="Document/@UID (UID документа)"),
        reg_number=require(
            text(doc, "RegistrationInfo", "Number"),
            file=file,
            what="RegistrationInfo/Number (регистрационный номер)",
        ),
        reg_date=parse_date(
            text(doc, "RegistrationInfo", "Date"), file=file, what="дата регистрации"
        ),
        journal=text(doc, "Group"),
        doc_kind=_extra(doc, "Вид документа") or _KINDS.get(attr(doc, "Type"), attr(doc, "Type")),
        channel=_channel(doc),
        author=_person(kid(doc, "Author")) or _person(kid(doc, "Writer")),
        correspondent=_correspondent(root, doc),
        addressee="; ".join(p.fio for p in addressees),
        summary=text(doc, "Annotation"),
        text=text(doc, "Note"),
        resolutions=tuple(_task(t, file) for t in kids(kid(root, "TaskList"), "Task")),
        deadline=parse_date(text(doc, "Control", "Deadline"), file=file, what="срок исполнения"),
        files=(),
        links=tuple(_link(e, file) for e in kids(doc, "Link")),
        original_name=file,
        original=data,
    )
    return Parsed(card=card, files=_files(doc, resources, file))
