"""Separate what the sender wrote from quoted history, forwarded letters and signatures.

Replies quote history below a separator line, an Outlook header block («От: … Отправлено: …») or an
attribution line («12.11.2024, 14:05, X пишет:»); forwards put a whole letter below
«Пересылаемое сообщение». Classification looks only at the sender's own words, except that a pure
forward (nothing written above it) is itself the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from buhdesk.rules.lemmas import morph_analyzer
from buhdesk.rules.memo import sized_memo

_REPLY_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original message|исходное сообщение|оригинальное сообщение)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:forwarded message|пересылаемое сообщение|перенаправленное сообщение|"
    r"начало переадресованного сообщения)\s*-{0,}\s*:?\s*$"
    r"|^\s*(?:начало переадресованного сообщения|begin forwarded message)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION = re.compile(
    r"^.{0,120}(?:\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2} \w+ \d{4}).{0,160}"
    r"(?:пишет|написал[а]?|wrote)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_DATED = re.compile(
    r"^\s*(?:\w{2,3},\s*)?\d{1,2}[. ]\S+[. ]\d{2,4}.{0,30}\d{1,2}:\d{2}.{0,160}:\s*$"
)
# A line that introduces a quote in any client's words: «… wrote:», «… пишет:», «… написал(а):»
_ATTRIBUTION_VERB = re.compile(
    r"(?:пишет|написала?|написал\(а\)|wrote|writes)\s*:\s*$", re.IGNORECASE
)
_HAS_DATE = re.compile(r"\b(?:19|20)\d{2}\b|\b\d{1,2}:\d{2}\b")
_HAS_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>?")
_ATTRIBUTION_MAX = 250
_QUOTED = re.compile(r"^(?:\s*>|\t)")
_HEADER_FROM = re.compile(r"^\s*\**(?:от|from)\s*:\**\s*\S", re.IGNORECASE)
_HEADER_FIELD = re.compile(
    r"^\s*\**(?:от|from|кому|to|копия|cc|дата|date|отправлено|sent|тема|subject|важность|"
    r"importance)\s*:", re.IGNORECASE,
)
_HEADER_SENT = re.compile(r"^\s*\**(?:отправлено|sent|дата|date)\s*:", re.IGNORECASE)
_QUOTE_LINE = re.compile(r"^\s*>")
_SIGNATURE_DASHES = re.compile(r"^--\s*$")
_CLOSING = re.compile(
    r"^\s*(?:с уважением|с наилучшими пожеланиями|всего доброго|best regards|kind regards|"
    r"regards)\b.{0,60}$",
    re.IGNORECASE,
)
_MOBILE = re.compile(
    r"^\s*(?:отправлено (?:с|из) .{0,60}|sent from my .{0,40}|"
    r"получено с помощью .{0,40}|отправлено через .{0,40})$",
    re.IGNORECASE,
)
_DISCLAIMER = re.compile(
    r"^\s*(?:данное (?:электронное )?сообщение|это (?:электронное )?сообщение|"
    r"настоящее (?:электронное )?сообщение|конфиденциальност|this (?:e-?mail|message)|"
    r"disclaimer|внимание! (?:данное|это) сообщение)",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?:тел|моб|факс|phone|e-?mail)\b|\+?\d[\d\s()\-]{6,}\d", re.IGNORECASE)
_NAME_INITIALS = re.compile(r"^\s*[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.?\s*,?")
_INITIALS_NAME = re.compile(r"^\s*[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.\s?)?[А-ЯЁ][а-яё]+\s*$")
_ONE_WORD = re.compile(r"^\s*([А-ЯЁ][а-яё]+)\s*$")
_FULL_NAME = re.compile(r"^\s*[А-ЯЁ][а-яё]+(?:\s+[А-ЯЁ][а-яё]+){1,2}\s*$")
_POSITION = re.compile(
    r"^\s*(?:главный|ведущий|старший|начальник|заместитель|консультант|специалист|референт|"
    r"советник|директор|министерство|министр|отдел|управление|департамент|бухгалтер|"
    r"руководитель|помощник|инспектор|эксперт)",
    re.IGNORECASE,
)
_SIGNATURE_BLOCK_MAX = 10


@dataclass(frozen=True)
class QuoteSplit:
    """A letter cut in three: the sender's words, a forwarded letter, and the reply history."""

    own: str
    forwarded: str
    history: str


def strip_quoted(text: str) -> str:
    """The sender's own words without history, signature and disclaimers.

    A pure forward (nothing written above the forwarded letter) returns the forwarded body.
    """
    parts = split_quoted(text)
    return parts.own if parts.own.strip() else parts.forwarded


