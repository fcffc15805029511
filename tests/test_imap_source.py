"""ImapSource against a real Dovecot on loopback: fetch, ack, IDLE, crashes and bad logins."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from buhdesk.interfaces import SourceError
from buhdesk_connectors.imap import ImapSource, parse_internaldate

pytestmark = pytest.mark.integration


@pytest.fixture
def open_source() -> Iterator[Callable[..., ImapSource]]:
    """Make ImapSources for a MailUser and close them after the test."""
    made: list[ImapSource] = []

    def make(user, **options) -> ImapSource:
        settings = {"name": "mailbox", "host": user.host, "port": user.port, "user": user.name,
                    "password": user.password, "security": "none", "reconnect_wait": 0.05,
                    "reconnect_wait_max": 0.5, "reconnect_tries": 3}
        settings.update(options)
        source = ImapSource(**settings)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def _subjects(items) -> list[str]:
    return [next(line for line in item.data.split(b"\r\n") if line.startswith(b"Subject:"))
            .decode() for item in items]


def test_fetch_returns_raw_messages_oldest_first(mail_user, make_message, open_source):
    sent = [make_message(subject=f"n{i}") for i in range(5)]
    mail_user.dovecot.append(mail_user.name, "INBOX", sent)
    source = open_source(mail_user)

    items = source.fetch(10)

    assert [item.data for item in items] == sent
    assert _subjects(items) == [f"Subject: n{i}" for i in range(5)]
    assert all(item.source == "mailbox" for item in items)
    assert all(item.received_at.tzinfo is not None for item in items)


def test_keys_carry_uidvalidity_and_uid(mail_user, make_message, open_source):
    mail_user.dovecot.append(mail_user.name, "INBOX", [make_message(), make_message()])
    items = open_source(mail_user).fetch(10)

    uidvalidity = items[0].meta["uidvalidity"]
    assert uidvalidity.isdigit()
    assert [item.key for item in items] == [f"{uidvalidity}:{item.meta['uid']}" for item in items]
    assert len({item.key for item in items}) == 2
    assert items[0].meta["folder"] == "INBOX"


def test_limit_and_batches_page_through_the_folder(mail_user, make_message, open_source):
    mail_user.dovecot.fill_fast(mail_user.name, [make_message(subject=f"m{i}") for i in range(25)])
    source = open_source(mail_user, batch=4)

    first, second, rest = source.fetch(10), source.fetch(10), source.fetch(10)

    assert (len(first), len(second), len(rest)) == (10, 10, 5)
    assert len({i.key for i in first + second + rest}) == 25
    assert source.fetch(10) == []


def test_ack_moves_to_processed_and_empties_inbox(mail_user, make_message, open_source):
    dovecot = mail_user.dovecot
    dovecot.append(mail_user.name, "INBOX", [make_message(subject=f"a{i}") for i in range(3)])
    source = open_source(mail_user)

    items = source.fetch(10)
    source.ack(items)

    assert dovecot.count(mail_user.name, "INBOX") == 0
    assert dovecot.count(mail_user.name, "Processed") == 3
    source.close()
    assert source.fetch(10) == []


def test_ack_into_cyrillic_folder(mail_user, make_message, open_source):
    mail_user.dovecot.append(mail_user.name, "INBOX", [make_message()])
    source = open_source(mail_user, processed_folder="Обработанные")

    source.ack(source.fetch(10))

    client = mail_user.dovecot.connect(mail_user.name)
    try:
        typ, data = client.status('"&BB4EMQRABDAEMQQ+BEIEMAQ9BD0ESwQ1-"', "(MESSAGES)")
    finally:
        client.logout()
    assert typ == "OK" and b"MESSAGES 1" in data[0]


def test_unacked_items_not_repeated_in_session_but_after_reconnect(
    mail_user, make_message, open_source
):
    mail_user.dovecot.append(mail_user.name, "INBOX", [make_message(), make_message()])
    source = open_source(mail_user)

    first = source.fetch(10)
    assert source.fetch(10) == []
    source.ack(first[:1])
    source.close()
    again = source.fetch(10)

    assert [item.key for item in again] == [first[1].key]


def _arrived(source: ImapSource) -> list:
    """The next fetch that brings anything: an open session learns of mail another session
    appended at the end of a command, so the first search after it may still miss it."""
    for _ in range(3):
        items = source.fetch(10)
        if items:
            return items
    return []


def test_new_mail_is_fetched_once_while_earlier_mail_waits_unacknowledged(
    mail_user, make_message, open_source
):
    """Mail that arrives while earlier mail waits unacknowledged still comes, once; nothing
    handed out comes twice on one connection, and after a reconnect what was not acknowledged
    comes again."""
    dovecot = mail_user.dovecot
    dovecot.append(mail_user.name, "INBOX", [make_message(subject=f"old{i}") for i in range(3)])
    source = open_source(mail_user)

    old = source.fetch(10)
    assert source.fetch(10) == []
    dovecot.append(mail_user.name, "INBOX", [make_message(subject=f"new{i}") for i in range(2)])
    new = _arrived(source)
    assert source.fetch(10) == []
    source.ack(new)
    dovecot.append(mail_user.name, "INBOX", [make_message(subject="newest")])
    newest = _arrived(source)
    source.close()
    again = source.fetch(10)

    assert _subjects(old) == ["Subject: old0", "Subject: old1", "Subject: old2"]
    assert _subjects(new) == ["Subject: new0", "Subject: new1"]
    assert _subjects(newest) == ["Subject: newest"]
    assert [item.key for item in again] == [item.key for item in old + newest]


def test_ack_ignores_items_from_another_uidvalidity(mail_user, make_message, open_source):
    mail_user.dovecot.append(mail_user.name, "INBOX", [make_message()])
    source = open_source(mail_user)
    item = source.fetch(10)[0]
    stale = type(item)(source=item.source, key="1:1", data=item.data,
                       received_at=item.received_at,
                       meta={**item.meta, "uidvalidity": "1", "uid": item.meta["uid"]})

    source.ack([stale])

    assert mail_user.dovecot.count(mail_user.name, "INBOX") == 1


def test_idle_wakes_when_mail_arrives(mail_user, make_message, open_source):
    source = open_source(mail_user)
    assert source.fetch(10) == []
    timer = threading.Timer(
        0.3, mail_user.dovecot.append, (mail_user.name, "INBOX", [make_message(subject="late")]))
    timer.start()
    try:
        source.wait(20.0)
        items = source.fetch(10)
    finally:
        timer.cancel()
        timer.join()

    # wait() returning is only half of it: the message must be there for the next fetch.
    assert _subjects(items) == ["Subject: late"]


def test_wait_without_mail_keeps_the_session(mail_user, make_message, open_source):
    mail_user.dovecot.append(mail_user.name, "INBOX", [make_message()])
    source = open_source(mail_user)
    assert len(source.fetch(10)) == 1

    source.wait(0.3)

    # Same session after the IDLE timed out: the un-acked message is not offered twice.
    assert source.fetch(10) == []


def test_wrong_password_raises_source_error_without_retrying(mail_user, open_source):
    source = open_source(mail_user, password="wrong", reconnect_tries=50, reconnect_wait=10)

    with pytest.raises(SourceError, match="refused") as caught:
        source.fetch(10)

    assert "wrong" not in str(caught.value)


def test_server_gone_raises_source_error(fresh_dovecot, make_message, open_source):
    fresh_dovecot.dovecot.append(fresh_dovecot.name, "INBOX", [make_message()])
    source = open_source(fresh_dovecot)
    assert len(source.fetch(10)) == 1

    fresh_dovecot.dovecot.kill()

    with pytest.raises(SourceError, match="after 3 attempts"):
        source.fetch(10)


def test_recovers_when_server_restarts_within_backoff(fresh_dovecot, make_message, open_source):
    dovecot = fresh_dovecot.dovecot
    dovecot.append(fresh_dovecot.name, "INBOX", [make_message(subject="before")])
    source = open_source(fresh_dovecot, reconnect_tries=8, reconnect_wait=0.2,
                         reconnect_wait_max=1.0)
    before = source.fetch(10)

    dovecot.kill()
    restart = threading.Timer(0.5, dovecot.start)
    restart.start()
    try:
        after = source.fetch(10)
    finally:
        restart.join()

    # A new session: the un-acknowledged message is offered again under the same key.
    assert [i.key for i in after] == [i.key for i in before]
    source.ack(after)
    assert dovecot.count(fresh_dovecot.name, "INBOX") == 0


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_with_the_servers_certificate(tls_dovecot, make_message, open_source, security):
    dovecot = tls_dovecot.dovecot
    dovecot.append(tls_dovecot.name, "INBOX", [make_message(subject=security)])
    port = dovecot.imaps_port if security == "ssl" else dovecot.imap_port
    source = open_source(tls_dovecot, port=port, security=security, cafile=str(dovecot.cafile))

    items = source.fetch(10)
    source.ack(items)

    assert _subjects(items) == [f"Subject: {security}"]


def test_untrusted_certificate_is_refused(tls_dovecot, open_source):
    source = open_source(tls_dovecot, port=tls_dovecot.dovecot.imaps_port, security="ssl")

    with pytest.raises(SourceError, match="certificate"):
        source.fetch(10)


def test_parse_internaldate_gives_aware_utc():
    parsed = parse_internaldate(b" 7-Mar-2025 10:15:00 +0300")
    assert (parsed.hour, parsed.minute, parsed.utcoffset().total_seconds()) == (7, 15, 0)
