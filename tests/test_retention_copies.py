"""Retention covers every copy the system keeps: a purged request's letters leave the mailbox's
processed folder (real Dovecot: deleted and expunged), its «ДелоПро» package leaves processed/,
its attachment files leave the store, each counted in the act; what is not due stays. A mailbox
that cannot be reached stops the purge with the request untouched, so nothing is half-destroyed."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import MailUser
from harness.loopback import free_port
from sqlalchemy import update
from sqlmodel import Session, col, select
from support import DAEMON_NOW, daemon_clock, imap_section, letter, ops_cli

from buhdesk.config import load_config
from buhdesk.schedule.copies import copy_keepers
from buhdesk.schedule.retention import PurgeError, purge
from buhdesk.service.main import build_daemon
from buhdesk.store.blobs import BlobStore
from buhdesk.store.engine import open_store
from buhdesk.store.models import Message, Raw, Request

PACKAGE = Path(__file__).parent / "corpus" / "delopro_samples" / "contract" / "pkg"
KEEP = timedelta(days=1095)
LATER = DAEMON_NOW + timedelta(days=1200)  # the purge runs a little over three years later


def delopro_section(root: Path) -> str:
    return f'[[sources]]\nname = "edms"\nkind = "delopro"\npath = "{root}"\nstable_interval = 0\n'


@pytest.fixture
def site(tmp_path: Path, secret_env: str, make_config: Callable[..., Path], mail_user: MailUser,
         monkeypatch: pytest.MonkeyPatch) -> Path:
    """A mailbox with two letters with a PDF each and a «ДелоПро» folder with one package, taken
    in by the daemon; then the request of letter 1 and the package's are closed."""
    monkeypatch.setenv("TEST_IMAP_PASSWORD", mail_user.password)
    edms = tmp_path / "edms"
    (edms / "incoming").mkdir(parents=True)
    shutil.copytree(PACKAGE, edms / "incoming" / "PKG1")
    mail_user.dovecot.append(mail_user.name, "INBOX",
                             [letter(1, attachment=b"%PDF-1 one"), letter(2, attachment=b"%PDF-1 two")])
    config = make_config(tmp_path, imap_section(mail_user) + delopro_section(edms))
    daemon = build_daemon(load_config(config), clock=daemon_clock())
    try:
        daemon.drain()
    finally:
        for source in daemon.sources:
            source.close()
        daemon.rt.engine.dispose()
    assert mail_user.dovecot.count(mail_user.name, "Processed") == 2
    assert len(list((edms / "processed").glob("*/*/PKG1"))) == 1
    engine = open_store(load_config(config).store.url)
    with Session(engine) as s:
        s.execute(update(Request).where(
            (col(Request.subject) == "Справка о доходах 1") | (col(Request.channel) == "delopro")
        ).values(state="closed", closed_at=DAEMON_NOW + timedelta(days=1)))
        s.commit()
    engine.dispose()
    return config


def test_purge_destroys_the_mailbox_copy_the_package_and_the_files(
        site: Path, mail_user: MailUser, tmp_path: Path) -> None:
    cfg = load_config(site)
    engine = open_store(cfg.store.url)
    blobs = BlobStore(cfg.store.blobs)
    files_before = sum(1 for p in Path(cfg.store.blobs).rglob("*") if p.is_file())
    act = purge(engine, blobs, KEEP, LATER, tmp_path / "acts", copies=copy_keepers(cfg))
    engine.dispose()
    mailbox = "письма в папке «Processed» ящика «minfin»"
    packages = f"пакеты «ДелоПро» в {tmp_path / 'edms' / 'processed'}"
    by_number = {i.number: dict(i.copies) for i in act.items if i.request_id is not None}
    assert sorted(c[mailbox] for c in by_number.values()) == [0, 1]
    assert sorted(c[packages] for c in by_number.values()) == [0, 1]
    # the letter of the open request stays, the purged one is gone (expunged, not just flagged)
    assert mail_user.dovecot.count(mail_user.name, "Processed") == 1
    assert not list((tmp_path / "edms" / "processed").glob("*/*/PKG1"))
    assert act.files_deleted >= 1
    files_after = sum(1 for p in Path(cfg.store.blobs).rglob("*") if p.is_file())
    assert files_before - files_after == act.files_deleted
    assert act.csv_path is not None
    rows = list(csv.reader(act.csv_path.read_text(encoding="utf-8-sig").splitlines(),
                           delimiter=";"))
    what = " ".join(r[2] for r in rows[1:])
    assert f"{mailbox}: 1" in what and f"{packages}: 1" in what and "файлы вложений: " in what


