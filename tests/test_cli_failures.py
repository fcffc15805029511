"""Faults an operator meets, each from a real `buhdesk` process: the command ends with one Russian
paragraph naming the cause and what to do and a documented exit status, never a traceback;
``--debug`` shows the traceback. Nothing is lost: the letter stays where it was."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness.loopback import SmtpSink, free_port
from sqlalchemy.exc import OperationalError
from support import imap_section, letter, read_rows

from buhdesk.cli.failures import Exit, describe
from buhdesk.config import MISSING_CREDENTIAL, package_data_dir
from buhdesk.intake.packages import StoreUnavailable
from buhdesk_connectors.delopro.errors import DeloproUnavailable


def buhdesk(config: Path, *argv: str, env: dict[str, str] | None = None,
            debug: bool = False) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "buhdesk.cli", "--config", str(config)]
    args += ["--debug"] if debug else []
    return subprocess.run([*args, *argv], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})}, check=False)


def assert_explained(config: Path, argv: tuple[str, ...], status: Exit, words: tuple[str, ...],
                     env: dict[str, str] | None = None) -> None:
    plain = buhdesk(config, *argv, env=env)
    assert plain.returncode == status, plain.stderr
    assert "Traceback" not in plain.stderr, plain.stderr
    last = plain.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in last, last
    assert any("а" <= ch <= "я" for ch in last.lower())
    debug = buhdesk(config, *argv, env=env, debug=True)
    assert debug.returncode == status
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == last


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    return box


MAILDIR = '[[sources]]\nname = "minfin"\nkind = "maildir"\npath = "{}"\n'


def test_missing_config_file(tmp_path: Path, secret_env: str) -> None:
    assert_explained(tmp_path / "nowhere.toml", ("run", "--once"), Exit.CONFIG,
                     ("nowhere.toml", "файл не найден"))
    after = buhdesk(tmp_path / "nowhere.toml", "run", "--once", "--debug")  # after the command
    assert after.returncode == Exit.CONFIG and "Traceback" in after.stderr


def test_missing_secret_is_named(tmp_path: Path, make_config: Callable[..., Path],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUHDESK_SECRET", raising=False)
    config = make_config(tmp_path)
    assert_explained(config, ("run", "--once"), Exit.CONFIG, ("BUHDESK_SECRET", "не задан"))


def test_unset_imap_password_is_named(tmp_path: Path, secret_env: str,
                                      make_config: Callable[..., Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)

    class Nowhere:
        host, port, name = "127.0.0.1", free_port(), "buh"

    config = make_config(tmp_path, imap_section(Nowhere))
    assert_explained(config, ("run", "--once"), Exit.CONFIG,
                     ("пароль почтового ящика «minfin» не задан", "TEST_IMAP_PASSWORD"))


def test_unset_smtp_credential_is_named(tmp_path: Path, secret_env: str,
                                        make_config: Callable[..., Path],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Under systemd, the SMTP password's credential file is missing: the unit's SetCredential=
    fallback hands over the marker instead, and check and run name the credential."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "BUHDESK_SMTP_PASSWORD").write_text(MISSING_CREDENTIAL, encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    monkeypatch.delenv("BUHDESK_SMTP_PASSWORD", raising=False)
    outbox = (f'[outbox]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {free_port()}\n'
              'security = "none"\nuser = "buh"\npassword_env = "BUHDESK_SMTP_PASSWORD"\n')
    config = make_config(tmp_path, outbox=outbox)
    assert_explained(config, ("run", "--once"), Exit.CONFIG,
                     ("SMTP-сервера", "BUHDESK_SMTP_PASSWORD", "нет на месте",
                      "LoadCredential=BUHDESK_SMTP_PASSWORD"))
    check = buhdesk(config, "check")
    assert check.returncode == 1 and "BUHDESK_SMTP_PASSWORD" in check.stdout


def test_wrong_imap_password(tmp_path: Path, secret_env: str, make_config: Callable[..., Path],
                             mail_user: object) -> None:
    config = make_config(tmp_path, imap_section(mail_user))
    assert_explained(config, ("run", "--once"), Exit.MAIL_SERVER,
                     ("«minfin»", "отклонил вход", "пароль"),
                     env={"TEST_IMAP_PASSWORD": "wrong-password"})


def test_unreachable_imap_server(tmp_path: Path, secret_env: str,
                                 make_config: Callable[..., Path]) -> None:
    class Closed:
        host, port, name = "127.0.0.1", free_port(), "buh"

    config = make_config(tmp_path, imap_section(Closed))
    assert_explained(config, ("run", "--once"), Exit.MAIL_SERVER,
                     ("«minfin»", "недоступен", "соединение отклонено"),
                     env={"TEST_IMAP_PASSWORD": "any"})


def test_broken_rules_stop_run_with_the_check_message(
        tmp_path: Path, secret_env: str, make_config: Callable[..., Path], maildir: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(package_data_dir("rules"), rules)
    classify = rules / "classify.toml"
    text = classify.read_text(encoding="utf-8-sig")
    classify.write_text(text.replace('name = "зарплата-основное"\n',
                                     'name = "зарплата-основное"\nwieght = 2\n', 1),
                        encoding="utf-8")
    config = make_config(tmp_path, f'[paths]\nrules = "{rules}"\n' + MAILDIR.format(maildir))
    (maildir / "new" / "1.eml").write_bytes(letter(1))
    check = buhdesk(config, "check")
    finding = next(line for line in check.stdout.splitlines() if "wieght" in line)
    assert_explained(config, ("run", "--once"), Exit.RULES,
                     ("Правила не загружены", "classify.toml", "«wieght»", "buhdesk check"))
    assert finding.removeprefix("ОШИБКА: ").split(": ", 1)[1] in buhdesk(config, "run").stderr
    assert (maildir / "new" / "1.eml").exists()


def test_read_only_database_keeps_the_letter(tmp_path: Path, secret_env: str,
                                             make_config: Callable[..., Path],
                                             maildir: Path) -> None:
    writable = make_config(tmp_path, MAILDIR.format(maildir))
    assert buhdesk(writable, "run", "--once").returncode == 0  # the store exists, migrated
    # The store opened read-only: SQLite reports what it reports for a file without write access
    # (tests run as root, for whom file modes do not forbid writing).
    store = f"sqlite:///file:{tmp_path}/buhdesk.db?mode=ro&uri=true"
    config = make_config(tmp_path, MAILDIR.format(maildir), store=store)
    (maildir / "new" / "1.eml").write_bytes(letter(1))
    assert_explained(config, ("run", "--once"), Exit.DATABASE,
                     ("только для чтения", "право записи"))
    assert (maildir / "new" / "1.eml").exists()


def test_unreachable_smtp_server_leaves_letters_queued(
        tmp_path: Path, secret_env: str, make_config: Callable[..., Path], maildir: Path) -> None:
    outbox = (f'[outbox]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {free_port()}\n'
              'security = "none"\nretry_base = 600\n')
    config = make_config(tmp_path, MAILDIR.format(maildir), outbox=outbox)
    (maildir / "new" / "1.eml").write_bytes(letter(1))
    plain = buhdesk(config, "run", "--once")
    assert plain.returncode == Exit.MAIL_SERVER, plain.stderr
    assert "Traceback" not in plain.stderr
    last = plain.stderr.strip().splitlines()[-1]
    found = re.search(r"исходящих не отправлено: (\d+)", last)
    assert found and "остались в очереди" in last, last
    queued = read_rows(f"sqlite:///{tmp_path}/buhdesk.db", "SELECT count(*) FROM messages WHERE "
                       "direction = 'out' AND status = 'pending' AND attempts > 0")
    assert int(found.group(1)) == queued[0][0] >= 1  # the acknowledgment at least
    assert not list((maildir / "new").iterdir())  # the letter itself was taken in


def test_unreachable_postgresql(tmp_path: Path, secret_env: str,
                                make_config: Callable[..., Path]) -> None:
    config = make_config(tmp_path, store=f"postgresql://buhdesk@127.0.0.1:{free_port()}/buhdesk")
    assert_explained(config, ("run", "--once"), Exit.DATABASE,
                     ("PostgreSQL недоступна", "[store] url"))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs under the test's folder (needs the right to mount: root on Linux)."""
    disk = tmp_path / "small"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(disk)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_full_disk_keeps_the_letter(tmp_path: Path, secret_env: str,
                                    make_config: Callable[..., Path], maildir: Path,
                                    small_disk: Path) -> None:
    blobs = f'blobs = "{small_disk}/blobs"\n'  # lands in [store], after its url
    config = make_config(tmp_path, blobs + MAILDIR.format(maildir),
                         store=f"sqlite:///{small_disk}/buhdesk.db")
    assert buhdesk(config, "run", "--once").returncode == 0  # the store is made while there is room
    with open(small_disk / "filler", "wb", buffering=0) as filler:  # then the disk fills up
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass
    (maildir / "new" / "1.eml").write_bytes(letter(1, attachment=b"%PDF-1 " * 2000))
    assert_explained(config, ("run", "--once"), Exit.DATABASE,
                     ("нет места", "Освободите место"))
    assert (maildir / "new" / "1.eml").exists()


