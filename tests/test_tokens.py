"""Thread tokens: signed Message-IDs thread replies; forged or altered ones are not trusted."""

from buhdesk.tokens import find_subject_tag, find_token, make_message_id, read_token

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
