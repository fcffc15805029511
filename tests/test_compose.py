"""Letters written directly (the common text/plain case) read exactly like the same letters written
through ``email.mime``, and keep to the wire format: CRLF lines, header lines within 78 characters,
encoded words within 75 that never split a character, quoted-printable lines within 76."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime, timedelta, timezone
from email.header import decode_header
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from buhdesk.reply.compose import FileToSend, _Letter, _letter, _mime_bytes, _plain_bytes, compose

NOW = datetime(2024, 5, 6, 10, 11, 12, tzinfo=timezone(timedelta(hours=3)))
NAME = "Бухгалтерия Министерства"
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
ASCII = "".join(map(chr, range(0x21, 0x7F)))
# Pieces of text that stress the encoders: '=' and '?' (escapes), '_' (a space in Q words),
# four-byte characters, long words, look-alike encoded words, a signature separator.
PIECES = st.one_of(
    st.text(alphabet=CYRILLIC + ASCII + "  ", max_size=24),
    st.sampled_from(["=", "?=", "_", "=?utf-8?q?x?=", "\t", "  ", "😀", "🧾€№«»", "Ё" * 45,
                     "ы" * 90, "x" * 95, "-- ", "a=b", "50%"]),
)
SUBJECT = st.lists(PIECES, min_size=1, max_size=8).map("".join).filter(bool)
NAME_WORD = st.text(alphabet=CYRILLIC + "abcXYZ019.,\"'()\\@<>-😀", min_size=1, max_size=12)
# Display names whose single encoded word still fits on a line (see test_long_sender_name).
SENDER_NAME = st.lists(NAME_WORD, min_size=1, max_size=4).map(" ".join).filter(
    lambda n: len(n.encode()) <= 48)
BODY_LINE = st.one_of(
    st.lists(st.one_of(PIECES, st.sampled_from([" ", "\t", "\x0c", "\x00"])), max_size=10)
    .map("".join),
    st.sampled_from([".", "..", ". ", "From the accountant", ">From", "-- ", "=", "=20",
                     "a" * 75 + " ", "a" * 74 + "\t", "Ж" * 38 + " ", "a" * 76, "a" * 200]),
)
BREAK = st.sampled_from(["\n", "\r\n", "\r"])
BODY = st.tuples(st.lists(st.tuples(BODY_LINE, BREAK), max_size=12),
                 st.one_of(BODY_LINE, st.just(""))).map(
    lambda t: "".join(line + eol for line, eol in t[0]) + t[1])
ADDRESS = st.from_regex(r"[a-z0-9]{1,10}([._+-][a-z0-9]{1,8}){0,2}@[a-z0-9]{1,12}\.example",
                        fullmatch=True)
MESSAGE_ID = st.from_regex(r"[A-Za-z0-9.$_+-]{1,36}@[a-z0-9.-]{1,16}", fullmatch=True)


def make_letter(**values: object) -> _Letter:
    args: dict[str, object] = {
        "message_id": "bd.a.7.0123456789ab.0123456789abcdef0123@minfin.example",
        "sender_name": NAME, "sender": "buh@minfin.example", "domain": "minfin.example",
        "to": ["ivanov@minfin.example"], "subject": "Заявка зарегистрирована",
        "body": "Здравствуйте!\n", "now": NOW, "reply_to_ids": (), "auto_submitted": "auto-replied",
    }
    return _letter(**(args | values))  # type: ignore[arg-type]


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def crlf_text(text: str) -> str:
    return re.sub(r"\r\n|\r|\n", "\r\n", text)


def assert_wire_format(data: bytes) -> None:
    assert data.isascii()
    assert data.endswith(b"\r\n")
    unbroken = data.replace(b"\r\n", b"")
    assert b"\r" not in unbroken and b"\n" not in unbroken, "a line break that is not CRLF"
    head, body = data.split(b"\r\n\r\n", 1)
    assert max(map(len, head.split(b"\r\n"))) <= 78
    assert max(map(len, body.split(b"\r\n"))) <= 76
    subject = re.search(rb"^Subject: (.*?)\r\n(?! )", data, re.MULTILINE | re.DOTALL)
    assert subject is not None
    for word in subject[1].split(b"\r\n "):
        assert len(word) <= 75
        # each word decodes on its own: no character is split between two words
        ((raw, charset),) = decode_header(word.decode())
        assert charset == "utf-8"
        raw.decode("utf-8")


def assert_reads_the_same(letter: _Letter) -> EmailMessage:
    new = _plain_bytes(letter)
    assert new is not None, "the common case takes the direct writer"
    assert_wire_format(new)
    new_msg, old_msg = parse(new), parse(_mime_bytes(letter))
    assert new_msg.keys() == old_msg.keys()
    for name in new_msg:
        assert str(new_msg[name]) == str(old_msg[name]), name
    assert not new_msg.defects
    assert str(new_msg["Subject"]) == letter.subject
    assert new_msg["From"].addresses[0].display_name == letter.sender_name
    assert new_msg.get_content_type() == "text/plain"
    assert new_msg.get_content_charset() == "utf-8"
    assert new_msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert new_msg.get_content() == old_msg.get_content() == crlf_text(letter.body)
    return new_msg


@settings(max_examples=300, deadline=None)
@given(subject=SUBJECT, body=BODY, name=SENDER_NAME,
       to=st.lists(ADDRESS, min_size=1, max_size=5),
       thread=st.lists(MESSAGE_ID, max_size=25),
       auto=st.sampled_from([None, "auto-replied", "auto-generated"]))
@example(subject="Ж" * 100, body="a" * 74 + " \n" + "a" * 75 + "\t\n" + "a" * 76, name=NAME,
         to=["a@b.example"], thread=[], auto=None)
@example(subject="Re: hello", body="", name="Buhdesk", to=["a@b.example"], thread=[], auto=None)
@example(subject="😀" * 30, body=".\r\n.\rFrom x\n", name="О'Брайен, \"Ко\"", to=["a@b.example"],
         thread=["x@y"], auto="auto-replied")
def test_direct_letter_reads_like_the_mime_one(subject: str, body: str, name: str, to: list[str],
                                              thread: list[str], auto: str | None) -> None:
    letter = make_letter(subject=subject, body=body, sender_name=name, to=to, reply_to_ids=thread,
                         auto_submitted=auto)
    msg = assert_reads_the_same(letter)
    assert [a.addr_spec for a in msg["To"].addresses] == to
    if thread:
        assert msg["In-Reply-To"] == f"<{thread[-1]}>"
        assert msg["References"].split() == [f"<{i}>" for i in thread[-20:]]
    assert (msg["Auto-Submitted"], msg["X-Auto-Response-Suppress"]) == (
        (auto, "All") if auto else (None, None))


@pytest.mark.parametrize("body", [
    "a" * 74 + " \n",  # binascii escapes the space after measuring: 77 characters
    "a" * 75 + " \n",  # ... 78
    "a" * 75 + "\t\nnext",
    "a" * 76,  # the last line may reach 76 before the closing soft break
    "a" * 75 + "Ж",
    "Ж" * 40 + " \n",
    ".\n", ".", "x ", "=\n", "\n", "From here\n", "a\r\nb\rc\n\r", "\x00\x0c\x0b\x85\u2028 end",
])
def test_quoted_printable_edges(body: str) -> None:
    assert_reads_the_same(make_letter(body=body))


def test_subject_words_split_between_characters_and_escapes() -> None:
    # Mostly ASCII: Q words. A multi-byte character or an escape at every position of the first
    # and second word boundaries.
    for offset in range(45, 125):
        for piece in ("Ж", "😀", "=", "?", "_", " "):
            subject = "a" * offset + piece + "b" * 80
            assert_reads_the_same(make_letter(subject=subject, body=""))
    # Mostly Cyrillic: base64 words.
    for offset in range(30, 60):
        assert_reads_the_same(make_letter(subject="ж" * offset + "😀" + "ы" * 40, body=""))


def test_long_sender_name_stays_one_encoded_word() -> None:
    # Python's address parser (before 3.14) keeps the space between two encoded words of a display
    # name where RFC 2047 readers drop it, so a long name stays one word on its own line.
    name = "Управление бухгалтерского учёта и отчётности Министерства"
    letter = make_letter(sender_name=name)
    data = _plain_bytes(letter)
    assert data is not None
    msg = parse(data)
    assert msg["From"].addresses[0].display_name == name
    assert str(msg["From"]) == str(parse(_mime_bytes(letter))["From"])
    from_lines = re.search(rb"^From:.*?\r\n(?! )", data, re.MULTILINE | re.DOTALL)
    assert from_lines is not None
    assert from_lines[0].count(b"=?utf-8?") == 1


def test_compose_writes_plain_letters_directly_and_letters_with_files_as_mime() -> None:
    kwargs: dict[str, Any] = {
        "secret": b"k" * 32, "kind": "ack", "request_id": 7, "sender_name": NAME,
        "sender": "buh@minfin.example", "domain": "minfin.example", "to": ["a@b.example"],
        "subject": "Заявка", "body": "Текст\n", "now": NOW, "reply_to_ids": ["x@y.example"],
        "auto_submitted": "auto-replied",
    }
    out = compose(**kwargs)
    direct = _plain_bytes(make_letter(message_id=out.message_id, subject="Заявка", body="Текст\n",
                                      to=["a@b.example"], reply_to_ids=["x@y.example"]))
    assert out.data == direct

    with_file = compose(**kwargs, files=[FileToSend("акт.pdf", "application/pdf", b"%PDF-1.4")])
    msg = parse(with_file.data)
    assert msg.get_content_type() == "multipart/mixed"
    assert str(msg["Subject"]) == "Заявка"
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == "акт.pdf"
    assert attachment.get_content() == b"%PDF-1.4"


@pytest.mark.parametrize("values", [
    {"subject": "строка\nвторая"},  # the email package folds a line break in its own way
    {"subject": ""},
    {"to": ["клиент@пример.рф"]},
    {"body": "\udcff"},
])
def test_unusual_values_go_through_the_email_package(values: dict[str, Any]) -> None:
    letter = make_letter(**values)
    assert _plain_bytes(letter) is None
