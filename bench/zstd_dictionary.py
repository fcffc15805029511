"""Train the Zstandard dictionary that stored letters are compressed with (issue 21).

    .venv/bin/python bench/zstd_dictionary.py --dict-id N --out daemon/buhdesk/store/dictionaries/N.zdict

The training letters are not the benchmarks' (bench/intake.py's corpus, which bench/storage.py
measures the store with): the 163 requests of tests/corpus/requests go through the route stage
into a scratch SQLite store, with the shipped rules and templates, and their letters in and out
(acknowledgments, notices) are the samples, with the MIME corpus of tests/corpus/mail as letters
from the outside. The result is a 32 kB dictionary.

A dictionary that has shipped is never changed or removed: letters compressed with it name it
by its id, and ``store.compress`` reads them back with it. A new one gets a new id and becomes
``compress.DICTIONARY``; the old file stays (``tests/test_store_compression.py`` lists them).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

import zstandard
from harness import MemorySource, MemoryTransport

from buhdesk.config import load_config, package_data_dir
from buhdesk.rules.book import load_rulebook
from buhdesk.service.runner import Daemon
from buhdesk.service.runtime import build_runtime
from buhdesk.store import compress

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = ROOT / "tests" / "corpus" / "requests"
MIME = ROOT / "tests" / "corpus" / "mail"
SIZE = 32 * 1024
MAX_SAMPLE = 20_000


def request_letters() -> list[bytes]:
    """The classification corpus's requests as letters (headers, then the text)."""
    out = []
    for n, path in enumerate(sorted(REQUESTS.glob("*.txt"))):
        head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        fields = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
        msg = EmailMessage(policy=SMTP)
        msg["From"] = fields.get("From", f"sender{n}@culture.example")
        msg["To"] = "buh@minfin.example"
        msg["Subject"] = fields.get("Subject", "")
        msg["Date"] = format_datetime(datetime(2026, 11, 2, 10, n % 60, tzinfo=UTC))
        msg["Message-ID"] = f"<train-{n}@culture.example>"
        msg.set_content(body)
        out.append(msg.as_bytes())
    return out


def routed_letters(work: Path) -> list[bytes]:
    """The requests routed into a scratch store: their letters, acknowledgments and notices."""
    os.environ.setdefault("BUHDESK_SECRET", secrets.token_hex(32))
    db = work / "train.db"
    cfg = work / "buhdesk.toml"
    cfg.write_text(f'[service]\naddress = "buh@minfin.example"\nduty_accountant = "ivanova"\n'
                   f'[store]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    rt = build_runtime(load_config(cfg), rules=load_rulebook(package_data_dir("rules")))
    source = MemorySource("train")
    for data in request_letters():
        source.put(data)
    Daemon(rt, [source], MemoryTransport()).drain()
    rt.engine.dispose()
    with sqlite3.connect(db) as conn:
        return [bytes(compress.decode(codec & ~compress.SPLICED, data))
                for codec, data in conn.execute("SELECT codec, data FROM raws")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dict-id", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        letters = routed_letters(Path(tmp))
    letters += [p.read_bytes() for p in sorted(MIME.glob("*.eml"))]
    samples = [x for x in letters if len(x) < MAX_SAMPLE]
    trained = zstandard.train_dictionary(SIZE, samples, dict_id=args.dict_id)
    args.out.write_bytes(trained.as_bytes())
    print(f"{len(samples)} letters, dictionary {trained.dict_id()} of "
          f"{len(trained.as_bytes())} bytes in {args.out}")


if __name__ == "__main__":
    main()
