"""Thread tokens: signed Message-IDs thread replies; forged or altered ones are not trusted."""

import hashlib
import hmac

import pytest

from buhdesk.trust.tokens import Token, find_subject_tag, find_token, make_message_id, read_token

SECRET = b"k" * 32


def test_token_round_trip_and_kind() -> None:
    mid = make_message_id(SECRET, "notice", 42, "minfin.example")
    token = read_token(SECRET, f"<{mid}>")
    assert token is not None and token.kind == "notice" and token.request_id == 42


def test_forged_tokens_are_rejected() -> None:
    mid = make_message_id(SECRET, "ack", 42, "minfin.example")
    assert read_token(b"other-secret-xxxxxxxxxxxx", mid) is None
    tampered = mid.replace(".42.", ".43.")
    assert read_token(SECRET, tampered) is None
    assert read_token(SECRET, "random@example.org") is None


def test_last_valid_reference_wins() -> None:
    first = make_message_id(SECRET, "ack", 1, "d")
    second = make_message_id(SECRET, "answer", 2, "d")
    token = find_token(SECRET, [first, "foreign@x", second])
    assert token is not None and token.request_id == 2


def test_subject_tag() -> None:
    assert find_subject_tag("Re: [БУХ-2026-000123] Справка") == "БУХ-2026-000123"
    assert find_subject_tag("RE: [бух-2026-000007] справка") == "БУХ-2026-000007"
    assert find_subject_tag("БУХ-2026-000123 без скобок") is None


def test_a_staff_token_names_the_member_it_was_issued_to() -> None:
    mid = make_message_id(SECRET, "notice", 42, "minfin.example", staff="ivanova.o")
    token = read_token(SECRET, mid)
    assert token == Token("notice", 42, staff="ivanova.o")
    # the login is signed: naming someone else breaks the token
    assert read_token(SECRET, mid.replace(".s.ivanova.o@", ".s.petrova@")) is None
    assert read_token(SECRET, mid.replace(".s.ivanova.o@", "@")) is None
    with pytest.raises(ValueError):
        make_message_id(SECRET, "notice", 42, "d", staff="Иванова")


def test_old_tokens_thread_but_name_nobody() -> None:
    body = "n.42.0123456789ab"
    legacy = f"bd.{body}.{hmac.new(SECRET, body.encode(), hashlib.sha256).hexdigest()[:20]}@d"
    token = read_token(SECRET, legacy)
    assert token == Token("notice", 42, staff="", legacy=True)
    assert read_token(b"x" * 32, legacy) is None


def test_a_rotated_key_still_reads_tokens_signed_with_the_previous_one() -> None:
    old, new = b"o" * 32, b"n" * 32
    mid = make_message_id([old], "notice", 7, "d", staff="ivanova")
    assert read_token([new, old], mid) == Token("notice", 7, staff="ivanova")
    assert read_token([new], mid) is None
    assert read_token([new, old], make_message_id([new, old], "ack", 7, "d")) is not None
