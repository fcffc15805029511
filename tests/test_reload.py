"""Hot reload of rules/ in a running daemon: a valid change is used without restart, an invalid or
half-written one is refused (the old rules keep working, the administrators get one letter), and
SIGHUP (``watcher.request()``) reloads even when no modification time changed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from buhdesk.config import load_config, package_data_dir
from buhdesk.store.models import Request
from buhdesk.service.runner import Daemon
from buhdesk.service.runtime import build_runtime
from harness.memory import MemorySource, MemoryTransport

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ADMIN = "admin@minfin.example"
# «проезд» makes it travel (5.6 points); «ледокол» is in no rule yet
ICEBREAKER = ("Проезд до ледокола", "Прошу оплатить проезд до ледокола.")
TERMS_BEFORE = '"табель", "табельный",'
TERMS_AFTER = '"табель", "ледокол", "табельный",'  # timesheet, weight 3.5: 6.6 points


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(package_data_dir("rules"), folder)
    return folder


@pytest.fixture
def daemon(tmp_path: Path, rules_dir: Path, secret_env: str, store_url: str,
           make_config: Callable[..., Path]) -> Iterator[Daemon]:
    config = load_config(make_config(tmp_path, f'[paths]\nrules = "{rules_dir}"\n',
                                     store=store_url))
    rt = build_runtime(config, clock=lambda: NOW)
    d = Daemon(rt, [MemorySource("minfin", clock=lambda: NOW)], MemoryTransport())
    d.watcher.interval = 0.0  # look at the files on every worker round
    yield d
    rt.engine.dispose()


def route(d: Daemon, subject: str, body: str) -> Request:
    """Send one new letter through the daemon; return its request."""
    source = d.sources[0]
    assert isinstance(source, MemorySource)
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = ("orlov@culture.admin-smolensk.ru",
                                              "buh@minfin.example", subject)
    msg["Message-ID"] = f"<{len(source.items)}.{abs(hash(subject))}@client.example>"
    msg.set_content(body)
    source.put(msg.as_bytes())
    d.drain()
    with Session(d.rt.engine) as s:
        req = s.exec(select(Request).order_by(Request.id.desc())).scalars().first()  # type: ignore[call-overload, union-attr]
        assert req is not None
        return req


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def admin_letters(d: Daemon) -> list[EmailMessage]:
    transport = d.transport
    assert isinstance(transport, MemoryTransport)
    return transport.to(ADMIN)  # type: ignore[return-value]


def test_valid_change_is_taken_into_use_without_restart(daemon: Daemon, rules_dir: Path) -> None:
    assert route(daemon, *ICEBREAKER).process == "travel"
    old_book = daemon.rt.rules
    edit(rules_dir / "classify.toml", TERMS_BEFORE, TERMS_AFTER)
    assert route(daemon, *ICEBREAKER).process == "timesheet"
    assert daemon.rt.rules is not old_book and admin_letters(daemon) == []


def test_invalid_change_is_refused_once_and_the_old_rules_keep_working(
        daemon: Daemon, rules_dir: Path) -> None:
    old_book = daemon.rt.rules
    classify = rules_dir / "classify.toml"
    text = classify.read_text(encoding="utf-8")
    line = text[: text.index(TERMS_BEFORE)].count("\n") + 1
    edit(classify, TERMS_BEFORE, TERMS_AFTER.replace("ледокол", "ледокол\", \"Ледокол"))
    edit(classify, 'name = "табель-основное"\n', 'name = "табель-основное"\nwieght = 2\n')
    assert route(daemon, *ICEBREAKER).process == "travel"  # the old set decided
    assert daemon.rt.rules is old_book
    [mail] = admin_letters(daemon)
    assert mail["Subject"].strip() == "buhdesk: изменённые правила не приняты"
    body = mail.get_content()
    assert "Продолжают действовать прежние правила" in body
    assert "classify.toml" in body and "неизвестный ключ «wieght»" in body
    assert f"classify.toml:{line + 1}: " in body  # the term list moved one line down
    daemon.drain()
    daemon.watcher.request()  # SIGHUP with the same broken files
    assert route(daemon, *ICEBREAKER).process == "travel"
    assert len(admin_letters(daemon)) == 1  # reported once, not on every poll


def test_resaving_the_same_broken_content_is_not_reported_again(
        daemon: Daemon, rules_dir: Path) -> None:
    classify = rules_dir / "classify.toml"
    edit(classify, 'name = "табель-основное"\n', 'name = "табель-основное"\nwieght = 2\n')
    daemon.drain()
    assert len(admin_letters(daemon)) == 1
    st = classify.stat()
    classify.write_bytes(classify.read_bytes())  # an editor saves again, nothing changed
    os.utime(classify, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    daemon.drain()
    assert len(admin_letters(daemon)) == 1


def test_half_written_file_is_refused_then_the_complete_file_is_used(
        daemon: Daemon, rules_dir: Path) -> None:
    classify = rules_dir / "classify.toml"
    complete = classify.read_text(encoding="utf-8").replace(TERMS_BEFORE, TERMS_AFTER, 1)
    cut = complete.index(TERMS_AFTER) + len(TERMS_AFTER)
    classify.write_text(complete[:cut], encoding="utf-8")  # the editor has written half of it
    assert route(daemon, *ICEBREAKER).process == "travel"
    [mail] = admin_letters(daemon)
    assert "синтаксиса TOML" in mail.get_content()
    classify.write_text(complete, encoding="utf-8")
    assert route(daemon, *ICEBREAKER).process == "timesheet"
    assert len(admin_letters(daemon)) == 1


def test_sighup_reloads_even_when_modification_times_did_not_change(
        daemon: Daemon, rules_dir: Path) -> None:
    classify = rules_dir / "classify.toml"
    st = classify.stat()
    # the same number of bytes: «табельщик» becomes «ледоколом», mtime is put back
    edit(classify, '"табельщик"', '"ледоколом"')
    os.utime(classify, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert classify.stat().st_size == st.st_size
    assert route(daemon, *ICEBREAKER).process == "travel"  # the change is not noticed
    daemon.watcher.request()
    assert daemon.watcher.poll() == 1
    assert route(daemon, *ICEBREAKER).process == "timesheet"
