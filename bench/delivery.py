"""Delivery rate: outbox rows per second sent through the real SMTP transport to an aiosmtpd sink
on loopback, next to a baseline (the same bytes sent by bare ``smtplib`` over one connection).

The outbox is filled through the core: ``--count`` letters are registered by the pipeline from an
in-memory source, each leaving two pending rows (the acknowledgment and the accountant's notice).

    .venv/bin/python bench/delivery.py [--count 1000] [--batch 50] [--store sqlite|postgresql://...]

Prints one line per figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import smtplib
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from buhdesk.config import load_config, package_data_dir
from buhdesk.deliver.send import deliver_pending
from buhdesk.store.compress import decode
from buhdesk.store.models import Message, Raw
from buhdesk.rules.book import load_rulebook
from buhdesk.service.runner import Daemon
from buhdesk.service.runtime import Runtime, build_runtime
from harness import SmtpSink
from harness import MemorySource, MemoryTransport
from buhdesk_connectors.smtp import SmtpTransport

TOPICS = [
    ("Справка 2-НДФЛ", "Прошу подготовить справку 2-НДФЛ за 2025 год для банка."),
    ("Авансовый отчёт", "Направляю авансовый отчёт по командировке в Москву."),
    ("Табель за ноябрь", "Подскажите, до какого числа сдавать табель учёта рабочего времени?"),
    ("Когда зарплата", "В какой день в декабре будет выплата заработной платы и аванса?"),
]


@dataclass(frozen=True)
class Figure:
    sent: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def letter(n: int) -> bytes:
    subject, body = TOPICS[n % len(TOPICS)]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Сотрудник {n} <employee{n}@culture.example>"
    msg["To"] = "buh@minfin.example"
    msg["Subject"] = f"{subject} ({n})"
    msg["Message-ID"] = f"<delivery-bench-{n}@culture.example>"
    msg.set_content(f"Добрый день!\n\n{body}\n\nС уважением,\nСотрудник {n}\n")
    return msg.as_bytes()


def runtime(work: Path, store: str | None, batch: int) -> Runtime:
    os.environ.setdefault("BUHDESK_SECRET", secrets.token_hex(32))
    cfg = work / "buhdesk.toml"
    url = store or f"sqlite:///{work}/bench.db"
    cfg.write_text(f'[service]\naddress = "buh@minfin.example"\nduty_accountant = "ivanova"\n'
                   f'[store]\nurl = "{url}"\n'
                   f'[outbox]\nkind = "files"\npath = "outbox"\nbatch = {batch}\n',
                   encoding="utf-8")
    return build_runtime(load_config(cfg), rules=load_rulebook(package_data_dir("rules")))


def fill_outbox(rt: Runtime, count: int) -> int:
    """Register ``count`` letters through intake and route; return the pending outbox rows."""
    source = MemorySource("bench")
    for n in range(count):
        source.put(letter(n))
    daemon = Daemon(rt, [source], MemoryTransport())
    daemon.STAGES = tuple(s for s in daemon.STAGES if s[0] == "route")  # nothing is sent yet
    daemon.drain(max_rounds=count + 10)
    return pending(rt)


def pending(rt: Runtime) -> int:
    with Session(rt.engine) as s:
        return s.execute(select(func.count()).select_from(Message).where(
            Message.direction == "out", Message.status == "pending")).scalar_one()


def deliver_all(rt: Runtime, sink: SmtpSink) -> Figure:
    """Run the deliver stage until the outbox is empty, as the daemon's worker does."""
    transport = SmtpTransport(host=sink.host, port=sink.port, security="none")
    sent = 0
    start = time.perf_counter()
    while True:
        report = deliver_pending(rt, transport, limit=rt.config.outbox.batch)
        if report.retried or report.held:
            raise RuntimeError(f"delivery failed: {report}")
        if not report.sent:
            break
        sent += len(report.sent)
    return Figure(sent, time.perf_counter() - start)


def bare_smtplib(rt: Runtime, sink: SmtpSink) -> Figure:
    """The ceiling: the same messages, one connection, no store."""
    with Session(rt.engine) as s:
        rows = [(to, decode(codec, data)) for to, codec, data in s.execute(
            select(Message.to_addrs, Raw.codec, Raw.data).join(
                Raw, Raw.message_pk == Message.id).where(Message.direction == "out"))]
    start = time.perf_counter()
    with smtplib.SMTP(sink.host, sink.port, timeout=30) as client:
        for to, data in rows:
            client.sendmail("buh@minfin.example", [a.strip() for a in to.split(",")], data)
    return Figure(len(rows), time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000, help="letters registered (2 rows each)")
    ap.add_argument("--batch", type=int, default=50, help="[outbox] batch")
    ap.add_argument("--store", help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; {args.count} letters registered, "
          f"outbox batch {args.batch}")
    with tempfile.TemporaryDirectory() as tmp, SmtpSink() as sink:
        rt = runtime(Path(tmp), args.store, args.batch)
        start = time.perf_counter()
        rows = fill_outbox(rt, args.count)
        print(f"outbox filled: {rows} pending rows in {time.perf_counter() - start:.1f} s")
        ours = deliver_all(rt, sink)
        assert len(sink.messages) == ours.sent == rows, (len(sink.messages), ours.sent, rows)
        print(f"buhdesk deliver stage (SmtpTransport → aiosmtpd): {ours.rate:.0f} messages/s "
              f"({ours.sent} in {ours.seconds:.2f} s)")
        base = bare_smtplib(rt, sink)
        print(f"baseline, bare smtplib over one connection: {base.rate:.0f} messages/s "
              f"({base.sent} in {base.seconds:.2f} s)")
        print(f"buhdesk / baseline: {ours.rate / base.rate:.2f}")


if __name__ == "__main__":
    main()
