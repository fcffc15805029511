"""What protects the survey form: a per-form nonce bound to the token's hash (double-submit
cookie, SameSite=Strict, plus an HMAC in a hidden field), and an in-memory token bucket per client
that keys clients by a hash under a per-process random key, so no address is ever kept.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

COOKIE = "bd_survey_form"


def form_signature(secret: bytes, nonce: str, token_hash: str) -> str:
    return hmac.new(secret, f"survey-form:{nonce}:{token_hash}".encode(),
                    hashlib.sha256).hexdigest()


def new_form_nonce() -> str:
    return secrets.token_urlsafe(18)


def form_is_genuine(keys: Sequence[bytes], *, cookie: str | None, nonce: str, signature: str,
                    token_hash: str) -> bool:
    """The cookie and the hidden nonce agree, and the signature binds them to this token."""
    if not cookie or not nonce or not hmac.compare_digest(cookie, nonce):
        return False
    return any(hmac.compare_digest(form_signature(key, nonce, token_hash), signature)
               for key in keys)


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``capacity`` submissions at once, refilled at ``per_minute``; clients are pseudonymous."""

    def __init__(self, capacity: int = 5, per_minute: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:
        self.capacity, self.rate, self.clock = capacity, per_minute / 60.0, clock
        self.max_clients = max_clients
        self._key = secrets.token_bytes(32)  # never written anywhere: pseudonyms die with us
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        who = hmac.new(self._key, client.encode(), hashlib.sha256).hexdigest()[:32]
        now = self.clock()
        with self._lock:
            if len(self._buckets) >= self.max_clients:
                self._forget_full(now)
            bucket = self._buckets.get(who) or _Bucket(float(self.capacity), now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            self._buckets[who] = bucket
            if bucket.tokens < 1:
                return False
            bucket.tokens -= 1
            return True

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely (they hold no information any more)."""
        for who, b in list(self._buckets.items()):
            if b.tokens + (now - b.at) * self.rate >= self.capacity:
                del self._buckets[who]
