"""`buhdesk check --connect` against real servers: it logs in to the mailbox (Dovecot) and the SMTP
server (the sink, with AUTH), tries the folders' rights as the daemon needs them, and a wrong
password is a named failure with status 1; a «ДелоПро» folder is tried by reading, writing and
moving within it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import MailUser
from harness.loopback import SmtpSink, free_port
from support import imap_section

from buhdesk.cli.check import run_checks
from buhdesk.cli.connect import PROBE_NAME

SMTP_USER, SMTP_PASSWORD = "buh-relay", "relay-password"


@pytest.fixture
def auth_sink() -> Iterator[SmtpSink]:
    with SmtpSink(users={SMTP_USER: SMTP_PASSWORD}) as sink:
        yield sink


def smtp_outbox(port: int) -> str:
    return (f'[outbox]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            f'user = "{SMTP_USER}"\npassword_env = "TEST_SMTP_PASSWORD"\n')


def check_connect(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = run_checks(config, out=__import__("sys").stdout, connect=True)
    return status, capsys.readouterr().out


@pytest.fixture
def mail_config(tmp_path: Path, secret_env: str, make_config: Callable[..., Path],
                mail_user: MailUser, auth_sink: SmtpSink,
                monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    return make_config(tmp_path, imap_section(mail_user), outbox=smtp_outbox(auth_sink.port))


def test_right_passwords_pass(mail_config: Path, mail_user: MailUser,
                              capsys: pytest.CaptureFixture[str]) -> None:
    status, out = check_connect(mail_config, capsys)
    assert status == 0, out
    assert f"почтовый ящик «minfin» ({mail_user.name}@" in out and "вход выполнен" in out
    assert "папка «INBOX» — чтение и запись" in out
    assert "папка «Processed» создана" in out  # the daemon would create it on its first move
    assert f"вход как {SMTP_USER} выполнен" in out
    assert "ОШИБКА" not in out
    assert mail_user.dovecot.count(mail_user.name, "Processed") == 0  # a folder now, empty


def test_wrong_imap_password_fails_by_name(mail_config: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "wrong-password")
    status, out = check_connect(mail_config, capsys)
    assert status == 1
    line = next(li for li in out.splitlines() if "«minfin»" in li)
    assert line.startswith("ОШИБКА:") and "отклонил вход" in line
    assert "TEST_IMAP_PASSWORD" in line and "wrong-password" not in out
    assert f"вход как {SMTP_USER} выполнен" in out  # the other server is still tried


def test_wrong_smtp_password_fails_by_name(mail_config: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-password")
    status, out = check_connect(mail_config, capsys)
    assert status == 1
    line = next(li for li in out.splitlines() if "SMTP-сервер" in li)
    assert line.startswith("ОШИБКА:") and "отклонил вход" in line and "TEST_SMTP_PASSWORD" in line


def test_unreachable_servers_are_named(tmp_path: Path, secret_env: str,
                                       make_config: Callable[..., Path],
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    class Closed:
        host, port, name = "127.0.0.1", free_port(), "buh"

    monkeypatch.setenv("TEST_IMAP_PASSWORD", "any")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "any")
    config = make_config(tmp_path, imap_section(Closed), outbox=smtp_outbox(free_port()))
    status, out = check_connect(config, capsys)
    assert status == 1
    errors = [li for li in out.splitlines() if li.startswith("ОШИБКА")]
    assert len(errors) == 2 and all("недоступен — соединение отклонено" in e for e in errors)


def test_delopro_folder_rights(tmp_path: Path, secret_env: str, make_config: Callable[..., Path],
                               capsys: pytest.CaptureFixture[str]) -> None:
    share = tmp_path / "delopro"
    (share / "incoming").mkdir(parents=True)
    config = make_config(tmp_path, f'[[sources]]\nname = "edo"\nkind = "delopro"\n'
                                   f'path = "{share}"\n')
    status, out = check_connect(config, capsys)
    assert status == 0, out
    assert "incoming/ → work/ — чтение, запись и перенос" in out
    assert "work/ → processed/" in out and "outgoing/.tmp/ → outgoing/" in out
    assert not list(share.rglob(PROBE_NAME))  # the probe leaves nothing behind
    # A folder the service cannot enter (a file where the folder should be) is a named failure.
    for probe_dir in ("work",):
        os.rename(share / probe_dir, share / "work-saved")
        (share / probe_dir).write_text("not a folder", encoding="utf-8")
    status, out = check_connect(config, capsys)
    assert status == 1
    failed = [li for li in out.splitlines() if li.startswith("ОШИБКА")]
    assert failed and all("work/" in li for li in failed)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_mailbox_with_and_without_its_certificate(
        tmp_path: Path, secret_env: str, make_config: Callable[..., Path],
        tls_dovecot: MailUser, security: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    dovecot = tls_dovecot.dovecot
    port = dovecot.imaps_port if security == "ssl" else dovecot.imap_port
    monkeypatch.setenv("TEST_IMAP_PASSWORD", tls_dovecot.password)

    def config(cafile: str) -> Path:
        return make_config(tmp_path, f"""
[[sources]]
name = "minfin"
kind = "imap"
host = "{tls_dovecot.host}"
port = {port}
security = "{security}"
user = "{tls_dovecot.name}"
password_env = "TEST_IMAP_PASSWORD"
{cafile}
""")

    status, out = check_connect(config(f'cafile = "{dovecot.cafile}"'), capsys)
    assert status == 0 and "вход выполнен" in out, out
    status, out = check_connect(config(""), capsys)  # the system's CAs do not know the server
    assert status == 1
    assert "не удалось установить TLS" in out, out