def test_every_exit_status_is_documented() -> None:
    guide = (Path(__file__).resolve().parents[1] / "docs" / "admin-guide.ru.md").read_text(
        encoding="utf-8")
    table = guide.split("### 13.1.")[1].split("\n\n")[2]
    documented = {int(row.split("|")[1]) for row in table.splitlines()[2:]}
    assert documented == {int(status) for status in Exit}


def test_wrong_smtp_password_is_named(tmp_path: Path, secret_env: str,
                                      make_config: Callable[..., Path], maildir: Path) -> None:
    with SmtpSink(users={"buh": "right-password"}) as sink:
        outbox = (f'[outbox]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {sink.port}\n'
                  'security = "none"\nuser = "buh"\npassword_env = "TEST_SMTP_PASSWORD"\n'
                  'retry_base = 600\n')
        config = make_config(tmp_path, MAILDIR.format(maildir), outbox=outbox)
        (maildir / "new" / "1.eml").write_bytes(letter(1))
        assert_explained(config, ("run", "--once"), Exit.MAIL_SERVER,
                         ("SMTP-сервер отклонил вход", "пароль", "остались в очереди"),
                         env={"TEST_SMTP_PASSWORD": "wrong-password"})
        assert sink.messages == []


def _raised(make: Callable[[], BaseException], cause: BaseException | None = None) -> BaseException:
    try:
        try:
            if cause is not None:
                raise cause
        finally:
            raise make()
    except BaseException as e:  # noqa: BLE001 - the chain as Python builds it
        return e


