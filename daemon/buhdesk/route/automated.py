"""Which incoming mail was written by a machine, so nothing ever auto-replies to it (RFC 3834).

The checks run in a fixed order, written once in :data:`CHECKS`; the first that fires names the
kind: ``loop``, ``own``, ``bounce``, ``feedback-report``, ``auto-reply``, ``auto-generated``,
``bulk``, ``list``. A ``feedback-report`` is an abuse/feedback report (ARF, RFC 5965): a mail
provider telling that someone marked a letter as spam, not a delivery failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from buhdesk.route.mime import ParsedMessage

_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_BOUNCE_NAMES = re.compile(
    r"mail delivery (sub)?system|почтовая система|mailer-daemon", re.IGNORECASE
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliver|undelivered mail|delivery status notification \((failure|delay)\)"
    r"|mail delivery failed|returned mail|failure notice|delivery failure|delivery has failed"
    r"|non[- ]?delivery|недоставленное сообщение|не удается доставить|не удалось доставить"
    r"|сообщение не доставлено|не доставлено|ошибка доставки|уведомление о недоставке)",
    re.IGNORECASE,
)
_OOF_SUBJECT = re.compile(
    r"^\s*(автоответ|автоматический ответ|авто-ответ|нет на месте|я в отпуске|в отпуске"
    r"|отсутствую|вне офиса|out of (the )?office|automatic reply|auto[- ]?reply|autoreply"
    r"|auto[- ]?response|autoresponse|on vacation|away from (the )?office)",
    re.IGNORECASE,
)
_NO_REPLY_LOCAL = re.compile(r"^(no-?reply|do-?not-?reply|donotreply|noreply[-.+_].*|bounces?)$")
_SUPPRESS_AUTOMATED = re.compile(r"\b(all|oof)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Facts:
    """What the checks look at, normalised once."""

    msg: ParsedMessage
    own: frozenset[str]
    loop_header: str

    def header(self, name: str) -> str:
        return self.msg.headers.get(name, "").strip().lower()

    @property
    def local_part(self) -> str:
        return (self.msg.from_addr or "").partition("@")[0]


def _is_loop(f: _Facts) -> bool:
    return f.loop_header in f.msg.headers


def _is_own(f: _Facts) -> bool:
    return bool(f.msg.from_addr) and f.msg.from_addr in f.own


def _is_bounce(f: _Facts) -> bool:
    ctype = f.header("content-type")
    return (
        (ctype.startswith("multipart/report") and "delivery-status" in ctype)
        or f.local_part in _BOUNCE_SENDERS
        or bool(_BOUNCE_NAMES.search(f.msg.from_name))
        or "x-failed-recipients" in f.msg.headers
        or bool(_BOUNCE_SUBJECT.match(f.msg.subject))
    )


def _is_feedback_report(f: _Facts) -> bool:
    """RFC 5965: multipart/report; report-type=feedback-report, with a message/feedback-report
    part (also when the report-type parameter is missing)."""
    ctype = f.header("content-type")
    return ctype.startswith("multipart/report") and (
        "feedback-report" in ctype
        or any(a.content_type == "message/feedback-report" for a in f.msg.attachments)
        or "feedback-type:" in f.msg.body_text.lower())


def _is_auto_reply(f: _Facts) -> bool:
    return (
        f.header("auto-submitted").startswith("auto-replied")
        or "x-autoreply" in f.msg.headers
        or "x-autorespond" in f.msg.headers
        or bool(_OOF_SUBJECT.match(f.msg.subject))
    )


def _is_null_sender(f: _Facts) -> bool:
    """Empty Return-Path: delivery reports use it; checked after auto-replies, which may too."""
    return f.header("return-path").replace(" ", "") == "<>"


def _is_auto_generated(f: _Facts) -> bool:
    submitted = f.header("auto-submitted")
    no_reply = bool(_NO_REPLY_LOCAL.match(f.local_part))
    ctype = f.header("content-type")
    return (
        (bool(submitted) and not submitted.startswith("no"))
        or no_reply
        or (ctype.startswith("multipart/report") and "disposition-notification" in ctype)
        or (bool(_SUPPRESS_AUTOMATED.search(f.header("x-auto-response-suppress"))) and no_reply)
    )


def _is_bulk(f: _Facts) -> bool:
    return f.header("precedence") in ("bulk", "junk", "list")


def _is_list(f: _Facts) -> bool:
    return "list-id" in f.msg.headers or "list-unsubscribe" in f.msg.headers


CHECKS: tuple[tuple[str, Callable[[_Facts], bool]], ...] = (
    ("loop", _is_loop),
    ("own", _is_own),
    ("feedback-report", _is_feedback_report),
    ("bounce", _is_bounce),
    ("auto-reply", _is_auto_reply),
    ("bounce", _is_null_sender),
    ("auto-generated", _is_auto_generated),
    ("bulk", _is_bulk),
    ("list", _is_list),
)


def detect_automated(
    msg: ParsedMessage, *, own_addresses: Collection[str] = (), loop_header: str = "x-buhdesk-loop"
) -> str | None:
    """The kind of automated mail ``msg`` is, or None for a letter written by a person."""
    facts = _Facts(msg, frozenset(a.strip().lower() for a in own_addresses), loop_header.lower())
    return next((kind for kind, check in CHECKS if check(facts)), None)
