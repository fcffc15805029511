"""What the benchmark scripts share: a configuration for a loopback Dovecot user and the
progress of intake read from the store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from buhdesk.store.models import Message
from harness import Dovecot


def write_config(work: Path, dovecot: Dovecot, user: str, store: str | None, *,
                 poll_interval: float = 60) -> Path:
    """buhdesk.toml in ``work``: the Dovecot user as the source (password in
    $BENCH_IMAP_PASSWORD), a file outbox, and ``store`` or a fresh SQLite file."""
    cfg = work / "buhdesk.toml"
    cfg.write_text(f"""
[service]
address = "buh@minfin.example"
duty_accountant = "ivanova"
auto_reply_daily_cap = 5
[store]
url = "{store or f'sqlite:///{work}/bench.db'}"
[[sources]]
name = "minfin"
kind = "imap"
host = "{dovecot.host}"
port = {dovecot.imap_port}
security = "none"
user = "{user}"
password_env = "BENCH_IMAP_PASSWORD"
poll_interval = {poll_interval}
[web]
metrics_port = 0
[outbox]
kind = "files"
path = "outbox"
""", encoding="utf-8")
    return cfg


def progress(engine: Engine) -> tuple[int, int]:
    """Letters taken in, and acknowledgments queued."""
    with Session(engine) as s:
        taken = s.execute(select(func.count()).select_from(Message).where(
            Message.direction == "in")).scalar_one()
        acks = s.execute(select(func.count()).select_from(Message).where(
            Message.direction == "out", Message.kind == "ack")).scalar_one()
    return taken, acks
