"""Train the Zstandard dictionary that stored letters are compressed with (issue 21).

    .venv/bin/python bench/zstd_dictionary.py --dict-id N --out daemon/buhdesk/store/dictionaries/N.zdict STORE.db...

Reads every letter of the given SQLite stores (incoming under 20 kB and outgoing: headers,
the templates' words, quoted-printable Cyrillic) and trains a 16 kB dictionary. A dictionary
that has shipped is never changed or removed: letters compressed with it name it by its id,
and ``store.compress`` reads them back with it. A new one gets a new id and becomes
``compress.DICTIONARY``; the old file stays.

The shipped 760101.zdict was trained on the store of ``bench/storage.py --letters 500 --keep
DIR`` (500 letters of bench/intake.py's corpus, their acknowledgments and notices); it was
measured on letters it was not trained on (the demo workspace's, tests/corpus).
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import zstandard

from buhdesk.store import compress

SIZE = 16 * 1024
MAX_SAMPLE = 20_000


def samples(stores: list[Path]) -> list[bytes]:
    out = []
    for store in stores:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
            for codec, data in conn.execute("SELECT codec, data FROM raws ORDER BY message_pk"):
                letter = bytes(compress.decode(codec, data))
                if len(letter) < MAX_SAMPLE:
                    out.append(letter)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("stores", nargs="+", type=Path)
    ap.add_argument("--dict-id", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    letters = samples(args.stores)
    trained = zstandard.train_dictionary(SIZE, letters, dict_id=args.dict_id)
    args.out.write_bytes(trained.as_bytes())
    print(f"{len(letters)} letters, dictionary {trained.dict_id()} of {len(trained.as_bytes())} "
          f"bytes in {args.out}")


if __name__ == "__main__":
    main()
