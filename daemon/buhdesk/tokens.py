"""Thread tokens: every outgoing Message-ID carries an HMAC-signed reference to its request, so a
reply threads without trusting the subject; the subject tag is the human-visible fallback.
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
_TOKEN_RE = re.compile(r"^bd\.([anrxi])\.(\d+)\.([0-9a-f]{12})\.([0-9a-f]{20})@")
_TAG_RE = re.compile(r"\[([A-ZА-ЯЁ]{2,10}-\d{4}-\d{6})\]")


@dataclass(frozen=True)
class Token:
    kind: str
    request_id: int


def _sign(secret: bytes, body: str) -> str:
    return hmac.new(secret, body.encode("ascii"), hashlib.sha256).hexdigest()[:20]


def make_message_id(secret: bytes, kind: str, request_id: int, domain: str) -> str:
    """A Message-ID (without angle brackets) that carries a signed token."""
    letter = next(k for k, v in KINDS.items() if v == kind)
    body = f"{letter}.{request_id}.{secrets.token_hex(6)}"
    return f"bd.{body}.{_sign(secret, body)}@{domain}"


def read_token(keys: bytes | Sequence[bytes], message_id: str) -> Token | None:
    """The token inside one of our Message-IDs, or None if absent or forged; ``keys`` are the
    thread keys that verify (current first, the previous one during rotation)."""
    m = _TOKEN_RE.match(message_id.strip().strip("<>"))
    if not m:
        return None
    body = f"{m[1]}.{m[2]}.{m[3]}"
    if not any(hmac.compare_digest(_sign(key, body), m[4])
               for key in ((keys,) if isinstance(keys, bytes) else keys)):
        return None
    return Token(kind=KINDS[m[1]], request_id=int(m[2]))


def find_token(keys: bytes | Sequence[bytes], ids: Iterable[str]) -> Token | None:
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
