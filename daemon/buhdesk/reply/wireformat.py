"""Writing a letter's wire format without the email package: header folding, RFC 2047 encoded
words and quoted-printable, with the C codecs in ``binascii``.

Header lines stay within 78 characters (unless one word is longer) and the words that the callers
ask for within 75 (RFC 5322 2.1.1, RFC 2047 2); quoted-printable lines within 76 (RFC 2045 6.7).
Line breaks are CRLF.
"""

from __future__ import annotations

import re
import string
from binascii import b2a_base64, b2a_qp

MAX_HEADER_LINE = 78
MAX_WORD = 75
_MAX_QP_LINE = 76
_WORD_CHROME = len("=?utf-8?b??=")
# Printable ASCII words with single spaces: a value that folds at its spaces and needs no encoding
# (and that compat32 folding leaves exactly as it is).
PLAIN_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*\Z")
# Bytes that stand for themselves in a Q-encoded word that may sit in a phrase (RFC 2047 5.3);
# the space becomes "_".
_Q_SAFE = (string.ascii_letters + string.digits + "-!*+/").encode("ascii")
_Q_MAP = [chr(b) if b in _Q_SAFE else f"={b:02X}" for b in range(256)]
_Q_MAP[ord(" ")] = "_"
_Q_ONE_CHAR = _Q_SAFE + b" "


def folded(name: str, value: str) -> str | None:
    """``name: value`` folded at spaces within 78 characters (a longer word keeps its own line);
    None unless the value is printable ASCII words with single spaces."""
    if not PLAIN_VALUE.match(value):
        return None
    line = f"{name}: {value}"
    if len(line) <= MAX_HEADER_LINE:
        return line
    first, *words = value.split(" ")
    lines = [f"{name}: {first}"]
    for word in words:
        if len(lines[-1]) + 1 + len(word) > MAX_HEADER_LINE:
            lines.append(" " + word)
        else:
            lines[-1] += " " + word
    return "\r\n".join(lines)


def encoded_words(text: str, first: int, rest: int) -> list[str]:
    """``text`` as utf-8 encoded words, the first at most ``first`` characters long and the others
    ``rest``; a character is never split. Base64 or Q, whichever is shorter, as ``Charset``
    chooses."""
    data = text.encode("utf-8")
    q_length = len(data) + 2 * len(data.translate(None, _Q_ONE_CHAR))
    if (len(data) + 2) // 3 * 4 < q_length:
        return _b_words(data, first, rest)
    return _q_words(data.decode("latin-1").translate(_Q_MAP), first, rest)


def _b_words(data: bytes, first: int, rest: int) -> list[str]:
    words = []
    start, room = 0, first
    while start < len(data):
        end = start + (room - _WORD_CHROME) // 4 * 3
        if end < len(data):
            while data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: end before its character
                end -= 1
        words.append(f"=?utf-8?b?{b2a_base64(data[start:end], newline=False).decode('ascii')}?=")
        start, room = end, rest
    return words


def _q_words(encoded: str, first: int, rest: int) -> list[str]:
    words = []
    start, room = 0, first
    while start < len(encoded):
        end = start + room - _WORD_CHROME
        if end < len(encoded):
            if encoded[end - 1] == "=":
                end -= 1
            elif encoded[end - 2] == "=":
                end -= 2
            while encoded[end] == "=" and encoded[end + 1] in "89AB":  # a continuation byte
                end -= 3
        words.append(f"=?utf-8?q?{encoded[start:end]}?=")
        start, room = end, rest
    return words


def quoted_printable(text: str) -> bytes:
    """``text`` in utf-8, quoted-printable with CRLF line breaks (any of CRLF, CR, LF in ``text``
    is a line break); a text without a final line break ends in a soft break, so that every line
    of the letter ends in CRLF and the decoded text is ``text``."""
    data = text.encode("utf-8")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    out = b2a_qp(data, istext=True)
    if b" \n" in data or b"\t\n" in data:
        out = _break_escaped_spaces(out)
    if data and not data.endswith(b"\n"):
        if len(out) - out.rfind(b"\n") - 1 >= _MAX_QP_LINE:  # the last line may reach 76
            out = out[:-1] + b"=\n" + out[-1:]
        out += b"=\n"
    return out.replace(b"\n", b"\r\n")


def _break_escaped_spaces(encoded: bytes) -> bytes:
    """``b2a_qp`` escapes a space or tab before a line break after measuring the line, so that
    line can reach 78 characters; such a line gets a soft break before the escape."""
    lines = encoded.split(b"\n")
    if max(map(len, lines)) <= _MAX_QP_LINE:
        return encoded
    return b"\n".join(line if len(line) <= _MAX_QP_LINE else line[:-3] + b"=\n" + line[-3:]
                      for line in lines)
