"""Rank feedback themes by what is at stake over 200,000 items on 50,000 accounts: median and max of
5 runs (after one warm-up), on SQLite and PostgreSQL. Goal (issue 15): ≤ 1 s.

    python bench/feedback_rank.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop_postgres, fresh_postgres, fresh_sqlite, machine
from bench.feedback_data import NOW, build
from storage import feedback as store
from storage.db import Database


def bench(url: str, label: str) -> None:
    t = time.perf_counter()
    ws = build(url)
    print(f"  {label}: dataset written in {time.perf_counter() - t:.0f} s")
    db = Database(url)
    runs = []
    for variant in ("all", "kind", "segment"):
        runs = []
        for _ in range(6):
            t = time.perf_counter()
            with db.read() as session:
                rows = store.rank(
                    session,
                    ws,
                    now=NOW,
                    kind="request" if variant == "kind" else None,
                    segment="enterprise" if variant == "segment" else None,
                )
            runs.append(time.perf_counter() - t)
        runs = runs[1:]
        print(
            f"  {label} rank ({variant}): median {statistics.median(runs) * 1000:.0f} ms, "
            f"max {max(runs) * 1000:.0f} ms (5 runs; top theme {rows[0].name!r}, "
            f"{rows[0].accounts} accounts, ARR at risk {rows[0].arr_at_risk:,.0f})"
        )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, help="write the SQLite database here and keep it")
    args = parser.parse_args()
    print(f"feedback ranking bench: {machine()}")
    print("  200,000 items, 2,000 themes, 50,000 accounts (10 % with an open risk flag)")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="rb-feedback-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench(fresh_sqlite(workdir, "feedback-rank"), "sqlite")
    url = fresh_postgres("feedback_rank")
    if url is not None:
        try:
            bench(url, "postgresql")
        finally:
            drop_postgres(url)
    print("  goal: <= 1 s")


if __name__ == "__main__":
    main()
