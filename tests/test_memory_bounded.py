"""A big letter is held in memory about once on its way through, and comes out intact: letters
over the fetch budget come from IMAP one at a time; a big letter's bytes are stored and read back
whole on SQLite and on PostgreSQL; its attachment reaches the blob store, and a staff answer
that forwards it, byte for byte; and a big letter parses exactly as the parse of its whole text
does, broken base64 and all. (The peak memory itself is measured by bench/memory.py.)
"""

from __future__ import annotations

import base64
import email
import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session
from support import letter

from buhdesk.route import bigparts
from buhdesk.store.blobs import LOCK, BlobStore
from buhdesk.reply.compose import FileToSend, compose
from buhdesk.intake.take import take_in
from buhdesk.interfaces import RawItem
from buhdesk.route.mime import ParsedMessage, parse_message
from buhdesk.store.models import Message, Raw
from buhdesk.store.raw import read_raw
from buhdesk.store.engine import open_store
from buhdesk_connectors.imap import ImapSource

MB = 1024 * 1024
PAYLOAD = random.Random(9).randbytes(3 * MB + 5)


@pytest.mark.integration
def test_letters_over_the_byte_budget_are_fetched_one_at_a_time(mail_user) -> None:  # type: ignore[no-untyped-def]
    big = {2, 6, 7}
    letters = [letter(n, attachment=PAYLOAD[:150_000] if n in big else b"") for n in range(9)]
    mail_user.dovecot.append(mail_user.name, "INBOX", letters)
    source = ImapSource(name="minfin", host=mail_user.host, port=mail_user.port,
                        user=mail_user.name, password=mail_user.password, security="none",
                        batch_bytes=100_000)
    batches: list[list[int]] = []
    try:
        while items := source.fetch(100):
            batches.append([letters.index(item.data) for item in items])
            source.ack(items)
    finally:
        source.close()
    assert batches == [[0, 1], [2], [3, 4, 5], [6], [7], [8]]
    assert mail_user.dovecot.count(mail_user.name, "INBOX") == 0


@pytest.mark.integration
def test_a_big_letter_is_stored_and_read_back_byte_for_byte(store_url: str) -> None:
    engine = open_store(store_url)
    sent = {"big": letter(1, attachment=PAYLOAD), "small": letter(2),
            "held": letter(3, attachment=PAYLOAD + PAYLOAD)}
    items = [RawItem(source="minfin", key=key, data=data, received_at=datetime.now(UTC))
             for key, data in sent.items()]
    try:
        result = take_in(engine, items, max_bytes=8 * MB)
        assert len(result.stored) == 2 and len(result.held) == 1
        with Session(engine) as s:
            for pk in [*result.stored, *result.held]:
                msg = s.get(Message, pk)
                assert msg is not None
                data = sent[msg.source_key]
                assert read_raw(s, pk) == data
                assert s.get(Raw, pk).letter() == data  # type: ignore[union-attr]
                assert (msg.size, msg.raw_sha256) == (len(data), hashlib.sha256(data).hexdigest())
        again = take_in(engine, items, max_bytes=8 * MB)
        assert sorted(again.duplicates) == sorted(sent)
    finally:
        engine.dispose()


def test_a_big_attachment_reaches_the_blob_store_intact(tmp_path: Path) -> None:
    parsed = parse_message(letter(1, attachment=PAYLOAD, name="сканы.pdf"))
    (attachment,) = parsed.attachments
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    assert (attachment.filename, attachment.size, attachment.sha256) == (
        "сканы.pdf", len(PAYLOAD), digest)
    assert attachment.data == PAYLOAD and len(attachment.data) == len(PAYLOAD)
    assert not isinstance(attachment.data, bytes)  # decoded into a file, not into memory
    assert "2-НДФЛ" in parsed.body_text

    blobs = BlobStore(tmp_path)
    assert blobs.put(attachment.data) == digest
    assert blobs.get(digest) == PAYLOAD
    assert blobs.put(PAYLOAD) == digest  # the same content is kept once
    assert [p.name for p in tmp_path.rglob("*") if p.is_file() and p.name != LOCK] == [digest]


def test_a_staff_answer_forwards_a_big_attachment_intact() -> None:
    (attachment,) = parse_message(letter(1, attachment=PAYLOAD)).attachments
    out = compose(secret=b"s" * 32, kind="answer", request_id=1, sender_name="Бухгалтерия",
                  sender="buh@minfin.example", domain="minfin.example",
                  to=["employee1@culture.example"], subject="Справка", body="Готово.",
                  now=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
                  files=[FileToSend("справка.pdf", "application/pdf", attachment.data)])
    sent = [p for p in email.message_from_bytes(out.data).walk() if p.get_filename()]
    assert [p.get_payload(decode=True) for p in sent] == [PAYLOAD]


def test_an_attachment_over_the_limit_is_not_kept_but_counted() -> None:
    parsed = parse_message(letter(1, attachment=PAYLOAD), max_attachment_bytes=MB)
    (attachment,) = parsed.attachments
    assert attachment.truncated and attachment.data == b""
    assert attachment.size == len(PAYLOAD)
    assert any("over limit" in d for d in parsed.defects)


# --- a big letter parses as the parse of its whole text does ----------------------------------

def _b64(data: bytes, width: int = 76, eol: bytes = b"\r\n") -> bytes:
    text = base64.b64encode(data)
    return eol.join(text[i:i + width] for i in range(0, len(text), width))


