"""Disk per letter: what the store keeps for each letter it takes, beside the letter's own size.

    .venv/bin/python bench/storage.py [--letters 500] [--keep DIR]

``--letters`` letters of bench/intake.py's corpus (Cyrillic text, one in ten with a 60 kB PDF)
go from a loopback Dovecot into requests on an empty SQLite store (intake and route: the
acknowledgments and notices queued), then are delivered to the file outbox. Prints the size of
the mail taken in, of the database (after a WAL checkpoint), of the attachment files and of the
outbox, per incoming letter, and what the ``raws`` table holds (and how many letters are kept
without the base64 of their attachments, ``raw_cuts``). Needs Dovecot.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import tempfile
from pathlib import Path

from harness import Dovecot
from intake import buhdesk_intake, corpus

from buhdesk.config import load_config, package_data_dir
from buhdesk.deliver.send import deliver_pending
from buhdesk.rules.book import load_rulebook
from buhdesk.service.runtime import build_runtime
from buhdesk_connectors.factory import make_transport


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--letters", type=int, default=500)
    ap.add_argument("--keep", help="a folder to keep the store in (default: a temporary one)")
    args = ap.parse_args()
    os.environ.setdefault("BUHDESK_SECRET", secrets.token_hex(32))
    letters = corpus(args.letters)
    mail = sum(map(len, letters))
    with Dovecot() as dovecot, tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        dovecot.add_user("buh", "pw")
        dovecot.fill_fast("buh", letters)
        _rate, routed, _cpu = buhdesk_intake(dovecot, "buh", "pw", None, work)
        config = load_config(work / "buhdesk.toml")
        rt = build_runtime(config, rules=load_rulebook(package_data_dir("rules")))
        transport = make_transport(config.outbox)
        while deliver_pending(rt, transport, limit=100).sent:
            pass
        rt.engine.dispose()
        db = work / "bench.db"
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            counts = dict(conn.execute("SELECT direction, count(*) FROM messages GROUP BY 1"))
            raw_letters, raw_stored = conn.execute(
                "SELECT sum(m.size), sum(length(r.data)) FROM raws r "
                "JOIN messages m ON m.id = r.message_pk").fetchone()
            spliced, cut = conn.execute(
                "SELECT count(DISTINCT message_pk), coalesce(sum(length), 0) FROM raw_cuts"
            ).fetchone()
            page_size, free_pages = (conn.execute(f"PRAGMA {name}").fetchone()[0]
                                     for name in ("page_size", "freelist_count"))
            out_body = conn.execute("SELECT sum(length(CAST(body_text AS BLOB))) FROM messages "
                                    "WHERE direction = 'out'").fetchone()[0] or 0
        sizes = {"database": db.stat().st_size, "attachment files": tree_bytes(work / "blobs"),
                 "file outbox": tree_bytes(work / "outbox")}
    n = routed or 1
    print(f"{args.letters} letters taken, {routed} routed; messages in the store: {counts}")
    print(f"{'mail taken in':24} {mail / n / 1000:8.1f} kB per letter")
    for name, size in sizes.items():
        print(f"{name:24} {size / n / 1000:8.1f} kB per letter")
    store = sizes["database"] + sizes["attachment files"]
    print(f"{'store (db + files)':24} {store / n / 1000:8.1f} kB per letter, "
          f"{store / mail:.2f} × the mail")
    # pages freed in the file (a letter's whole bytes replaced by its spliced form, rows
    # updated) are taken again by the next letters: their count follows a batch, not the store
    free = free_pages * page_size
    print(f"{'of which free pages':24} {free / n / 1000:8.1f} kB per letter ({free / 1e6:.2f} MB "
          f"in all, reused by the next letters)")
    print(f"{'store without them':24} {(store - free) / n / 1000:8.1f} kB per letter, "
          f"{(store - free) / mail:.2f} × the mail")
    print(f"raws: {raw_letters / 1e6:.2f} MB of letters kept in {raw_stored / 1e6:.2f} MB; "
          f"outgoing body_text {out_body / 1e6:.2f} MB")
    print(f"raws kept without their attachments: {spliced}, {cut / 1e6:.2f} MB of base64 cut out "
          f"(rebuilt from the attachment files)")


if __name__ == "__main__":
    main()
