"""What the backends of the benchmarks' PostgreSQL databases wait for, sampled every 20 ms.

Run beside ``bench/instances.py`` (whose databases are named ``buhdesk_bench_*``):

    .venv/bin/python bench/pg_waits.py [--seconds 75] [--pg postgresql://postgres@127.0.0.1/postgres]

Prints, most frequent first, how many samples saw a backend in each state: wait event type,
wait event and, for lock waits and active backends, the start of the statement.
"""

from __future__ import annotations

import argparse
import collections
import os
import time

import psycopg

QUERY = """
SELECT state, coalesce(wait_event_type, '-'), coalesce(wait_event, '-'),
       left(regexp_replace(query, '\\s+', ' ', 'g'), 90)
FROM pg_stat_activity WHERE datname LIKE 'buhdesk_bench_%' AND pid <> pg_backend_pid()
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=75.0)
    ap.add_argument("--pg", default=os.environ.get("BUHDESK_TEST_PG_URL",
                                                   "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = ap.parse_args()
    seen: collections.Counter[tuple[str, str, str, str]] = collections.Counter()
    rounds = 0
    with psycopg.connect(args.pg, autocommit=True) as conn:
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            rows = conn.execute(QUERY).fetchall()
            rounds += bool(rows)
            for state, kind, event, query in rows:
                shown = query if state == "active" or kind == "Lock" else ""
                seen[(state or "-", kind, event, shown)] += 1
            time.sleep(0.02)
    print(f"rounds with a benchmark backend: {rounds}")
    for key, count in seen.most_common(25):
        print(count, *key, sep="  ")


if __name__ == "__main__":
    main()