def test_unreachable_mailbox_stops_the_purge_untouched(site: Path, tmp_path: Path,
                                                       mail_user: MailUser) -> None:
    text = site.read_text(encoding="utf-8").replace(f"port = {mail_user.port}",
                                                    f"port = {free_port()}")
    site.write_text(text, encoding="utf-8")
    cfg = load_config(site)
    engine = open_store(cfg.store.url)
    with pytest.raises(PurgeError, match="почтовый ящик «minfin».*недоступен.*повторите"):
        purge(engine, BlobStore(cfg.store.blobs), KEEP, LATER, tmp_path / "acts",
              copies=copy_keepers(cfg))
    with Session(engine) as s:
        closed_mail = s.execute(select(Request.id).where(
            col(Request.subject) == "Справка о доходах 1")).scalar_one()
        raws = s.execute(select(Raw).join(Message, col(Message.id) == col(Raw.message_pk)).where(
            col(Message.request_id) == closed_mail)).all()
    engine.dispose()
    assert raws  # the letter's data is still in the store: the next purge finds it again
    assert mail_user.dovecot.count(mail_user.name, "Processed") == 2


def test_maildir_processed_copy_goes_too(tmp_path: Path, secret_env: str,
                                         make_config: Callable[..., Path]) -> None:
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    (box / "new" / "1.eml").write_bytes(letter(1))
    (box / "new" / "2.eml").write_bytes(letter(2))
    config = make_config(tmp_path, f'[[sources]]\nname = "box"\nkind = "maildir"\npath = "{box}"\n')
    daemon = build_daemon(load_config(config), clock=daemon_clock())
    try:
        daemon.drain()
    finally:
        for source in daemon.sources:
            source.close()
        daemon.rt.engine.dispose()
    processed = box / ".Processed" / "cur"
    assert len(list(processed.iterdir())) == 2
    cfg = load_config(config)
    engine = open_store(cfg.store.url)
    with Session(engine) as s:
        s.execute(update(Request).where(col(Request.subject) == "Справка о доходах 1")
                  .values(state="closed", closed_at=DAEMON_NOW + timedelta(days=1)))
        s.commit()
    act = purge(engine, BlobStore(cfg.store.blobs), KEEP, LATER, tmp_path / "acts",
                copies=copy_keepers(cfg))
    engine.dispose()
    assert [dict(i.copies) for i in act.items if i.request_id] == [
        {f"письма в папке {processed}": 1}]
    left = [p.read_bytes() for p in processed.iterdir()]
    assert len(left) == 1 and b"employee2@culture.example" in left[0]


def test_purge_command_counts_the_copies(site: Path, mail_user: MailUser, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`buhdesk purge` wires the copies of the configuration in; the JSON lists them per item.
    (The requests were closed a day after DAEMON_NOW, a date the wall clock has passed.)"""
    assert ops_cli(site, "purge", "--older-than-days", "1", "--act-dir", str(tmp_path / "a"),
                   "--json") == 0
    result = json.loads(capsys.readouterr().out)
    copies = [i["copies"] for i in result["items"] if i["request_id"] is not None]
    assert sorted(sum(c.values()) for c in copies) == [1, 1]  # the letter; the package
    assert mail_user.dovecot.count(mail_user.name, "Processed") == 1
