"""SmtpTransport against a real aiosmtpd server on loopback, with injected faults."""

from __future__ import annotations

import email
import os
import sys

import pytest

from buhdesk.interfaces import Envelope, PermanentDeliveryError, TransientDeliveryError
from harness.loopback import SmtpSink
from buhdesk_connectors.smtp import SmtpTransport

pytestmark = pytest.mark.integration


def _transport(sink: SmtpSink) -> SmtpTransport:
    return SmtpTransport(host=sink.host, port=sink.port, security="none", timeout=5)


def _envelopes(make_message, count: int, to: str = "client@example.org") -> list[Envelope]:
    return [Envelope(key=f"out-{i}", sender="buh@example.org", recipients=(to,),
                     data=make_message(subject=f"Ответ {i}", to=to)) for i in range(count)]


def test_sends_a_batch_with_exact_bytes_and_envelope(smtp_sink, make_message):
    envelopes = _envelopes(make_message, 3)

    results = _transport(smtp_sink).send(envelopes)

    assert results == {"out-0": None, "out-1": None, "out-2": None}
    received = smtp_sink.wait_for(3)
    assert [m.data for m in received] == [e.data for e in envelopes]
    assert {(m.mail_from, m.rcpt_tos) for m in received} == {
        ("buh@example.org", ("client@example.org",))}


def test_each_accepted_message_is_reported_before_the_next_goes(smtp_sink, make_message):
    seen: list[tuple[str, int]] = []  # (key, messages the server held when it was reported)
    smtp_sink.fail_next(1, code=550)  # out-0 refused: never reported as sent

    def note(key: str) -> None:
        seen.append((key, len(smtp_sink.messages)))

    results = _transport(smtp_sink).send(_envelopes(make_message, 3), on_sent=note)

    assert isinstance(results["out-0"], PermanentDeliveryError)
    assert seen == [("out-1", 1), ("out-2", 2)]


def test_a_failing_report_stops_the_batch_after_that_message(smtp_sink, make_message):
    def refuse(key: str) -> None:
        raise RuntimeError(f"store full, {key} not recorded")

    with pytest.raises(RuntimeError, match="out-0 not recorded"):
        _transport(smtp_sink).send(_envelopes(make_message, 3), on_sent=refuse)
    assert len(smtp_sink.messages) == 1  # only the message in flight went out


