"""Authentication-Results (RFC 8601): the parser on fields as real servers write them, which
fields are believed, and the verdict on the From: address.

The samples are written the way Gmail, Exchange Online (EOP), OpenDKIM/OpenDMARC on Postfix,
Yandex and Mail.ru stamp them (their layouts, comments and quirks), plus the grammar examples of
RFC 8601 Appendix B.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from buhdesk.route.authresults import AuthResultsError, parse
from buhdesk.trust.sender_auth import header_fields, hold_reason, trusted_reports, verdict
from buhdesk.trust.settings import AuthSettings

GMAIL = ("mx.google.com;\r\n"
         "       dkim=pass header.i=@yandex.ru header.s=mail header.b=Kx1p9X2m;\r\n"
         "       spf=pass (google.com: domain of ivan@yandex.ru designates 77.88.21.37 as "
         "permitted sender) smtp.mailfrom=ivan@yandex.ru;\r\n"
         "       dmarc=pass (p=REJECT sp=NONE dis=NONE) header.from=yandex.ru")
GMAIL_SPOOFED = ("mx.google.com;\r\n"
                 "       spf=softfail (google.com: domain of transitioning x@minfin.example does "
                 "not designate 203.0.113.5 as permitted sender) smtp.mailfrom=x@minfin.example;"
                 "\r\n       dmarc=fail (p=QUARANTINE sp=QUARANTINE dis=QUARANTINE) "
                 "header.from=minfin.example")
EOP = """spf=pass (sender IP is 209.85.128.41)
 smtp.mailfrom=gmail.com; dkim=pass (signature was verified)
 header.d=gmail.com;dmarc=pass action=none header.from=gmail.com;compauth=pass
 reason=100"""
EOP_SPOOFED = ("spf=fail (sender IP is 198.51.100.7) smtp.mailfrom=minfin.example; dkim=none "
               "(message not signed) header.d=none;dmarc=fail action=oreject "
               "header.from=minfin.example;compauth=fail reason=000")
OPENDMARC = "mx.minfin.example; dmarc=pass (p=reject dis=none) header.from=minfin.example"
OPENDKIM = ("mx.minfin.example;\r\n"
            "\tdkim=pass (2048-bit key; unprotected) header.d=minfin.example "
            "header.i=@minfin.example header.a=rsa-sha256 header.s=mail header.b=Hj7e2Kq1;\r\n"
            "\tdkim-atps=neutral")
YANDEX = ("mxfront3q.mail.yandex.net; spf=pass (mxfront3q.mail.yandex.net: domain of "
          "minfin.example designates 192.0.2.1 as permitted sender, rule=[ip4:192.0.2.0/24]) "
          "smtp.mail=ivanova@minfin.example; dkim=pass header.i=@minfin.example")
MAILRU = ("mxs.mail.ru; spf=pass (mx210.i.mail.ru: domain of minfin.example designates "
          "192.0.2.1 as permitted sender) smtp.mailfrom=ivanova@minfin.example "
          "smtp.helo=mail.minfin.example; dkim=pass header.d=minfin.example; "
          "dmarc=pass header.from=ivanova@minfin.example")
RFC_COMMENTS = """foo.example.net (foobar) 1 (baz);
    dkim (Because I like it) / 1 (One yay) = (wait for it) fail
      policy (A dot can go here) . (like that) expired
      (this surprised me) = (as I wasn't expecting it) 1362471462"""


def methods(value: str) -> dict[str, str]:
    return {r.method: r.result for r in parse(value).results}


def test_gmail() -> None:
    found = parse(GMAIL)
    assert found.authserv_id == "mx.google.com" and not found.problems
    assert methods(GMAIL) == {"dkim": "pass", "spf": "pass", "dmarc": "pass"}
    spf = found.results[1]
    assert spf.properties["smtp.mailfrom"] == "ivan@yandex.ru"
    assert spf.comments[0].startswith("google.com: domain of ivan@yandex.ru")
    assert found.results[2].properties["header.from"] == "yandex.ru"
    assert methods(GMAIL_SPOOFED) == {"spf": "softfail", "dmarc": "fail"}


def test_exchange_online_writes_no_authserv_id() -> None:
    found = parse(EOP)
    assert found.authserv_id == "" and not found.problems
    assert methods(EOP) == {"spf": "pass", "dkim": "pass", "dmarc": "pass", "compauth": "pass"}
    dmarc = next(r for r in found.results if r.method == "dmarc")
    assert dmarc.properties == {"action": "none", "header.from": "gmail.com"}
    assert next(r for r in found.results if r.method == "compauth").reason == "100"
    assert methods(EOP_SPOOFED)["dmarc"] == "fail"


def test_opendkim_and_opendmarc() -> None:
    dkim = parse(OPENDKIM)
    assert dkim.authserv_id == "mx.minfin.example"
    assert dkim.results[0].properties["header.b"] == "Hj7e2Kq1"
    assert dkim.results[0].comments == ("2048-bit key; unprotected",)
    assert methods(OPENDKIM) == {"dkim": "pass", "dkim-atps": "neutral"}
    assert methods(OPENDMARC) == {"dmarc": "pass"}


def test_yandex_and_mail_ru() -> None:
    yandex = parse(YANDEX)
    assert yandex.results[0].comments[0].endswith("rule=[ip4:192.0.2.0/24]")
    assert yandex.results[0].properties["smtp.mail"] == "ivanova@minfin.example"
    mailru = parse(MAILRU)
    assert mailru.results[0].properties == {"smtp.mailfrom": "ivanova@minfin.example",
                                            "smtp.helo": "mail.minfin.example"}


def test_rfc_8601_grammar_corners() -> None:
    tricky = parse(RFC_COMMENTS)
    assert (tricky.authserv_id, tricky.version) == ("foo.example.net", 1)
    [dkim] = tricky.results
    assert dkim.method == "dkim" and dkim.result == "fail"
    assert dkim.properties == {"policy.expired": "1362471462"}
    assert parse("example.com; none").results == ()
    quoted = parse('"mx (1)"; spf=pass reason="a; b" smtp.mailfrom="a b"@example.net;')
    assert quoted.authserv_id == "mx (1)"
    assert quoted.results[0].reason == "a; b"
    assert quoted.results[0].properties["smtp.mailfrom"] == "a b@example.net"


def test_a_damaged_clause_is_left_out_never_read_as_a_pass() -> None:
    found = parse("mx.minfin.example; dmarc=; spf pass; dkim=pass header.d=minfin.example")
    assert [r.method for r in found.results] == ["dkim"]
    assert len(found.problems) == 2
    for broken in ("", "mx.minfin.example; dkim=pass (unclosed", 'mx; spf=pass reason="x'):
        with pytest.raises(AuthResultsError):
            parse(broken)


# --- which fields are believed -------------------------------------------------------------------

def raw(*lines: str) -> bytes:
    return ("\r\n".join([*lines, "From: ivanova@minfin.example", "Subject: x", "", "body"])
            ).encode()


def test_only_the_trusted_server_at_the_top_is_believed() -> None:
    data = raw("Return-Path: <x@evil.example>",
               "Received: from mx.minfin.example by imap.minfin.example (Dovecot) with LMTP",
               "Authentication-Results: mx.minfin.example; dmarc=fail header.from=minfin.example",
               "Authentication-Results: mx.evil.example; dmarc=pass header.from=minfin.example",
               "Received: from evil.example by mx.minfin.example (Postfix)",
               "Authentication-Results: mx.minfin.example; dmarc=pass header.from=minfin.example")
    reports = trusted_reports(header_fields(data), ["mx.minfin.example"])
    assert [r.results[0].result for r in reports] == ["fail"]


def test_a_forged_pass_beside_our_failure_does_not_mask_it() -> None:
    # Postfix puts its milters' fields below its own Received line, right above the sender's
    # header block: a forged field at the top of that block sits beside ours
    data = raw("Received: from evil.example by mx.minfin.example (Postfix)",
               "Authentication-Results: mx.minfin.example; spf=fail smtp.mailfrom=minfin.example;"
               " dmarc=none header.from=minfin.example",
               "Authentication-Results: mx.minfin.example; dmarc=pass header.from=minfin.example")
    reports = trusted_reports(header_fields(data), ["mx.minfin.example"])
    assert verdict(reports, "ivanova@minfin.example").outcome == "fail"


def test_fields_of_the_same_hop_are_read_together() -> None:
    data = raw("Authentication-Results: mx.minfin.example; dmarc=none header.from=minfin.example",
               "Authentication-Results: mx.minfin.example; dkim=pass header.d=minfin.example",
               "Received: from mail.minfin.example by mx.minfin.example (Postfix)")
    reports = trusted_reports(header_fields(data), ["mx.minfin.example"])
    assert verdict(reports, "ivanova@minfin.example").outcome == "pass"


# --- the verdict --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "sender", "outcome"), [
    (GMAIL, "ivan@yandex.ru", "pass"),
    (GMAIL_SPOOFED, "ivanova@minfin.example", "fail"),
    (EOP, "someone@gmail.com", "pass"),
    (EOP_SPOOFED, "ivanova@minfin.example", "fail"),
    (OPENDMARC, "ivanova@minfin.example", "pass"),
    (OPENDKIM, "ivanova@minfin.example", "pass"),  # aligned DKIM without DMARC
    (YANDEX, "ivanova@minfin.example", "pass"),
    (MAILRU, "ivanova@minfin.example", "pass"),
    # DMARC about another From: domain than the one we read: two From: fields, a trick
    (OPENDMARC, "ivanova@other.example", "fail"),
    # a DKIM pass for the attacker's own domain vouches for nothing
    ("mx; dkim=pass header.d=evil.example", "ivanova@minfin.example", "none"),
    # any failure our server reports wins: a "pass" beside it may be the sender's forgery
    ("mx; dkim=fail header.d=minfin.example; dmarc=pass header.from=minfin.example",
     "ivanova@minfin.example", "fail"),
    ("mx; spf=fail smtp.mailfrom=minfin.example; dmarc=pass header.from=minfin.example",
     "ivanova@minfin.example", "fail"),
    ("mx; spf=fail smtp.mailfrom=minfin.example", "ivanova@minfin.example", "fail"),
    ("mx; spf=softfail smtp.mailfrom=minfin.example", "ivanova@minfin.example", "none"),
    ("mx; none", "ivanova@minfin.example", "none"),
])
def test_verdict(value: str, sender: str, outcome: str) -> None:
    assert verdict([parse(value)], sender).outcome == outcome


