"""Thread tokens: every outgoing Message-ID carries an HMAC-signed reference to its request, so a
reply threads without trusting the subject; the subject tag is the human-visible fallback.

A token of a letter to a staff member (a notice, a returned answer) also names that member's login.
Threading never depends on the login; authority does: a token authorises only the member it names,
and only while the request's rules entitle them (see :mod:`buhdesk.trust.entitlement`).

Keys are passed in, never looked up here: ``keys`` is one key or several (the current first, then
the previous ones during a rotation); a token is signed with the first and accepted under any.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# What each outgoing message is, as the one-letter kind inside its token.
KINDS = {
    "a": "ack",  # acknowledgment to the client
    "n": "notice",  # notice to the accountant: replying to it answers the request
    "r": "answer",  # the checked answer to the client
    "x": "return",  # an answer returned to the accountant with findings
    "i": "info",  # other automatic mail (reminders, digests, admin reports)
}
# bd.<kind>.<request>.<random>.<signature>[.s.<login>]@domain — the login is last, before the
# domain, because logins may contain dots.
_TOKEN_RE = re.compile(
    r"^bd\.([anrxi])\.(\d+)\.([0-9a-f]{12})\.([0-9a-f]{24})(?:\.s\.([a-z0-9._-]{1,64}))?@")
# Tokens written before staff binding (20-character signature, no login): they still thread a
# reply to its request, but they never authorise anything.
_LEGACY_RE = re.compile(r"^bd\.([anrxi])\.(\d+)\.([0-9a-f]{12})\.([0-9a-f]{20})@")
_LOGIN_RE = re.compile(r"^[a-z0-9._-]{1,64}$")
_TAG_RE = re.compile(r"\[([A-ZА-ЯЁ]{2,10}-\d{4}-\d{6})\]")

Keys = bytes | Sequence[bytes]


@dataclass(frozen=True)
class Token:
    kind: str
    request_id: int
    staff: str = ""  # the login the letter was issued to; "" when it names nobody
    legacy: bool = False  # an old-format token: threads, never authorises


def _key_list(keys: Keys) -> list[bytes]:
    return [keys] if isinstance(keys, bytes) else list(keys)


def _sign(key: bytes, body: str, length: int) -> str:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).hexdigest()[:length]


def _body(letter: str, request_id: int, nonce: str, staff: str) -> str:
    # The version prefix keeps these signatures apart from the legacy ones.
    return f"v2:{letter}.{request_id}.{nonce}:{staff}"


def make_message_id(keys: Keys, kind: str, request_id: int, domain: str, *,
                    staff: str = "") -> str:
    """A Message-ID (without angle brackets) that carries a signed token; ``staff`` is the login
    of the one staff member the letter goes to (notices and returned answers)."""
    if staff and not _LOGIN_RE.match(staff):
        raise ValueError(f"login {staff!r} cannot be carried in a token")
    letter = next(k for k, v in KINDS.items() if v == kind)
    nonce = secrets.token_hex(6)
    signature = _sign(_key_list(keys)[0], _body(letter, request_id, nonce, staff), 24)
    tail = f".s.{staff}" if staff else ""
    return f"bd.{letter}.{request_id}.{nonce}.{signature}{tail}@{domain}"


def _genuine(keys: Keys, body: str, signature: str) -> bool:
    return any(hmac.compare_digest(_sign(key, body, len(signature)), signature)
               for key in _key_list(keys))


def read_token(keys: Keys, message_id: str) -> Token | None:
    """The token inside one of our Message-IDs, or None if absent or forged."""
    text = message_id.strip().strip("<>")
    m = _TOKEN_RE.match(text)
    if m:
        staff = m[5] or ""
        if not _genuine(keys, _body(m[1], int(m[2]), m[3], staff), m[4]):
            return None
        return Token(kind=KINDS[m[1]], request_id=int(m[2]), staff=staff)
    m = _LEGACY_RE.match(text)
    if m and _genuine(keys, f"{m[1]}.{m[2]}.{m[3]}", m[4]):
        return Token(kind=KINDS[m[1]], request_id=int(m[2]), legacy=True)
    return None


def find_token(keys: Keys, ids: Iterable[str]) -> Token | None:
    """The most recent valid token among In-Reply-To and References (the last one wins)."""
    found = None
    for mid in ids:
        token = read_token(keys, mid)
        if token is not None:
            found = token
    return found


def subject_tag(number: str) -> str:
    return f"[{number}]"


def find_subject_tag(subject: str) -> str | None:
    m = _TAG_RE.search(subject.upper())
    return m[1] if m else None
