"""Property tests: parse_message never fails on arbitrary bytes except with MessageParseError,
and whatever a well-behaved mailer writes comes back intact."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buhdesk.route.mime import MessageParseError, parse_message

SETTINGS = settings(max_examples=200, deadline=None)

HEADER_NAMES = st.sampled_from(
    [
        b"From",
        b"To",
        b"Subject",
        b"Content-Type",
        b"Content-Transfer-Encoding",
        b"Message-ID",
        b"Content-Disposition",
        b"Date",
        b"References",
        b"Return-Path",
        b"MIME-Version",
        b"X-Junk",
    ]
)
HEADER_LINE = st.tuples(HEADER_NAMES, st.binary(max_size=80)).map(lambda t: t[0] + b": " + t[1])
CTYPES = st.sampled_from(
    [
        b"multipart/mixed; boundary=b",
        b"multipart/alternative",
        b"message/rfc822",
        b"text/plain; charset=koi8-r",
        b"text/html; charset=x-bogus",
        b"application/pdf; name*=utf-8''%D0",
    ]
)

# Letters, digits, punctuation and spaces a correspondent may type (no control characters).
WORDS = st.text(
    alphabet=st.characters(
        whitelist_categories=("Lu", "Ll", "Nd", "Po", "Pd", "Ps", "Pe", "Sm", "Sc", "Zs"),
        max_codepoint=0x4FF,
    ),
    max_size=120,
)
LINES = st.lists(WORDS, max_size=8).map("\n".join)
FILENAME = st.text(
    alphabet=st.sampled_from("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЯabcXYZ0123456789 -_№()"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip(" ") == s and s.strip())


@SETTINGS
@given(headers=st.lists(HEADER_LINE, max_size=8), body=st.binary(max_size=400))
def test_arbitrary_header_and_body_bytes(headers: list[bytes], body: bytes) -> None:
    raw = b"\r\n".join(headers) + b"\r\n\r\n" + body
    try:
        parse_message(raw)
    except MessageParseError:
        pass


@SETTINGS
@given(
    ctype=CTYPES,
    body=st.binary(max_size=600),
    cte=st.sampled_from([b"base64", b"quoted-printable", b"8bit"]),
)
def test_arbitrary_mime_bodies(ctype: bytes, body: bytes, cte: bytes) -> None:
    raw = (
        b"From: a@b.ru\r\nContent-Type: "
        + ctype
        + b"\r\nContent-Transfer-Encoding: "
        + cte
        + b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        + body
        + b"\r\n--b--\r\n"
    )
    msg = parse_message(raw)
    assert "\x00" not in msg.body_text


@SETTINGS
@given(data=st.binary(max_size=1000))
def test_arbitrary_bytes(data: bytes) -> None:
    try:
        parse_message(data)
    except MessageParseError:
        pass


@SETTINGS
@given(
    subject=WORDS,
    text=LINES,
    files=st.lists(st.tuples(FILENAME, st.binary(max_size=300)), max_size=3),
    html=st.booleans(),
)
def test_round_trip(subject: str, text: str, files: list[tuple[str, bytes]], html: bool) -> None:
    letter = EmailMessage()
    letter["From"] = "Сотрудник <person@school.smolensk.ru>"
    letter["To"] = "buh@minfin.smolensk.ru"
    letter["Subject"] = subject
    letter.set_content(text)
    if html:
        letter.add_alternative("<p>html copy</p>", subtype="html")
    for name, data in files:
        letter.add_attachment(
            data, maintype="application", subtype="octet-stream", filename=name + ".bin"
        )
    msg = parse_message(letter.as_bytes())
    assert msg.subject == " ".join(subject.split())
    # multipart/alternative: the plain text wins unless it is empty
    assert msg.body_text.strip() == (text.strip() or ("html copy" if html else ""))
    assert msg.from_addr == "person@school.smolensk.ru"
    assert [(a.filename, a.data) for a in msg.attachments] == [
        (" ".join(name.split()) + ".bin", data) for name, data in files
    ]


@pytest.mark.parametrize("body", [b"<![A", b"<![", b"<p>x</p><![CDATA[", b"<!DOCTYPE"])
def test_broken_html_declarations_are_read_as_text(body: bytes) -> None:
    """Python's HTML parser raises on some broken marked sections; the letter is still read."""
    raw = (b"From: a@b.ru\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/html; charset=utf-8\r\n\r\n" + body + b"\r\n")
    assert parse_message(raw).body_text is not None
