"""/metrics and /healthz over real HTTP on loopback, following the store as it changes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from buhdesk.config import Config, ConfigError, load_config
from buhdesk.intake.take import take_in
from buhdesk.interfaces import RawItem
from buhdesk.service.health import HealthSettings, start_health_server
from buhdesk.service.metrics import PollRecorder
from buhdesk.store.engine import open_store
from buhdesk.store.models import Message, Request

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class FakeRuntime:
    """What the health server reads from the runtime, with a clock the test moves."""

    engine: Engine
    config: Config
    at: list[datetime] = field(default_factory=lambda: [T0])

    def now(self) -> datetime:
        return self.at[0]

    def advance(self, **delta: float) -> None:
        self.at[0] += timedelta(**delta)


def _config(tmp_path: Path, web: str = "", store: str = "sqlite:///t.db") -> Config:
    file = tmp_path / "buhdesk.toml"
    file.write_text(
        f'[store]\nurl = "{store}"\n[outbox]\nkind = "files"\npath = "out"\n'
        f"[web]\n{web}\n", encoding="utf-8")
    return load_config(file)


@pytest.fixture
def env(tmp_path: Path, store_url: str):  # type: ignore[no-untyped-def]
    """The health server over the test's store (SQLite and PostgreSQL), and a client for it."""
    engine = open_store(store_url)
    config = _config(tmp_path, "max_poll_age = 300\nmax_outbox_age = 600\n", store=store_url)
    rt = FakeRuntime(engine, config)
    polls = PollRecorder(["minfin", "delopro"], started_at=T0)
    server = start_health_server(rt, polls, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            yield rt, polls, client
    finally:
        server.stop()
        engine.dispose()


def _sample(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(f"{name}{{{label_text}}}" if labels else name) + r" (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{name} {labels} missing from:\n{text}"
    return float(match.group(1))


def _add(engine: Engine, *rows: object) -> None:
    with Session(engine) as s:
        s.add_all(rows)
        s.commit()


def _take(engine: Engine, *keys: tuple[str, str], max_bytes: int = 1 << 20) -> None:
    """Letters stored by the intake's writer, as the daemon stores them."""
    take_in(engine, [RawItem(source=source, key=key, data=f"Subject: {key}\r\n\r\n".encode(),
                             received_at=T0) for source, key in keys], max_bytes=max_bytes)


def _outgoing(created: datetime, status: str = "pending") -> Message:
    return Message(direction="out", kind="ack", status=status, to_addrs="a@x.ru",
                   created_at=created)


def test_metrics_follow_the_store(env) -> None:  # type: ignore[no-untyped-def]
    rt, _polls, client = env
    first = client.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert _sample(first.text, "buhdesk_outbox_pending") == 0
    assert _sample(first.text, "buhdesk_requests", state="new") == 0

    _take(rt.engine, ("minfin", "1:1"), ("minfin", "1:2"))
    _take(rt.engine, ("delopro", "p1"), max_bytes=10)  # too big: taken in and held
    _add(rt.engine, _outgoing(T0 - timedelta(minutes=3)),
         _outgoing(T0 - timedelta(minutes=1)), _outgoing(T0, status="held"),
         _outgoing(T0 - timedelta(days=1), status="sent"),
         Request(number="БУХ-2026-000001", state="assigned", due_at=T0 - timedelta(hours=1)),
         Request(number="БУХ-2026-000002", state="assigned", due_at=T0 + timedelta(hours=1)),
         Request(number="БУХ-2026-000003", state="closed", due_at=T0 - timedelta(days=3)),
         Request(number="БУХ-2026-000004", state="waiting", due_at=T0 - timedelta(days=2)),
         Request(number="БУХ-2026-000005", state="answered", due_at=T0 - timedelta(days=2)),
         Request(number="БУХ-2026-000006", state="held", due_at=T0 - timedelta(minutes=1)))
    text = client.get("/metrics").text
    assert _sample(text, "buhdesk_messages_taken_in_total", source="minfin") == 2
    assert _sample(text, "buhdesk_messages_taken_in_total", source="delopro") == 1
    assert _sample(text, "buhdesk_requests", state="assigned") == 2
    assert _sample(text, "buhdesk_requests", state="closed") == 1
    assert _sample(text, "buhdesk_outbox_pending") == 2
    assert _sample(text, "buhdesk_outbox_oldest_pending_age_seconds") == 180
    assert _sample(text, "buhdesk_held_messages", direction="in") == 1
    assert _sample(text, "buhdesk_held_messages", direction="out") == 1
    # answered and closed owe nothing; the clock stands while waiting on the client
    assert _sample(text, "buhdesk_deadlines_missed") == 2

    rt.advance(hours=2)  # the second deadline passes too; the outbox ages
    text = client.get("/metrics").text
    assert _sample(text, "buhdesk_deadlines_missed") == 3
    assert _sample(text, "buhdesk_requests", state="held") == 1
    assert _sample(text, "buhdesk_outbox_oldest_pending_age_seconds") == 180 + 7200


def test_last_poll_is_exposed_per_source(env) -> None:  # type: ignore[no-untyped-def]
    rt, polls, client = env
    text = client.get("/metrics").text
    assert "buhdesk_source_last_poll_timestamp_seconds{" not in text  # nobody polled yet
    rt.advance(seconds=40)
    polls.record("minfin", rt.now())
    rt.advance(seconds=20)
    text = client.get("/metrics").text
    assert _sample(text, "buhdesk_source_last_poll_timestamp_seconds",
                   source="minfin") == (T0 + timedelta(seconds=40)).timestamp()
    assert _sample(text, "buhdesk_source_poll_age_seconds", source="minfin") == 20
    assert _sample(text, "buhdesk_source_poll_age_seconds", source="delopro") == 60


def test_healthz_turns_red_and_green_with_the_state(env) -> None:  # type: ignore[no-untyped-def]
    rt, polls, client = env
    ok = client.get("/healthz")
    assert ok.status_code == 200
    assert ok.json() == {"status": "ok", "reasons": []}

    rt.advance(seconds=301)  # past max_poll_age with no poll at all
    polls.record("minfin", rt.now())
    bad = client.get("/healthz")
    assert bad.status_code == 503
    reasons = bad.json()["reasons"]
    assert len(reasons) == 1 and "'delopro'" in reasons[0] and "ни разу" in reasons[0]

    polls.record("delopro", rt.now())
    assert client.get("/healthz").status_code == 200

    _add(rt.engine, _outgoing(rt.now()))
    rt.advance(seconds=200)
    polls.record("minfin", rt.now())
    polls.record("delopro", rt.now())
    assert client.get("/healthz").status_code == 200  # pending, but young
    rt.advance(seconds=500)
    polls.record("minfin", rt.now())
    polls.record("delopro", rt.now())
    stuck = client.get("/healthz")
    assert stuck.status_code == 503
    assert "исходящая очередь стоит" in json.loads(stuck.text)["reasons"][0]

    with Session(rt.engine) as s:
        for msg in s.exec(select(Message)).all():
            msg.status = "sent"
            s.add(msg)
        s.commit()
    assert client.get("/healthz").status_code == 200  # the outbox moved


def test_unknown_path_is_404(env) -> None:  # type: ignore[no-untyped-def]
    _rt, _polls, client = env
    assert client.get("/nothing").status_code == 404


def test_settings_come_from_the_web_table(tmp_path: Path) -> None:
    cfg = _config(tmp_path, 'metrics_host = "::1"\nmetrics_port = 9200\nmax_poll_age = 120\n')
    settings = HealthSettings.from_config(cfg)
    assert (settings.host, settings.port, settings.max_poll_age) == ("::1", 9200, 120.0)
    assert settings.max_outbox_age == HealthSettings.max_outbox_age
    assert HealthSettings.from_config(_config(tmp_path)) == HealthSettings()
    with pytest.raises(ConfigError) as err:
        HealthSettings.from_config(_config(tmp_path, 'metrics_port = "9108"\n'))
    assert err.value.key == "web.metrics_port"
