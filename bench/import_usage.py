"""Import 1,000,000 demo usage rows: rows/s and peak memory, on SQLite and PostgreSQL, next to a plain
``sqlite3`` executemany of the same rows (the floor: parsing and inserting, with no validation,
references, duplicate checks or counts).

Goal (issue 2): ≥ 100,000 rows/s on SQLite, peak memory < 300 MB.

    python bench/import_usage.py [--rows 1000000] [--workdir /tmp/rb-bench]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import itertools
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop_postgres, fresh_postgres, fresh_sqlite, machine, run_child
from storage.demo import DemoConfig, DemoData

AS_OF = dt.date(2026, 11, 23)


def make_files(workdir: Path, rows: int) -> tuple[Path, Path]:
    # ~80 % of demo accounts are paying at the as-of date and get usage_days rows each.
    days = 60
    accounts = int(rows / days / 0.78) + 1
    data = DemoData(DemoConfig(accounts=accounts, months=3, seed=1, as_of=AS_OF, usage_days=days))
    accounts_csv = workdir / "accounts.csv"
    usage_csv = workdir / f"usage-{rows}.csv"
    if not usage_csv.exists():
        with accounts_csv.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["external_id", "name", "segment"])
            for a in data.records("accounts"):
                w.writerow([a["external_id"], a["name"], a["segment"]])
        with usage_csv.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["account", "day", "active_users", "licensed_seats"])
            got = 0
            for rec in itertools.islice(data.records("usage"), rows):
                w.writerow(
                    [rec["account"], rec["day"].isoformat(), rec["active_users"], rec["licensed_seats"]]
                )
                got += 1
        if got < rows:
            raise SystemExit(f"only {got} usage rows generated; raise the account count")
    return accounts_csv, usage_csv


IMPORT = """
import time
from storage.db import Database
from storage.importer import import_file
from storage.workspaces import ensure_workspace
import datetime as dt, os, pathlib
db = Database(os.environ["DATABASE_URL"])
db.upgrade()
now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
with db.write() as s:
    ws = ensure_workspace(s, "bench", now=now)
    import_file(s, ws, "accounts", pathlib.Path(os.environ["ACCOUNTS"]))
t = time.perf_counter()
with db.write() as s:
    r = import_file(s, ws, "usage", pathlib.Path(os.environ["USAGE"]))
first = time.perf_counter() - t
t = time.perf_counter()
with db.write() as s:
    again = import_file(s, ws, "usage", pathlib.Path(os.environ["USAGE"]))
second = time.perf_counter() - t
result = {"rows": r.total, "inserted": r.inserted, "seconds": first, "again_unchanged": again.unchanged,
          "again_seconds": second}
"""


def sqlite_floor(usage_csv: Path, workdir: Path) -> tuple[int, float]:
    path = workdir / "floor.db"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE usage (account TEXT, day TEXT, active_users INTEGER, licensed_seats INTEGER,"
        " UNIQUE (account, day))"
    )
    started = time.perf_counter()
    with usage_csv.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        n = 0
        while batch := list(itertools.islice(reader, 10_000)):
            conn.executemany("INSERT INTO usage VALUES (?, ?, ?, ?)", batch)
            n += len(batch)
    conn.commit()
    took = time.perf_counter() - started
    conn.close()
    return n, took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rb-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"import bench: {args.rows:,} usage rows; {machine()}")
    accounts_csv, usage_csv = make_files(args.workdir, args.rows)
    size_mb = usage_csv.stat().st_size / 1e6
    print(f"  file: {usage_csv} ({size_mb:.0f} MB)")

    n, took = sqlite_floor(usage_csv, args.workdir)
    print(f"  floor, plain sqlite3 executemany : {n / took:>10,.0f} rows/s ({took:.1f} s)")

    targets = [("SQLite", fresh_sqlite(args.workdir, "import"), None)]
    pg = fresh_postgres("import")
    if pg:
        targets.append(("PostgreSQL", pg, pg))
    for label, url, cleanup in targets:
        r = run_child(IMPORT, DATABASE_URL=url, ACCOUNTS=str(accounts_csv), USAGE=str(usage_csv))
        print(
            f"  retention-bot import, {label:<10}: {r['rows'] / r['seconds']:>10,.0f} rows/s "
            f"({r['seconds']:.1f} s), "
            f"peak memory {r['peak_rss_mb']:.0f} MB; re-import (all unchanged: {r['again_unchanged']:,}) "
            f"{r['rows'] / r['again_seconds']:,.0f} rows/s"
        )
        if cleanup:
            drop_postgres(cleanup)
    print("  goal: >= 100,000 rows/s on SQLite, peak memory < 300 MB")


if __name__ == "__main__":
    main()
