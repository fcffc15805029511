"""The one secret and the keys derived from it: how strong it must be, one HMAC key per purpose
(HKDF, RFC 5869), and the previous secret accepted for verification until a configured day.

The rule for the secret (the same in ``check``, ``run`` and ``web``): at least 32 random bytes,
written as hex (64 characters or more) or base64/base64url (43 characters or more, padding
allowed); the decoded bytes must not compress (a repeated pattern), must not be readable text
(hex of a pass phrase), and the written form must not contain long runs, alphabet or keyboard
walks or common words. Anything else is refused with a Russian message saying how to make one.

Each purpose gets its own key, so a key that leaks from one place (the web process holds only
``WEB_PURPOSES``) cannot sign for another (thread tokens in Message-IDs).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

THREAD = "thread"  # signed tokens in our Message-IDs (who may answer a request)
SURVEY_FORM = "survey-form"  # the survey form's anti-forgery signature (CSRF)
SURVEY_GROUP = "survey-group"  # seals the group label of answers waiting for release
SURVEY_PERSON = "survey-person"  # the keyed hash standing for a person in the rate-limit table
SURVEY_MOMENT = "survey-moment"  # the day's random moment of the invitation batch
PURPOSES = (THREAD, SURVEY_FORM, SURVEY_GROUP, SURVEY_PERSON, SURVEY_MOMENT)
WEB_PURPOSES = (SURVEY_FORM, SURVEY_GROUP)
MIN_BYTES = 32
_SALT = b"buhdesk/v1"
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_B64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_WALKS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm",
          "1qaz2wsx3edc", "qazwsxedc")
_WORDS = ("password", "passwd", "secret", "qwerty", "admin", "buhdesk", "letmein", "parol",
          "changeme", "example", "default", "minfin")
_HOW_TO = ("Создайте новый так: openssl rand -hex 32 "
           "(или python3 -c 'import secrets; print(secrets.token_hex(32))'); "
           "для systemd: openssl rand -hex 32 | systemd-creds encrypt --name={name} - "
           "/etc/credstore.encrypted/{name}")


def how_to_make(name: str) -> str:
    """The Russian advice on making a secret named ``name``."""
    return _HOW_TO.format(name=name)


class WeakSecret(ValueError):
    """The secret does not meet the rule; the Russian message says why and how to make one."""


class KeyNotHeld(LookupError):
    """This process was not given the key for that purpose (e.g. the web process and threads)."""


def _decode(value: str) -> bytes:
    if _HEX.match(value) and len(value) % 2 == 0 and len(value) >= 2 * MIN_BYTES:
        if len(set(value.lower())) < 10:
            raise WeakSecret("в нём слишком мало разных знаков")
        return bytes.fromhex(value)
    if _B64.match(value) and not _HEX.match(value) and len(value) >= 43:
        if len(set(value)) < 20 or value.lower() == value or value.upper() == value:
            raise WeakSecret("в нём слишком мало разных знаков (нужны строчные и прописные "
                             "буквы, цифры)")
        text = value.replace("-", "+").replace("_", "/").rstrip("=")
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except binascii.Error as e:
            raise WeakSecret("это не шестнадцатеричная запись и не base64") from e
    raise WeakSecret(f"нужны не менее {MIN_BYTES} случайных байт: 64 и более шестнадцатеричных "
                     f"знаков или 43 и более знаков base64, а задано {len(value)} знаков")


def _pattern(value: str) -> str | None:
    """Why the written form looks made by a person, or None."""
    low = value.lower()
    if re.search(r"(.)\1{7}", low):
        return "один знак повторяется подряд"
    for walk in _WALKS:
        for seq in (walk, walk[::-1]):
            if any(seq[i:i + 7] in low for i in range(len(seq) - 6)):
                return "в нём есть последовательность клавиш или букв по порядку"
    if any(word in low for word in _WORDS):
        return "в нём есть словарное слово"
    return None


def secret_bytes(value: str) -> bytes:
    """The key material of a secret that meets the rule; raises WeakSecret otherwise."""
    value = value.strip()
    raw = _decode(value)
    if len(raw) < MIN_BYTES:
        raise WeakSecret(f"после декодирования получилось {len(raw)} байт, нужно не менее "
                         f"{MIN_BYTES}")
    if len(zlib.compress(raw, 9)) < len(raw) + 4:
        raise WeakSecret("в нём повторяется один и тот же фрагмент")
    if all(32 <= b < 127 or b in (9, 10, 13) for b in raw):
        raise WeakSecret("это записанный текст (например, фраза), а не случайные байты")
    reason = _pattern(value)
    if reason:
        raise WeakSecret(reason)
    return raw


def hkdf(ikm: bytes, info: str, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with a fixed salt, expand with the purpose as info."""
    prk = hmac.new(_SALT, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info.encode("ascii") + bytes([counter]),
                         hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def derive(raw: bytes, purposes: Iterable[str]) -> dict[str, bytes]:
    return {p: hkdf(raw, f"buhdesk {p}") for p in purposes}


@dataclass(frozen=True)
class KeyRing:
    """Per-purpose keys of the current secret and, until ``previous_until`` (inclusive), of the
    previous one. Only the current key signs; both verify."""

    current: Mapping[str, bytes]
    previous: Mapping[str, bytes]
    previous_until: date | None
    today: Callable[[], date]

    @classmethod
    def from_secrets(cls, current: str, *, previous: str | None = None,
                     previous_until: date | None = None, today: Callable[[], date] = date.today,
                     purposes: Iterable[str] = PURPOSES) -> KeyRing:
        wanted = tuple(purposes)
        old = derive(secret_bytes(previous), wanted) if previous and previous_until else {}
        return cls(derive(secret_bytes(current), wanted), old, previous_until, today)

    def signing_key(self, purpose: str) -> bytes:
        if purpose not in self.current:
            raise KeyNotHeld(f"this process holds no {purpose!r} key")
        return self.current[purpose]

    def keys(self, purpose: str) -> tuple[bytes, ...]:
        """Keys that verify, current first; the previous one only until its last day."""
        first = self.signing_key(purpose)
        old = self.previous.get(purpose)
        if old is None or self.previous_until is None or self.today() > self.previous_until:
            return (first,)
        return (first, old)

    def export(self) -> str:
        """The keys as text for another process (``buhdesk web-keys``): one ``purpose hex`` line
        each, the previous ones as ``purpose.previous hex`` with a ``previous-until`` line."""
        lines = [f"{p} {k.hex()}" for p, k in self.current.items()]
        lines += [f"{p}.previous {k.hex()}" for p, k in self.previous.items()]
        if self.previous and self.previous_until:
            lines.append(f"previous-until {self.previous_until.isoformat()}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_export(cls, text: str, *, today: Callable[[], date] = date.today) -> KeyRing:
        """Read :meth:`export`; raises ValueError on anything else."""
        current: dict[str, bytes] = {}
        previous: dict[str, bytes] = {}
        until = None
        for line in text.splitlines():
            if not line.strip():
                continue
            name, _, value = line.strip().partition(" ")
            if name == "previous-until":
                until = date.fromisoformat(value)
            elif name.removesuffix(".previous") in PURPOSES and len(bytes.fromhex(value)) == 32:
                (previous if name.endswith(".previous") else current)[
                    name.removesuffix(".previous")] = bytes.fromhex(value)
            else:
                raise ValueError(f"unexpected line {name!r}")
        if not current:
            raise ValueError("no keys")
        return cls(current, previous if until else {}, until, today)

    def only(self, purposes: Iterable[str]) -> KeyRing:
        """The same ring holding the keys for ``purposes`` only (what the web process gets)."""
        keep = set(purposes)
        return KeyRing({p: k for p, k in self.current.items() if p in keep},
                       {p: k for p, k in self.previous.items() if p in keep},
                       self.previous_until, self.today)
