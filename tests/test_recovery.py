"""Faults an operator meets, injected into a running daemon, and its recovery without a restart.

* the store's disk full (a small tmpfs, then enlarged): the letters wait in the Maildir, /healthz
  answers 503 naming the source and the cause, and once there is room again every letter is taken
  in, /healthz is 200 again and the administrators get one letter about the incident;
* the store locked by another connection holding its write lock: the same, when it is released;
* the «ДелоПро» export folder gone: /healthz names it, /metrics counts its failing, and packages
  are taken once the folder is back;
* the SMTP server stopped and started again: delivery is put off, reported, and resumes.
"""

from __future__ import annotations

import email
import os
import random
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from email.policy import default
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from support import imap_section, letter, scalar, wait_until

from buhdesk.config import load_config
from buhdesk.service.main import build_daemon
from buhdesk.service.runner import Daemon
from buhdesk.store.models import Message
from harness.loopback import SmtpSink, free_port

pytestmark = pytest.mark.integration

LETTERS = 5
FILES_OUTBOX = '[outbox]\nkind = "files"\npath = "outbox"\n'


def _mount_tmpfs(path: Path, size: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                   check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs under the test's folder (root only: mounting needs it)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        _mount_tmpfs(disk, "8m")
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot mount a tmpfs here: {e.stderr.decode(errors='replace').strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, *, leave: int = 0) -> Path:
    """Write a file until the disk is full, then free ``leave`` bytes; return it."""
    reserve, filler = disk / "reserve", disk / "filler"
    reserve.write_bytes(b"\0" * leave)
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    reserve.unlink()
    return filler


def config_text(tmp_path: Path, store: str, body: str, outbox: str | None = None) -> Path:
    port = free_port()
    outbox = outbox or FILES_OUTBOX
    text = f"""
[service]
name = "Бухгалтерия"
address = "buh@minfin.example"
domain = "minfin.example"
duty_accountant = "ivanova"
admins = ["admin@minfin.example"]
[store]
url = "{store}"
blobs = "{tmp_path / 'blobs'}"
{body}
{outbox}
[web]
metrics_port = {port}
max_stall = 1
alert_after = 0
"""
    path = tmp_path / "buhdesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def maildir_body(tmp_path: Path) -> str:
    return f'[[sources]]\nname = "mail"\nkind = "maildir"\npath = "{tmp_path / "maildir"}"\n' \
           "poll_interval = 0.2\n"


def drop_letters(maildir: Path, first: int = 0, count: int = LETTERS, attachment: int = 0) -> None:
    for n in range(first, first + count):
        data = letter(n, attachment=random.Random(n).randbytes(attachment) if attachment else b"")
        (maildir / "tmp" / f"{n}.letter").write_bytes(data)
        os.rename(maildir / "tmp" / f"{n}.letter", maildir / "new" / f"{n}.letter")


def get(daemon: Daemon, path: str) -> httpx.Response:
    port = daemon.health_settings.port
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10)


def health(daemon: Daemon) -> tuple[int, list[str]]:
    try:
        answer = get(daemon, "/healthz")
    except httpx.HTTPError:
        return 0, []
    return answer.status_code, answer.json().get("reasons", [])


def metric(daemon: Daemon, name: str, label: str) -> float:
    for line in get(daemon, "/metrics").text.splitlines():
        if line.startswith(f'{name}{{') and f'="{label}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} for {label} not exposed")


def incident_letters(outbox: Path) -> list[str]:
    """Subjects of the administrators' letters about failures, as written to the outbox."""
    subjects = []
    for path in sorted(outbox.glob("*.eml")):
        subject = str(email.message_from_bytes(path.read_bytes(), policy=default)["Subject"])
        if "сбой" in subject:
            subjects.append(subject)
    return subjects


def stored(daemon: Daemon) -> int:
    return scalar(daemon.rt.engine, select(func.count()).select_from(Message).where(
        Message.direction == "in"))