def test_hold_reasons() -> None:
    off, watch = AuthSettings(), AuthSettings(("mx.minfin.example",))
    strict = AuthSettings(("mx.minfin.example",), require=True)
    failing = raw(f"Authentication-Results: {OPENDMARC.replace('pass', 'fail', 1)}")
    silent = raw("Received: from a by b")
    weak = raw("Authentication-Results: mx.minfin.example; spf=neutral smtp.mailfrom=x.example")
    assert hold_reason(off, failing, "ivanova@minfin.example", staff=True) is None
    assert "dmarc=fail" in (hold_reason(watch, failing, "a@minfin.example", staff=False) or "")
    assert hold_reason(watch, silent, "ivanova@minfin.example", staff=True) is None
    assert "нет заголовка" in (hold_reason(strict, silent, "a@b.example", staff=False) or "")
    assert hold_reason(strict, weak, "client@x.example", staff=False) is None
    assert "сотрудника" in (hold_reason(strict, weak, "ivanova@minfin.example", staff=True) or "")
    eop = AuthSettings(("",))
    assert hold_reason(eop, raw(f"Authentication-Results: {EOP_SPOOFED}"),
                       "ivanova@minfin.example", staff=True) is not None


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_cleanly(value: str) -> None:
    try:
        found = parse(value)
    except AuthResultsError:
        return
    assert all(r.method and r.result for r in found.results)


def test_a_folded_field_is_read_from_the_raw_header() -> None:
    data = (b"Authentication-Results: mx.minfin.example;\r\n\tdkim=pass header.d=minfin.example;"
            b"\r\n\tdmarc=fail\r\n header.from=minfin.example\r\nFrom: a@minfin.example\r\n\r\n"
            b"Authentication-Results: mx.minfin.example; dmarc=pass\r\n")  # in the body
    reports = trusted_reports(header_fields(data), ["mx.minfin.example"])
    assert verdict(reports, "a@minfin.example") == verdict(
        [parse("mx.minfin.example; dkim=pass header.d=minfin.example; dmarc=fail "
               "header.from=minfin.example")], "a@minfin.example")
    assert verdict(reports, "a@minfin.example").outcome == "fail"