@sized_memo(0.02)  # a letter's text is cut by classification, the notice and the suggestions
def split_quoted(text: str) -> QuoteSplit:
    """Cut ``text`` into own words, forwarded body and reply history (each stripped)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut, forward = _find_cut(lines)
    own = _clean_own(lines[:cut])
    rest = lines[cut:]
    if not forward:
        return QuoteSplit(own, "", "\n".join(rest).strip())
    forwarded = strip_quoted("\n".join(_drop_header_block(rest[1:])))
    return QuoteSplit(own, forwarded, "")


def split_signature(text: str) -> tuple[str, str]:
    """Split ``text`` into (body, signature); signature is "" when none is recognised."""
    lines = text.replace("\r\n", "\n").rstrip().split("\n")
    start = _signature_start(lines)
    return "\n".join(lines[:start]).rstrip(), "\n".join(lines[start:]).strip()


def _find_cut(lines: list[str]) -> tuple[int, bool]:
    for i, line in enumerate(lines):
        if _FORWARD_SEPARATOR.match(line):
            return i, True
        if any(p.match(line) for p in (_REPLY_SEPARATOR, _ATTRIBUTION, _ATTRIBUTION_DATED)):
            return i, False
        if _is_attribution(lines, i):
            return i, False
        if _HEADER_FROM.match(line) and _is_header_block(lines, i):
            return i, False
    return len(lines), False


def _is_attribution(lines: list[str], i: int) -> bool:
    """«On Fri, Dec 04, 2026 at 10:15AM, X wrote:» (mutt), «X <x@y.ru> wrote:» with a tab-indented
    quote below (s-nail), «04.12.2026, 10:15, "X" <x@y.ru>:» (Yandex) — also when the client
    wrapped it over two lines («… X <» / «x@y.ru> wrote:», as Gmail does)."""
    line = lines[i].strip()
    if not line or line.startswith(">"):
        return False
    if _attribution_line(line, _next_is_quote(lines, i + 1)):
        return True
    if i + 1 < len(lines) and not line.endswith(":"):
        following = lines[i + 1].strip()
        if following.endswith(":") and len(following) <= 80:
            return _attribution_line(f"{line} {following}".replace("< ", "<"),
                                     _next_is_quote(lines, i + 2))
    return False


def _attribution_line(line: str, quote_follows: bool) -> bool:
    if not line.endswith(":") or len(line) > _ATTRIBUTION_MAX:
        return False
    dated, addressed = bool(_HAS_DATE.search(line)), bool(_HAS_ADDRESS.search(line))
    if _ATTRIBUTION_VERB.search(line):
        return dated or addressed or quote_follows
    return dated and addressed and quote_follows


def _next_is_quote(lines: list[str], start: int) -> bool:
    """The next line with text, within two lines, is quoted («>» or a tab, as s-nail quotes)."""
    for line in lines[start : start + 3]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _is_header_block(lines: list[str], start: int) -> bool:
    window = lines[start + 1 : start + 5]
    return any(_HEADER_SENT.match(line) for line in window)


def _drop_header_block(lines: list[str]) -> list[str]:
    i = 0
    while i < len(lines) and (not lines[i].strip() or _HEADER_FIELD.match(lines[i])):
        i += 1
    return lines[i:]


def _clean_own(lines: list[str]) -> str:
    kept = [line for line in lines if not _QUOTE_LINE.match(line)]
    body, _ = split_signature("\n".join(kept))
    return body.strip()


def _signature_start(lines: list[str]) -> int:
    end = len(lines)
    for i, line in enumerate(lines):
        if _SIGNATURE_DASHES.match(line) or _DISCLAIMER.match(line):
            end = i
            break
        if _CLOSING.match(line) and len(lines) - i <= _SIGNATURE_BLOCK_MAX:
            end = i
            break
    end = _drop_mobile_footer(lines, end)
    return _trailing_signature(lines, end)


def _drop_mobile_footer(lines: list[str], end: int) -> int:
    while end > 0 and (not lines[end - 1].strip() or _MOBILE.match(lines[end - 1])):
        end -= 1
    return end


def _trailing_signature(lines: list[str], end: int) -> int:
    """Walk back over the name/position/phone lines that end the letter."""
    last = end
    while last > 0 and not lines[last - 1].strip():
        last -= 1
    start = last
    while start > 0 and last - start < _SIGNATURE_BLOCK_MAX:
        if not _looks_like_signature_line(lines[start - 1]):
            break
        start -= 1
    if start == last and last >= 3 and not lines[last - 2].strip() and (
            _is_first_name_line(lines[last - 1])):
        start = last - 1  # a letter signed with the first name alone: «…\n\nОльга»
    if start == 0 or start == last:
        return last
    return start


def _is_first_name_line(line: str) -> bool:
    match = _ONE_WORD.match(line)
    return match is not None and _is_first_name(match[1])


@sized_memo(0.02)
def _is_first_name(word: str) -> bool:
    return any("Name" in p.tag and "nomn" in p.tag for p in morph_analyzer().parse(word))


def _looks_like_signature_line(line: str) -> bool:
    stripped = line.strip()
    words = len(stripped.split())
    if not stripped or words > 8 or stripped.endswith(("?", "!", ":")):
        return False
    if stripped.startswith("#"):  # a command line («#объединить БУХ-2026-000002» has digits)
        return False
    if stripped.endswith(".") and words > 3 and not _PHONE.search(stripped):
        return False
    return bool(
        _PHONE.search(stripped)
        or _NAME_INITIALS.match(stripped)
        or _INITIALS_NAME.match(stripped)
        or _FULL_NAME.match(stripped)
        or _POSITION.match(stripped)
    )


def new_text(text: str) -> str:
    """What a reply adds: the writer's own words without quoted history, a forwarded letter or
    the signature. Commands are read from this text only."""
    return split_signature(split_quoted(text).own)[0]
