"""Intake rate: messages per second from a Dovecot mailbox to committed requests with their
acknowledgments queued, next to two baselines on the same messages and server:
a bare ``UID FETCH`` in batches, and a bare fetch plus parse with imap-tools.

    .venv/bin/python bench/intake.py [--count 1000] [--store sqlite|postgresql://...]

Prints one line per figure. Needs Dovecot installed (scripts/bootstrap --test installs it).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from imap_tools import MailBoxUnencrypted

from buhdesk.config import load_config, package_data_dir
from buhdesk.rules.book import load_rulebook
from buhdesk.service.runner import Daemon
from buhdesk.service.runtime import build_runtime
from buhdesk_connectors.imap import ImapSource
from harness import Dovecot
from harness import MemoryTransport

SOURCE = "bench"  # the mailbox's name in the store (bench/years.py pre-fills letters from it)
TOPICS = [
    ("Справка 2-НДФЛ", "Прошу подготовить справку 2-НДФЛ за 2025 год для банка."),
    ("Авансовый отчёт", "Направляю авансовый отчёт по командировке в Москву, чеки во вложении."),
    ("Табель за ноябрь", "Подскажите, до какого числа сдавать табель учёта рабочего времени?"),
    ("Когда зарплата", "В какой день в декабре будет выплата заработной платы и аванса?"),
    ("Копии платёжных поручений", "Прошу предоставить копии платёжных поручений за октябрь."),
]


def corpus(count: int, seed: int = 76, first: int = 0) -> list[bytes]:
    """Realistic letters: Cyrillic text, signatures, one in ten with a PDF attachment; numbered
    from ``first``, so that two corpora with different ``first`` share no sender, text or
    Message-ID (a second measurement in one process then finds nothing of the first in the
    memoised texts)."""
    rnd = random.Random(seed + first)
    out = []
    for n in range(first, first + count):
        subject, body = rnd.choice(TOPICS)
        msg = EmailMessage(policy=SMTP)
        msg["From"] = f"Сотрудник {n} <employee{n}@culture.example>"
        msg["To"] = "buh@minfin.example"
        msg["Subject"] = f"{subject} ({n})"
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = f"<bench-{n}@culture.example>"
        msg.set_content(f"Добрый день!\n\n{body}\n\nС уважением,\nСотрудник {n}\nтел. 29-{n:04d}\n")
        if n % 10 == 0:
            msg.add_attachment(rnd.randbytes(60_000), maintype="application", subtype="pdf",
                               filename=f"документ {n}.pdf")
        out.append(msg.as_bytes())
    return out


def bare_fetch(dovecot: Dovecot, user: str, password: str) -> float:
    with MailBoxUnencrypted(dovecot.host, dovecot.imap_port).login(user, password) as mb:
        uids = mb.uids()
        start = time.perf_counter()
        for i in range(0, len(uids), 100):
            mb.client.uid("FETCH", ",".join(uids[i:i + 100]), "(BODY.PEEK[])")
        return len(uids) / (time.perf_counter() - start)


def fetch_and_parse(dovecot: Dovecot, user: str, password: str) -> float:
    with MailBoxUnencrypted(dovecot.host, dovecot.imap_port).login(user, password) as mb:
        start = time.perf_counter()
        n = 0
        for msg in mb.fetch(mark_seen=False, bulk=100):
            _ = (msg.subject, msg.from_, msg.text, msg.html, [a.payload for a in msg.attachments])
            n += 1
        return n / (time.perf_counter() - start)


def buhdesk_intake(dovecot: Dovecot, user: str, password: str, store: str | None,
                   work: Path) -> tuple[float, int, float]:
    """Messages per second, how many were routed and the CPU time per letter (seconds)."""
    os.environ.setdefault("BUHDESK_SECRET", secrets.token_hex(32))
    cfg = work / "buhdesk.toml"
    url = store or f"sqlite:///{work}/bench.db"
    cfg.write_text(f'[service]\naddress = "buh@minfin.example"\nduty_accountant = "ivanova"\n'
                   f'auto_reply_daily_cap = 5\n[store]\nurl = "{url}"\n'
                   f'[outbox]\nkind = "files"\npath = "outbox"\n', encoding="utf-8")
    rt = build_runtime(load_config(cfg), rules=load_rulebook(package_data_dir("rules")))
    source = ImapSource(name=SOURCE, host=dovecot.host, port=dovecot.imap_port, user=user,
                        password=password, security="none", use_idle=False)
    daemon = Daemon(rt, [source], MemoryTransport())
    daemon.STAGES = tuple(s for s in daemon.STAGES if s[0] == "route")  # intake + route only
    start, cpu = time.perf_counter(), time.process_time()
    daemon.drain()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    source.close()
    routed = daemon.counters.routed
    return routed / elapsed, routed, cpu / max(routed, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--store", help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    letters = corpus(args.count)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; {args.count} messages, "
          f"{sum(map(len, letters)) / 1e6:.1f} MB")
    with Dovecot() as dovecot, tempfile.TemporaryDirectory() as tmp:
        for user in ("warm", "base", "buh"):
            dovecot.add_user(user, "pw")
            dovecot.fill_fast(user, letters)
        bare_fetch(dovecot, "warm", "pw")  # Dovecot builds its caches on the first FETCH
        fetch_and_parse(dovecot, "warm", "pw")
        raw = bare_fetch(dovecot, "base", "pw")
        parsed = fetch_and_parse(dovecot, "base", "pw")
        rate, routed, cpu = buhdesk_intake(dovecot, "buh", "pw", args.store, Path(tmp))
        print(f"bare UID FETCH (batches of 100):        {raw:8.0f} msg/s")
        print(f"imap-tools fetch + parse:               {parsed:8.0f} msg/s")
        print(f"buhdesk intake → request + ack queued:  {rate:8.0f} msg/s "
              f"({routed} requests; {rate / parsed:.2f} of fetch+parse, {rate / raw:.3f} of bare)")
        print(f"buhdesk intake CPU per letter:          {cpu * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