def test_disk_full_store_recovers_when_enlarged(
    tmp_path: Path, small_disk: Path, secret_env: str, running  # type: ignore[no-untyped-def]
) -> None:
    config = config_text(tmp_path, f"sqlite:///{small_disk}/buhdesk.db", maildir_body(tmp_path))
    daemon = running(build_daemon(load_config(config)))
    maildir = tmp_path / "maildir"
    wait_until(lambda: health(daemon)[0] == 200, 30, "/healthz served")
    # room for the daemon's small writes (its lease), not for the letters: the intake fails
    # after the source handed them out, and they must come again
    filler = fill(small_disk, leave=256 * 1024)
    drop_letters(maildir, attachment=300_000)

    wait_until(lambda: health(daemon)[0] == 503, 30, "/healthz reporting the stalled source")
    reasons = health(daemon)[1]
    assert any("'mail'" in r and "full" in r for r in reasons), reasons
    assert metric(daemon, "buhdesk_stage_failing", "mail") == 1
    assert metric(daemon, "buhdesk_stage_stalled_seconds", "mail") > 1
    assert len(list((maildir / "new").iterdir())) == LETTERS  # nothing taken, nothing lost

    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    filler.unlink()  # an operator frees space as well; the filler stays out of the way

    wait_until(lambda: not list((maildir / "new").iterdir()), 60, "the letters taken in")
    wait_until(lambda: health(daemon)[0] == 200, 30, "/healthz ok again")
    assert stored(daemon) == LETTERS
    assert metric(daemon, "buhdesk_stage_failing", "mail") == 0
    # the letters waited from their arrival until the disk had room: the lag says so
    assert metric(daemon, "buhdesk_source_lag_seconds", "mail") >= 1
    assert metric(daemon, "buhdesk_source_oldest_unprocessed_age_seconds", "mail") == 0
    wait_until(lambda: incident_letters(tmp_path / "outbox"), 30, "the incident letter")
    # one letter, however many retries (a small one fits where the letters did not)
    assert len([s for s in incident_letters(tmp_path / "outbox") if "«mail»" in s]) == 1
    assert "database or disk is full" in incident_reasons(daemon)


