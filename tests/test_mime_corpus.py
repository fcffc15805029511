"""Golden corpus: every tests/corpus/mail/NAME.eml parses to what NAME.expected.json says."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from buhdesk.route.automated import detect_automated
from buhdesk.route.mime import MessageParseError, ParsedMessage, parse_message

CORPUS = Path(__file__).parent / "corpus" / "mail"
CASES = sorted(CORPUS.glob("*.eml"))


def _expected(path: Path) -> dict[str, Any]:
    return json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))


def _check_fields(msg: ParsedMessage, exp: dict[str, Any]) -> None:
    for name in ("from_addr", "from_name", "subject", "message_id", "body_text"):
        if name in exp:
            assert getattr(msg, name) == exp[name], name
    for name in ("cc", "in_reply_to", "references"):
        if name in exp:
            assert list(getattr(msg, name)) == exp[name], name
    if "date" in exp:
        want = exp["date"] and datetime.fromisoformat(exp["date"])
        assert msg.date == want
        assert msg.date is None or msg.date.tzinfo is not None
    for text in exp.get("body_contains", []):
        assert text in msg.body_text
    for text in exp.get("body_excludes", []):
        assert text not in msg.body_text
    for text in exp.get("html_contains", []):
        assert msg.body_html is not None and text in msg.body_html
    for text in exp.get("html_excludes", []):
        assert msg.body_html is None or text.lower() not in msg.body_html.lower()
    if exp.get("body_html_is_none"):
        assert msg.body_html is None


def _check_attachments(msg: ParsedMessage, wanted: list[dict[str, Any]]) -> None:
    assert [a.filename for a in msg.attachments] == [w["filename"] for w in wanted]
    for got, want in zip(msg.attachments, wanted, strict=True):
        for key in ("size", "content_type", "inline", "truncated"):
            if key in want:
                assert getattr(got, key) == want[key], (got.filename, key)
        assert len(got.data) == want.get("data_len", got.size)


def _check_forwarded(msgs: tuple[ParsedMessage, ...], wanted: list[dict[str, Any]]) -> None:
    assert len(msgs) == len(wanted)
    for got, want in zip(msgs, wanted, strict=True):
        _check_fields(got, want)
        _check_forwarded(got.forwarded, want.get("forwarded", []))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_corpus_message(path: Path) -> None:
    exp = _expected(path)
    msg = parse_message(path.read_bytes(), **exp.get("parse_kwargs", {}))
    _check_fields(msg, exp)
    if "attachments" in exp:
        _check_attachments(msg, exp["attachments"])
    if "forwarded" in exp:
        _check_forwarded(msg.forwarded, exp["forwarded"])
    if "automated" in exp:
        kind = detect_automated(msg, own_addresses=exp.get("own_addresses", ()))
        assert kind == exp["automated"]
    if "defects" in exp:
        assert bool(msg.defects) == exp["defects"], msg.defects


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_attachment_hash_matches_data() -> None:
    msg = parse_message((CORPUS / "thunderbird_utf8_rfc2231.eml").read_bytes())
    pdf = msg.attachments[0]
    assert pdf.data.startswith(b"%PDF") and len(pdf.data) == pdf.size
    assert pdf.sha256 == hashlib.sha256(pdf.data).hexdigest()


PNG_FILE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \r\n\r\n",
        PNG_FILE,
        b"\x00" * 100,
        b"%PDF-1.4\n" + bytes(range(256)),
        b"just some text, not a letter\n",
        b"Note: this is a memo\n\nnot mail",
    ],
    ids=["empty", "blank", "png", "nuls", "pdf", "text", "memo"],
)
def test_not_mail_is_refused(data: bytes) -> None:
    with pytest.raises(MessageParseError):
        parse_message(data)


def test_random_garbage_never_crashes() -> None:
    rng = random.Random(76)
    for _ in range(300):
        data = rng.randbytes(rng.randrange(0, 2000))
        try:
            parse_message(data)
        except MessageParseError:
            pass


def test_corrupted_corpus_never_crashes() -> None:
    rng = random.Random(2026)
    for path in CASES:
        raw = bytearray(path.read_bytes())
        for _ in range(5):
            mutated = bytearray(raw)
            for _ in range(rng.randrange(1, 40)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            cut = bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
            for sample in (cut, zlib.compress(cut)[:50] + cut):
                try:
                    parse_message(sample)
                except MessageParseError:
                    pass


def _nest(levels: int) -> bytes:
    raw = b"From: a@b.ru\r\nSubject: level 0\r\n\r\ninnermost\r\n"
    for n in range(1, levels + 1):
        raw = (
            (
                b"From: a@b.ru\r\nSubject: level %d\r\n"
                b"Content-Type: multipart/mixed; boundary=n%d\r\n\r\n"
                b"--n%d\r\nContent-Type: message/rfc822\r\n\r\n" % (n, n, n)
            )
            + raw
            + b"\r\n--n%d--\r\n" % n
        )
    return raw


def test_forward_depth_is_limited() -> None:
    msg = parse_message(_nest(5))
    depth, cur = 0, msg
    while cur.forwarded:
        cur, depth = cur.forwarded[0], depth + 1
    assert depth == 3
    assert any("nested over" in d for d in cur.defects)


def test_encoded_words_split_inside_a_character() -> None:
    data = "Заявление".encode()
    words = " ".join(
        f"=?utf-8?B?{base64.b64encode(data[i : i + 5]).decode()}?=" for i in range(0, len(data), 5)
    )
    msg = parse_message(f"From: a@b.ru\r\nSubject: {words} №1\r\n\r\nx".encode())
    assert msg.subject == "Заявление №1"


def test_text_part_with_a_name_is_an_attachment() -> None:
    raw = (
        b"From: a@b.ru\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
        b"--q\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
        b'--q\r\nContent-Type: text/plain; name="list.txt"\r\n\r\nfile text\r\n--q--\r\n'
    )
    msg = parse_message(raw)
    assert msg.body_text == "body"
    assert [(a.filename, a.data) for a in msg.attachments] == [("list.txt", b"file text")]


def test_absurd_nesting_is_read_as_text() -> None:
    depth = 3000
    head = b"From: a@b.ru\r\nSubject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    opening = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(depth)
    )
    closing = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth + 1)))
    raw = head + opening + b"--b%d\r\n\r\ndeep text\r\n" % depth + closing
    msg = parse_message(raw)
    assert msg.subject == "deep" and "deep text" in msg.body_text
    assert msg.defects