@pytest.mark.parametrize(("make", "cause", "status", "words"), [
    (lambda: DeloproUnavailable("Не удалось прочитать /srv/delopro/incoming: отказано в доступе"),
     None, Exit.FILES, ("«ДелоПро» недоступна", "/srv/delopro/incoming")),
    (lambda: StoreUnavailable("store refused the write"),
     sqlite3.OperationalError("database is locked"), Exit.DATABASE, ("занята",)),
    (lambda: PermissionError(13, "Permission denied", "/var/lib/buhdesk/blobs"),
     None, Exit.FILES, ("нет доступа", "/var/lib/buhdesk/blobs")),
    (lambda: ValueError("something unforeseen\nsecond line"), None, Exit.INTERNAL,
     ("Внутренняя ошибка", "--debug")),
])
def test_causes_down_the_chain(make: Callable[[], BaseException], cause: BaseException | None,
                               status: Exit, words: tuple[str, ...]) -> None:
    if isinstance(cause, sqlite3.Error):  # what SQLAlchemy wraps the driver's error in
        driver = cause
        cause = _raised(lambda: OperationalError("BEGIN", {}, driver), None)
    failure = describe(_raised(make, cause))
    assert failure.status == status
    assert "\n" not in failure.text and all(w in failure.text for w in words), failure.text