def test_long_lines_and_8bit_bodies_arrive_intact(smtp_sink):
    line = ("Строка " * 300).strip().encode("utf-8")  # far beyond 998 octets
    data = (b"From: buh@example.org\r\nTo: a@example.org\r\nSubject: long\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            b"\r\n" + line + b"\r\n")
    envelope = Envelope("long", "buh@example.org", ("a@example.org",), data)

    assert _transport(smtp_sink).send([envelope]) == {"long": None}
    assert smtp_sink.wait_for(1)[0].data == data


def test_connection_dropped_mid_batch_reconnects_once_and_carries_on(smtp_sink, make_message):
    smtp_sink.drop_next(1)

    results = _transport(smtp_sink).send(_envelopes(make_message, 3))

    assert results == {"out-0": None, "out-1": None, "out-2": None}
    assert len(smtp_sink.wait_for(3)) == 3


def test_second_drop_leaves_the_rest_transient(smtp_sink, make_message):
    smtp_sink.drop_next(2)

    results = _transport(smtp_sink).send(_envelopes(make_message, 3))

    assert set(results) == {"out-0", "out-1", "out-2"}
    assert all(isinstance(error, TransientDeliveryError) for error in results.values())
    assert smtp_sink.messages == []


def test_451_is_transient_and_the_rest_of_the_batch_goes(smtp_sink, make_message):
    smtp_sink.fail_next(1, code=451)

    results = _transport(smtp_sink).send(_envelopes(make_message, 2))

    assert isinstance(results["out-0"], TransientDeliveryError)
    assert "451" in str(results["out-0"])
    assert results["out-1"] is None
    assert len(smtp_sink.wait_for(1)) == 1


def test_554_on_data_is_permanent(smtp_sink, make_message):
    smtp_sink.fail_next(1, code=554)

    results = _transport(smtp_sink).send(_envelopes(make_message, 1))

    assert isinstance(results["out-0"], PermanentDeliveryError)
    assert "554" in str(results["out-0"])


def test_refused_recipient_is_permanent(smtp_sink, make_message):
    smtp_sink.reject_recipient("nobody@example.org")
    bad = _envelopes(make_message, 1, to="nobody@example.org")[0]
    good = Envelope("good", "buh@example.org", ("client@example.org",), make_message())

    results = _transport(smtp_sink).send([bad, good])

    assert isinstance(results["out-0"], PermanentDeliveryError)
    assert "550" in str(results["out-0"]) and "nobody@example.org" in str(results["out-0"])
    assert results["good"] is None


def test_partly_refused_recipients_still_deliver_to_the_others(smtp_sink, make_message):
    smtp_sink.reject_recipient("nobody@example.org")
    envelope = Envelope("mixed", "buh@example.org", ("nobody@example.org", "ok@example.org"),
                        make_message())

    assert _transport(smtp_sink).send([envelope]) == {"mixed": None}
    assert smtp_sink.wait_for(1)[0].rcpt_tos == ("ok@example.org",)


def test_server_down_is_transient_then_sent_when_up(smtp_sink, make_message):
    transport = _transport(smtp_sink)
    envelopes = _envelopes(make_message, 2)
    smtp_sink.down()

    down = transport.send(envelopes)
    smtp_sink.up()
    up = transport.send(envelopes)

    assert all(isinstance(error, TransientDeliveryError) for error in down.values())
    assert set(down) == {"out-0", "out-1"}
    assert up == {"out-0": None, "out-1": None}
    assert len(smtp_sink.wait_for(2)) == 2


def test_empty_batch_sends_nothing(smtp_sink):
    assert _transport(smtp_sink).send([]) == {}
    assert smtp_sink.messages == []


def test_full_loop_through_lmtp_into_dovecot(mail_user, make_message):
    with SmtpSink(relay=mail_user.dovecot) as sink:
        data = make_message(subject="Полный круг", to=f"{mail_user.name}@example.org")
        envelope = Envelope("loop", "buh@example.org", (f"{mail_user.name}@example.org",), data)

        assert _transport(sink).send([envelope]) == {"loop": None}
        sink.wait_for(1)

    client = mail_user.dovecot.connect(mail_user.name)
    try:
        client.select("INBOX")
        _typ, fetched = client.fetch("1", "(BODY.PEEK[])")
    finally:
        client.logout()
    delivered = email.message_from_bytes(fetched[0][1])
    original = email.message_from_bytes(data)
    assert delivered["Message-ID"] == original["Message-ID"]
    assert delivered.get_payload() == original.get_payload()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_the_servers_certificate(make_message, security):
    with SmtpSink(tls=security) as sink:
        transport = SmtpTransport(host=sink.host, port=sink.port, security=security,
                                  cafile=str(sink.cafile), timeout=5)
        envelope = _envelopes(make_message, 1)[0]

        assert transport.send([envelope]) == {"out-0": None}
        assert sink.wait_for(1)[0].data == envelope.data


def _our_sockets_to(port: int) -> int:
    """This process's open TCP sockets whose peer is ``port`` on loopback (Linux /proc)."""
    ours = {os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")}
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and \
                        f"socket:[{fields[9]}]" in ours:
                    count += 1
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("security", ["starttls", "ssl", "none"])
def test_each_batch_closes_its_connection(make_message, security):
    with SmtpSink(tls=security) as sink:
        transport = SmtpTransport(host=sink.host, port=sink.port, security=security,
                                  cafile=str(sink.cafile) if security != "none" else None,
                                  timeout=5)
        assert transport.send(_envelopes(make_message, 1)) == {"out-0": None}
        assert _our_sockets_to(sink.port) == 0
        sink.stall_after_quit(1.0)  # a TLS goodbye (close_notify) comes late

        assert transport.send(_envelopes(make_message, 1)) == {"out-0": None}

        assert _our_sockets_to(sink.port) == 0  # none left for the garbage collector to find


def test_untrusted_certificate_is_transient(make_message):
    with SmtpSink(tls="ssl") as sink:
        transport = SmtpTransport(host=sink.host, port=sink.port, security="ssl", timeout=5)

        results = transport.send(_envelopes(make_message, 1))

        assert isinstance(results["out-0"], TransientDeliveryError)
        assert "certificate" in str(results["out-0"]).lower()
        assert sink.messages == []
