"""Is the sender real: our own mail server's SPF/DKIM/DMARC verdicts, read before anything the
sender's address would cause (an answer, a command, a follow-up, a new request).

Only ``Authentication-Results`` fields with a configured trusted authserv-id count, and only the
topmost ones: from the top of the header block down to the first ``Received`` field below one of
them (the hop that handed the letter to our server). Fields with other ids, and fields further
down — which the sender may have written themselves — are ignored.

The verdict on the ``From:`` address:

* any ``fail`` of DMARC, SPF or DKIM from our server — or a DMARC result about another From
  domain than the one we read (two ``From:`` fields) — is a failure: a forged "pass" the sender
  slipped in beside our server's fields can never mask it;
* otherwise a DMARC pass, or an SPF or DKIM pass for the From domain (or its parent or
  subdomain), is a pass;
* anything else is "not authenticated".

A failure holds the letter, from staff and clients alike: a forged client address would
otherwise receive our acknowledgments and answers, and a forged follow-up would reopen someone's
request. With ``require = true`` a letter without any trusted field is held too, and so is a
staff address without a pass (our own domain is signed, so anything else is not our colleague).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from buhdesk.route.authresults import AuthResults, AuthResultsError, Result, parse
from buhdesk.trust.settings import AuthSettings

METHODS = ("dmarc", "spf", "dkim")


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "pass" | "fail" | "none"
    detail: str  # the results that decided, as the server wrote them ("dmarc=fail …")


def header_fields(data: bytes | bytearray) -> list[tuple[str, str]]:
    """The header fields of raw message bytes, top first (the body is not read)."""
    end = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0),
              default=len(data))
    parsed = BytesHeaderParser(policy=compat32).parsebytes(data[:end + 2])
    return [(name, str(value)) for name, value in parsed.items()]


def trusted_reports(fields: Sequence[tuple[str, str]], trusted: Sequence[str]) -> list[AuthResults]:
    """The Authentication-Results our own server wrote (see the module's docstring)."""
    found: list[AuthResults] = []
    for name, value in fields:
        lower = name.lower()
        if lower == "received" and found:
            break
        if lower != "authentication-results":
            continue
        try:
            report = parse(value)
        except AuthResultsError:
            continue  # unreadable: it can neither pass nor fail a letter
        if report.authserv_id in trusted:
            found.append(report)
    return found


def _domain(address: str | None) -> str:
    return (address or "").rpartition("@")[2].strip().strip(">").lower()


def _aligned(domain: str, other: str) -> bool:
    return bool(domain and other) and (domain == other or domain.endswith("." + other)
                                       or other.endswith("." + domain))


def _describe(r: Result) -> str:
    props = " ".join(f"{k}={v}" for k, v in r.properties.items())
    return f"{r.method}={r.result}" + (f" {props}" if props else "")


def _identity(r: Result) -> str:
    """The domain an SPF or DKIM result vouches for."""
    p = r.properties
    value = (p.get("smtp.mailfrom") or p.get("smtp.mail") or p.get("smtp.helo", "")
             if r.method == "spf" else p.get("header.d") or p.get("header.i", ""))
    return _domain(value) if "@" in value else value.lower()


def verdict(reports: Sequence[AuthResults], from_addr: str | None) -> Verdict:
    domain = _domain(from_addr)
    results = [r for report in reports for r in report.results if r.method in METHODS]
    failed = [r for r in results if r.result == "fail" or (
        r.method == "dmarc" and _about(r) not in ("", domain))]
    if failed:
        return Verdict("fail", "; ".join(_describe(r) for r in failed))
    passed = [r for r in results if r.result == "pass" and (
        _about(r) in ("", domain) if r.method == "dmarc" else _aligned(domain, _identity(r)))]
    if passed:
        return Verdict("pass", _describe(passed[0]))
    return Verdict("none", "; ".join(_describe(r) for r in results) or "результатов нет")


def _about(r: Result) -> str:
    """The From: domain a DMARC result is about (Mail.ru writes the whole address)."""
    value = r.properties.get("header.from", "")
    return _domain(value) if "@" in value else value.lower()


def hold_reason(settings: AuthSettings, data: bytes | bytearray, from_addr: str | None, *,
                staff: bool) -> str | None:
    """Why a letter must be held before anything its sender causes (Russian), or None."""
    if not settings.enabled:
        return None
    reports = trusted_reports(header_fields(data), settings.trusted_ids)
    found = verdict(reports, from_addr)
    servers = ", ".join(i or "Exchange Online" for i in settings.trusted_ids)
    if found.outcome == "fail":
        return (f"подлинность отправителя {from_addr} не подтверждена: почтовый сервер "
                f"{servers} сообщает {found.detail}")
    if not settings.require:
        return None
    if not reports:
        return (f"почтовый сервер {servers} не проверил подлинность отправителя {from_addr} "
                "(нет заголовка Authentication-Results), а настройки требуют проверки")
    if staff and found.outcome != "pass":
        return (f"письмо с адреса сотрудника {from_addr} без подтверждённой подлинности "
                f"({found.detail})")
    return None
