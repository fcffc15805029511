"""Decode and parse card XML safely, and read elements without caring about namespace prefixes.

The XML declaration is honoured (windows-1251, UTF-8, with or without BOM); DTDs, entity
declarations and external references are refused by defusedxml before anything expands.
"""

from __future__ import annotations

import codecs
import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from .errors import PackageError

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def _codec(name: str, file: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as e:
        raise PackageError(
            "encoding", f"Файл {file}: неизвестная кодировка «{name}» в заголовке XML", file
        ) from e


def _sniff(data: bytes, file: str) -> tuple[bytes, str]:
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        found = _DECLARED.match(body)
        declared = found.group(1).decode("ascii") if found else "utf-8"
        if _codec(declared, file) != "utf-8":
            raise PackageError(
                "encoding",
                f"Файл {file}: метка BOM означает UTF-8, а в заголовке XML объявлена "
                f"кодировка {declared}",
                file,
            )
        return body, "utf-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data, "utf-16"
    found = _DECLARED.match(data)
    return data, _codec(found.group(1).decode("ascii"), file) if found else "utf-8"


def decode_xml(data: bytes, file: str) -> str:
    """Return the document text without its declaration, decoded as the document declares."""
    body, encoding = _sniff(data, file)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as e:
        raise PackageError(
            "encoding",
            f"Файл {file}: текст не соответствует кодировке {encoding}: недопустимый байт "
            f"0x{body[e.start]:02X} в позиции {e.start}",
            file,
        ) from e
    return _DECLARATION.sub("", text, count=1)


def parse_xml(data: bytes, file: str) -> Element:
    """Parse card bytes into an element tree; every failure is a :class:`PackageError`."""
    text = decode_xml(data, file)
    try:
        return SafeET.fromstring(text, forbid_dtd=True)
    except defusedxml.DefusedXmlException as e:
        raise PackageError(
            "xml_forbidden",
            f"Файл {file}: XML содержит DTD, объявления сущностей или внешние ссылки — "
            "такие файлы не принимаются из соображений безопасности",
            file,
        ) from e
    except ParseError as e:
        line, column = e.position
        raise PackageError(
            "xml_malformed",
            f"Файл {file}: XML повреждён или оборван (строка {line}, позиция {column + 1})",
            file,
        ) from e


def local(tag: object) -> str:
    """The element or attribute name without its namespace."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def kids(el: Element | None, name: str) -> list[Element]:
    """Direct children called ``name`` in any namespace."""
    return [] if el is None else [c for c in el if local(c.tag) == name]


def kid(el: Element | None, *names: str) -> Element | None:
    """The first element along the path of child names, or None."""
    for name in names:
        found = kids(el, name)
        el = found[0] if found else None
    return el


def text(el: Element | None, *names: str) -> str:
    """Whitespace-normalised text of the element along the path; "" when absent."""
    target = kid(el, *names) if names else el
    return " ".join("".join(target.itertext()).split()) if target is not None else ""


def attr(el: Element | None, name: str) -> str:
    """A stripped attribute value in any namespace; "" when absent."""
    if el is None:
        return ""
    for key, value in el.attrib.items():
        if local(key) == name:
            return value.strip()
    return ""
