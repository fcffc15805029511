"""Years of mail: the usual work measured on a store pre-filled with a year of requests, beside
the same work on an empty store.

    .venv/bin/python bench/years.py [--requests 1000000] [--letters 2000] [--store-dir DIR]
                                    [--keep]

The pre-filled store is written in bulk (SQLAlchemy Core, no daemon): ``--requests`` requests
spread over the year before the measurement, mostly closed, some answered, waiting or still open
(a few of them overdue); each with the client's letter (about 8 kB on average, one in twenty with
a 60 kB attachment; taken in from the mailbox that the measured intake reads, so that its look-ups
meet a mailbox of a million letters), the acknowledgment, the notice and, when answered, the
answer, with their raw bytes and audit events. Then, on the empty store and on the full one alike:

- intake: ``--letters`` new letters from a loopback Dovecot into requests with their
  acknowledgments queued (as bench/intake.py), msg/s;
- delivery: those acknowledgments and notices sent through an in-memory transport, msg/s;
- ``list --overdue``, the SLA report for the last quarter, ``purge --dry-run``: seconds.

Prints one line per figure, empty beside full, and the store's size per stored letter. Needs
Dovecot (scripts/bootstrap --test installs it) and, for a million requests, about 20 GB of disk
and some minutes for the pre-fill (its time is printed too). SQLite only.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import Dovecot, MemoryTransport
from intake import SOURCE, TOPICS, buhdesk_intake, corpus
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from buhdesk.cli.admin import list_requests
from buhdesk.config import load_config, package_data_dir
from buhdesk.deliver.send import deliver_pending
from buhdesk.reports.sla import sla_report
from buhdesk.rules.book import RuleBook, load_rulebook
from buhdesk.schedule.retention import plan_purge
from buhdesk.service.runtime import build_runtime
from buhdesk.store.append_rows import raw_values
from buhdesk.store.engine import open_store
from buhdesk.store.models import Counter, Event, Message, Raw, Request

CHUNK = 5_000
WARM_UP = 500  # letters taken in before the measurements
SPAN = 1_000_000  # letter numbers apart between two measurements
PROCESSES = ("payroll", "travel", "timesheet", "reporting", "facts", "information",
             "external_reporting")
NEEDS = ("information", "consultation", "forms", "submission", "status", "result")


def _filler(rnd: random.Random, size: int) -> bytes:
    words = "справка зарплата табель отчёт командировка аванс платёж договор сумма".split()
    line = " ".join(rnd.choice(words) for _ in range(12))
    return ((line + "\r\n") * (size // (len(line.encode()) + 2) + 1)).encode()[:size]


def _letter(rnd: random.Random, n: int, sender: str, subject: str, size: int) -> bytes:
    head = (f"From: {sender}\r\nTo: buh@minfin.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <years-{n}@example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode() + _filler(rnd, size)


def _states(age: timedelta, rnd: random.Random) -> str:
    if age > timedelta(days=30):
        return "closed" if rnd.random() < 0.97 else rnd.choice(("answered", "waiting"))
    return rnd.choices(("closed", "answered", "waiting", "assigned"), (50, 20, 10, 20))[0]


def prefill(engine: Engine, rules: RuleBook, count: int, now: datetime, seed: int = 2026) -> None:
    """A year of requests before ``now`` with their letters, raw bytes and events, in bulk."""
    rnd = random.Random(seed)
    logins = sorted(rules.staff)
    year_start = now - timedelta(days=365)
    pk = 0
    requests: list[dict[str, object]] = []
    messages: list[dict[str, object]] = []
    raws: list[dict[str, object]] = []
    events: list[dict[str, object]] = []

    def flush() -> None:
        with engine.begin() as conn:
            for table, rows in ((Request, requests), (Message, messages), (Raw, raws),
                                (Event, events)):
                if rows:
                    conn.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]
                    rows.clear()

    for i in range(1, count + 1):
        created = year_start + timedelta(seconds=365 * 86400 * i / count)
        state = _states(now - created, rnd)
        subject, _body = rnd.choice(TOPICS)
        client = f"employee{rnd.randrange(40_000)}@org{rnd.randrange(400)}.example"
        answered = created + timedelta(hours=rnd.randrange(2, 96)) if state != "assigned" else None
        closed = (answered or created) + timedelta(days=5) if state == "closed" else None
        requests.append(dict(
            id=i, number=f"БУХ-{created.year}-{i:06d}", state=state, channel="email",
            source=SOURCE, client_email=client, client_name=f"Сотрудник {i}", subject=subject,
            process=rnd.choice(PROCESSES), need=rnd.choice(NEEDS), assignee=rnd.choice(logins),
            due_at=created + timedelta(days=7), due_rule="default", created_at=created,
            updated_at=closed or answered or created, answered_at=answered, closed_at=closed,
            participants=""))
        size = 60_000 * 4 // 3 if i % 20 == 0 else rnd.randrange(2_000, 6_000)
        letters = [("in", "request", "routed", client, size, created)]
        letters += [("out", "ack", "sent", client, 2_500, created),
                     ("out", "notice", "sent", "accountant@minfin.example", 3_000, created)]
        if answered is not None:
            letters.append(("out", "answer", "sent", client, 3_000, answered))
        for direction, kind, status, to, size, at in letters:
            pk += 1
            data = _letter(rnd, pk, client if direction == "in" else "buh@minfin.example",
                           subject, size)
            messages.append(dict(
                id=pk, direction=direction, kind=kind, status=status,
                source=SOURCE if direction == "in" else None,
                source_key=f"1:{pk}" if direction == "in" else None, request_id=i,
                message_id=f"years-{pk}@example", from_addr=client if direction == "in" else
                "buh@minfin.example", to_addrs=to if direction == "out" else "buh@minfin.example",
                subject=subject, body_text=data[-size // 2:].decode("utf-8", "ignore"),
                automated=None, size=len(data),
                raw_sha256=hashlib.sha256(data).hexdigest() if direction == "in" else "",
                attempts=1 if direction == "out" else 0, next_attempt_at=None, reason=None,
                created_at=at, done_at=at))
            raws.append(raw_values(pk, data))
            events.append(dict(at=at, request_id=i, message_pk=pk, actor="buhdesk",
                               stage="route" if direction == "in" else "deliver",
                               action="registered" if direction == "in" else "sent",
                               detail="{}"))
        if closed is not None:
            events.append(dict(at=closed, request_id=i, message_pk=None, actor="buhdesk",
                               stage="schedule", action="closed", detail='{"rule": "auto-close"}'))
        if answered is not None:
            events.append(dict(at=answered, request_id=i, message_pk=None, actor=rnd.choice(logins),
                               stage="reply", action="answered", detail="{}"))
        if len(requests) >= CHUNK:
            flush()
    flush()
    with engine.begin() as conn:
        for year in (year_start.year, now.year):
            last = conn.execute(text("SELECT max(id) FROM requests WHERE number LIKE :p"),
                                {"p": f"БУХ-{year}-%"}).scalar() or 0
            conn.execute(insert(Counter.__table__), [{"name": f"БУХ-{year}",  # type: ignore[attr-defined]
                                                       "value": int(last)}])


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(url: str, work: Path, dovecot: Dovecot, user: str, rules: RuleBook,
            now: datetime) -> Iterator[tuple[str, float, str]]:
    """(figure, value, unit) for the usual work on the store at ``url``."""
    rate, routed, cpu = buhdesk_intake(dovecot, user, "pw", url, work)
    yield "intake → request + ack queued", rate, "msg/s"
    yield "intake CPU per letter", cpu * 1000, "ms"
    cfg = work / "buhdesk.toml"  # written by buhdesk_intake
    rt = build_runtime(load_config(cfg), rules=rules)
    transport = MemoryTransport()
    start, cpu, sent = time.perf_counter(), time.process_time(), 0
    while (report := deliver_pending(rt, transport, limit=100)).sent:
        sent += len(report.sent)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    yield "delivery of what intake queued", sent / elapsed, "msg/s"
    yield "delivery CPU per letter", cpu / max(sent, 1) * 1000, "ms"
    tz = rt.config.service.tz
    quarter_end = now.astimezone(tz).date()
    quarter_start = quarter_end - timedelta(days=91)
    # each report twice: first as it finds the store (its pages may not be in memory: a store
    # larger than the machine's memory), then again with them read
    for when in ("", ", again"):
        yield f"list --overdue{when}", timed(lambda: list_requests(
            rt.engine, rules, tz, overdue=True, now=now)), "s"
        yield f"SLA report, last quarter{when}", timed(lambda: sla_report(
            rt.engine, rules, quarter_start, quarter_end, now=now, tz=tz)), "s"
    yield "purge --dry-run (3 years)", timed(lambda: plan_purge(
        rt.engine, timedelta(days=3 * 365), now)), "s"
    yield "purge --dry-run (6 months)", timed(lambda: plan_purge(
        rt.engine, timedelta(days=182), now)), "s"
    rt.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--letters", type=int, default=2_000)
    ap.add_argument("--store-dir", help="where the two SQLite stores go (default: a temporary "
                                        "folder); the full one needs about 20 GB per million")
    ap.add_argument("--keep", action="store_true", help="keep the stores afterwards")
    args = ap.parse_args()
    if args.letters > SPAN:
        ap.error(f"--letters: at most {SPAN}")
    os.environ.setdefault("BUHDESK_SECRET", secrets.token_hex(32))
    rules = load_rulebook(package_data_dir("rules"))
    now = datetime.now(UTC)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; {args.requests} requests in the full store, "
          f"{args.letters} new letters measured")
    base = Path(args.store_dir or tempfile.mkdtemp(prefix="buhdesk-years-"))
    base.mkdir(parents=True, exist_ok=True)
    full_db = base / "full.db"
    if not full_db.exists():
        engine = open_store(f"sqlite:///{full_db}")
        took = timed(lambda: prefill(engine, rules, args.requests, now))
        engine.dispose()
        size = full_db.stat().st_size
        print(f"pre-fill: {took:.0f} s, {size / 1e9:.2f} GB, "
              f"{size / args.requests / 1000:.1f} kB per request")
    # Each measurement takes letters of its own (no text is found memoised from an earlier
    # one), numbered apart from any earlier run's: a kept full store has their senders, and the
    # daily cap on acknowledgments would spare it work. A warm-up intake into a store of its own
    # comes first, so that the store measured first does not pay the process's first-use costs.
    stamp = int(time.time()) * 3
    results: dict[str, dict[str, tuple[float, str]]] = {}
    with Dovecot() as dovecot:
        for k, name in enumerate(("warm-up", "empty", "full")):
            user = f"user{k}"
            dovecot.add_user(user, "pw")
            count = min(args.letters, WARM_UP) if name == "warm-up" else args.letters
            dovecot.fill_fast(user, corpus(count, first=(stamp + k) * SPAN))
            work = base / f"work-{name}"
            if name != "full":  # a store of its own, empty at the start
                shutil.rmtree(work, ignore_errors=True)
            work.mkdir(exist_ok=True)
            url = f"sqlite:///{full_db}" if name == "full" else f"sqlite:///{work}/empty.db"
            if name == "warm-up":
                buhdesk_intake(dovecot, user, "pw", url, work)
                continue
            results[name] = {f: (v, u) for f, v, u in measure(url, work, dovecot, user, rules,
                                                               now)}
    print(f"{'figure':34} {'empty store':>14} {'full store':>14}  full/empty")
    for key, (empty, unit) in results["empty"].items():
        full = results["full"].get(key, (float("nan"), unit))[0]
        print(f"{key:34} {empty:10.3f} {unit:>3} {full:10.3f} {unit:>3}  {full / empty:6.2f}")
    if not args.keep and not args.store_dir:
        for path in sorted(base.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        base.rmdir()


if __name__ == "__main__":
    main()
