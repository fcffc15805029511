"""The operators' commands as an administrator runs them: purge, backup, restore, metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from support import ops_cli

from buhdesk.store.models import Message, Request
from buhdesk.store.engine import open_store


@pytest.fixture
def config_file(tmp_path: Path, store_url: str, make_config: Callable[..., Path]) -> Path:
    """A buhdesk.toml over the test's store (SQLite and PostgreSQL), with two closed requests."""
    file = make_config(tmp_path, store=store_url)
    engine = open_store(store_url)
    now = datetime.now(UTC)
    with Session(engine) as s:
        for n, closed in ((1, now - timedelta(days=1200)), (2, now - timedelta(days=10))):
            req = Request(number=f"БУХ-2026-{n:06d}", state="closed", closed_at=closed)
            s.add(req)
            s.flush()
            s.add(Message(direction="in", status="routed", source="minfin", source_key=str(n),
                          request_id=req.id, body_text="Паспорт 6600 123456"))
        s.commit()
    engine.dispose()
    return file


def _bodies(store_url: str) -> list[str | None]:
    engine = open_store(store_url)
    try:
        with Session(engine) as s:
            return [m.body_text for m in s.exec(select(Message).order_by(Message.id))]
    finally:
        engine.dispose()


def test_purge_dry_run_then_real(config_file: Path, tmp_path: Path, store_url: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert ops_cli(config_file, "purge", "--dry-run", "--json") == 0
    plan = json.loads(capsys.readouterr().out)
    assert [i["number"] for i in plan["items"]] == ["БУХ-2026-000001"] and plan["act"] == []
    assert _bodies(store_url) == ["Паспорт 6600 123456"] * 2

    assert ops_cli(config_file, "purge", "--act-dir", str(tmp_path / "acts")) == 0
    out = capsys.readouterr().out
    assert "Уничтожены данные обращений: 1" in out and "БУХ-2026-000001" in out
    assert _bodies(store_url) == [None, "Паспорт 6600 123456"]
    assert sorted(p.suffix for p in (tmp_path / "acts").iterdir()) == [".csv", ".xlsx"]

    assert ops_cli(config_file, "purge", "--older-than-days", "0") == 1
    assert "не меньше 1" in capsys.readouterr().err


def test_backup_restore_and_metrics(config_file: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert ops_cli(config_file, "backup", str(tmp_path / "copy")) == 0
    assert "обращений: 2" in capsys.readouterr().out
    assert ops_cli(config_file, "restore", str(tmp_path / "copy")) == 1
    assert "не пусто" in capsys.readouterr().err
    assert ops_cli(config_file, "metrics") == 0
    assert 'buhdesk_requests{state="closed"} 2' in capsys.readouterr().out.splitlines()