def _mixed(*parts: tuple[list[bytes], bytes], eol: bytes = b"\r\n") -> bytes:
    head = [b"From: Sender <sender@culture.example>", b"To: buh@minfin.example",
            b"Subject: big", b"Message-ID: <big@culture.example>", b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="=b="', b""]
    body = eol.join(head) + eol + b"preamble" + eol
    for headers, payload in parts:
        body += b"--=b=" + eol + eol.join(headers) + eol + eol + payload + eol
    return body + b"--=b=--" + eol


PDF = [b"Content-Type: application/pdf", b"Content-Transfer-Encoding: base64",
       b'Content-Disposition: attachment; filename="scan.pdf"']
TEXT = [b"Content-Type: text/plain; charset=utf-8"]
half = PAYLOAD[:len(PAYLOAD) // 2]
inner = _mixed((TEXT, "Пересылаю.".encode()), (PDF, _b64(PAYLOAD)))
unpadded = base64.b64encode(PAYLOAD + b"x").rstrip(b"=")

LETTERS: dict[str, bytes] = {
    "clean": _mixed((TEXT, "Сканы во вложении.".encode()), (PDF, _b64(PAYLOAD))),
    "lf line ends": _mixed((TEXT, b"scans"), (PDF, _b64(PAYLOAD, eol=b"\n")), eol=b"\n"),
    "odd line width": _mixed((PDF, _b64(PAYLOAD, 77)),),
    "no padding": _mixed((PDF, b"\r\n".join(unpadded[i:i + 76]
                                            for i in range(0, len(unpadded), 76))),),
    "cut off": _mixed((PDF, _b64(PAYLOAD)[:-7]),),
    "junk line inside": _mixed((PDF, _b64(half) + b"\r\n!!\r\n" + _b64(half)),),
    "blank line inside": _mixed((PDF, _b64(PAYLOAD[:3 * MB]) + b"\r\n\r\n" + _b64(b"tail")),),
    "trailing blanks": _mixed((PDF, _b64(PAYLOAD) + b"  \r\nQUJD"),),
    "padding on its own line": _mixed((PDF, _b64(PAYLOAD) + b"\r\n="),),
    "no blank line after headers": _mixed((PDF, _b64(PAYLOAD)),).replace(
        b'scan.pdf"\r\n\r\n', b'scan.pdf"\r\n'),
    "two attachments": _mixed((PDF, _b64(PAYLOAD)), (PDF, _b64(half))),
    "text body in base64": _mixed(
        ([b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: base64"],
         _b64("Текст письма. ".encode() * 200_000)),),
    "base64-like text, not encoded": _mixed(
        ([b"Content-Type: application/octet-stream"], _b64(PAYLOAD)),),
    "quoted-printable": _mixed(
        ([b"Content-Type: application/pdf", b"Content-Transfer-Encoding: quoted-printable"],
         _b64(PAYLOAD)),),
    "encoding with a trailing blank": _mixed(
        ([b"Content-Type: application/pdf", b"Content-Transfer-Encoding: base64 "],
         _b64(PAYLOAD)),),
    "forwarded": _mixed((TEXT, b"fwd"), ([b"Content-Type: message/rfc822"], inner)),
    "forwarded in base64": _mixed(
        ([b"Content-Type: message/rfc822", b"Content-Transfer-Encoding: base64"], _b64(inner)),),
    "single part": (b"From: sender@culture.example\r\nSubject: scan\r\n"
                    b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                    + _b64(PAYLOAD)),
    "mbox From line": b"From sender@culture.example Tue Nov 24 09:00:00 2026\r\n"
                      + _mixed((PDF, _b64(PAYLOAD)),),
}


def _values(parsed: ParsedMessage) -> dict[str, object]:
    values = dict(vars(parsed)) if hasattr(parsed, "__dict__") else {
        name: getattr(parsed, name) for name in parsed.__dataclass_fields__}
    values["attachments"] = [(a.filename, a.content_type, bytes(a.data), a.size, a.sha256,
                              a.inline, a.truncated) for a in parsed.attachments]
    values["forwarded"] = [_values(f) for f in parsed.forwarded]
    values["headers"] = dict(parsed.headers)
    return values


@pytest.fixture
def whole_text_parse(monkeypatch: pytest.MonkeyPatch) -> Callable[..., ParsedMessage]:
    """``parse_message`` with nothing cut out of big letters: the stdlib reads the whole text."""
    def parse(raw: bytes, **options: int) -> ParsedMessage:
        with monkeypatch.context() as m:
            m.setattr(bigparts, "MIN_MESSAGE", 1 << 62)
            return parse_message(raw, **options)
    return parse


@pytest.mark.parametrize("limit", [30 * MB, MB])
@pytest.mark.parametrize("name", LETTERS)
def test_a_big_letter_parses_as_its_whole_text_does(
    name: str, limit: int, whole_text_parse: Callable[..., ParsedMessage]
) -> None:
    raw = LETTERS[name]
    assert len(raw) >= bigparts.MIN_MESSAGE
    expected = _values(whole_text_parse(raw, max_attachment_bytes=limit))
    assert _values(parse_message(raw, max_attachment_bytes=limit)) == expected
    assert _values(parse_message(bytearray(raw), max_attachment_bytes=limit)) == expected


def test_one_morphological_analyser_serves_classification_text_check_and_addressing() -> None:
    """About 20 MB each: the daemon loads the dictionary once, whoever asks first."""
    from buhdesk.reply.addressing import _morph
    from buhdesk.rules.lemmas import Lemmatizer
    from buhdesk.textcheck.lexicon import Lexicon

    assert Lexicon.build([]).morph is Lemmatizer()._morph is _morph()