def test_imap_intake_failing_after_fetch_takes_the_letters_once_the_disk_has_room(
    tmp_path: Path, small_disk: Path, secret_env: str,
    running, mail_user, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    source = imap_section(mail_user).split("[web]")[0]  # this test's [web] comes below
    config = config_text(tmp_path, f"sqlite:///{small_disk}/buhdesk.db", source)
    daemon = running(build_daemon(load_config(config)))
    wait_until(lambda: health(daemon)[0] == 200, 30, "/healthz served")
    filler = fill(small_disk, leave=256 * 1024)
    mail_user.dovecot.append(mail_user.name, "INBOX", [
        letter(n, attachment=random.Random(n).randbytes(300_000)) for n in range(LETTERS)])

    wait_until(lambda: health(daemon)[0] == 503, 30, "/healthz reporting the stalled source")
    assert any("'minfin'" in r and "full" in r for r in health(daemon)[1]), health(daemon)[1]
    assert mail_user.dovecot.count(mail_user.name, "INBOX") == LETTERS

    filler.unlink()  # room again, on the same connection's source: no restart
    wait_until(lambda: mail_user.dovecot.count(mail_user.name, "INBOX") == 0, 60,
               "the letters taken in and moved")
    wait_until(lambda: health(daemon)[0] == 200, 30, "/healthz ok again")
    assert stored(daemon) == LETTERS
    assert mail_user.dovecot.count(mail_user.name, "Processed") == LETTERS


def incident_reasons(daemon: Daemon) -> str:
    """The reasons the incident letters gave (their audit events)."""
    with daemon.rt.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT detail FROM events WHERE action = 'incident-mailed'").fetchall()
    return " ".join(str(r[0]) for r in rows)


def test_locked_store_recovers_when_the_lock_is_released(
    tmp_path: Path, secret_env: str, running  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "buhdesk.db"
    # a writer waits half a second for the lock (the default is a minute)
    config = config_text(tmp_path, f"sqlite:///{db}?timeout=0.5", maildir_body(tmp_path))
    daemon = running(build_daemon(load_config(config)))
    maildir = tmp_path / "maildir"
    wait_until(lambda: health(daemon)[0] == 200, 30, "/healthz served")
    holder = sqlite3.connect(db, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        drop_letters(maildir)
        # first «база данных недоступна» (/healthz cannot read it either), then the source
        wait_until(lambda: any("'mail'" in r and "locked" in r for r in health(daemon)[1]), 30,
                   "/healthz naming the source that waits for the locked store")
        assert len(list((maildir / "new").iterdir())) == LETTERS
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_until(lambda: not list((maildir / "new").iterdir()), 60, "the letters taken in")
    wait_until(lambda: health(daemon)[0] == 200, 30, "/healthz ok again")
    assert stored(daemon) == LETTERS
    wait_until(lambda: incident_letters(tmp_path / "outbox"), 30, "the incident letter")
    # one letter, written while locked (between two attempts) or after the recovery
    assert len([s for s in incident_letters(tmp_path / "outbox") if "«mail»" in s]) == 1


def test_missing_delopro_folder_is_reported_and_taken_up_when_back(
    tmp_path: Path, secret_env: str, running  # type: ignore[no-untyped-def]
) -> None:
    export = tmp_path / "delopro"
    export.mkdir()  # the export folder is the EDMS's share: the daemon lays out only its inside
    body = (f'[[sources]]\nname = "edms"\nkind = "delopro"\npath = "{export}"\n'
            "poll_interval = 0.2\nstable_interval = 0\n")
    config = config_text(tmp_path, f"sqlite:///{tmp_path}/buhdesk.db", body)
    daemon = running(build_daemon(load_config(config)))
    wait_until(lambda: health(daemon)[0] in (200, 503), 30, "/healthz served")
    wait_until(lambda: (export / "incoming").is_dir(), 30, "the folder's layout made")
    shutil.rmtree(export)

    wait_until(lambda: health(daemon)[0] == 503, 30, "/healthz reporting the missing folder")
    assert any("'edms'" in r and "не найдена" in r for r in health(daemon)[1]), health(daemon)[1]
    assert metric(daemon, "buhdesk_stage_failing", "edms") == 1
    assert metric(daemon, "buhdesk_source_poll_age_seconds", "edms") >= 0
    assert not export.exists()  # never made in place of the share

    export.mkdir()  # the share is mounted again
    wait_until(lambda: health(daemon)[0] == 200, 60, "/healthz ok again")
    assert metric(daemon, "buhdesk_stage_failing", "edms") == 0
    wait_until(lambda: incident_letters(tmp_path / "outbox"), 30, "the incident letter")
    assert len([s for s in incident_letters(tmp_path / "outbox") if "«edms»" in s]) == 1


def test_smtp_server_stopped_and_started_again(
    tmp_path: Path, secret_env: str, running, smtp_sink: SmtpSink  # type: ignore[no-untyped-def]
) -> None:
    outbox = (f'[outbox]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {smtp_sink.port}\n'
              'security = "none"\nretry_base = 0.3\nmax_attempts = 100\nlease = 2\n')
    config = config_text(tmp_path, f"sqlite:///{tmp_path}/buhdesk.db", maildir_body(tmp_path),
                         outbox)
    smtp_sink.down()
    daemon = running(build_daemon(load_config(config)))
    drop_letters(tmp_path / "maildir")

    wait_until(lambda: health(daemon)[0] == 503, 60, "/healthz reporting the stalled delivery")
    assert any("'deliver'" in r for r in health(daemon)[1]), health(daemon)[1]
    assert smtp_sink.messages == []

    smtp_sink.up()
    pending = select(func.count()).select_from(Message).where(
        Message.direction == "out", Message.status != "sent")
    wait_until(lambda: scalar(daemon.rt.engine, pending) == 0, 60, "every letter sent")
    wait_until(lambda: health(daemon)[0] == 200, 30, "/healthz ok again")
    subjects = [str(email.message_from_bytes(m.data, policy=default)["Subject"])
                for m in smtp_sink.messages]
    assert len([s for s in subjects if "сбой «worker.deliver»" in s]) == 1, subjects
