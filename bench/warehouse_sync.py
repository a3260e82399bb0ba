"""Warehouse sync at size: rows/s from a DuckDB warehouse into SQLite and PostgreSQL, first sync and
re-sync (every row unchanged), next to the file import of the same rows.

The demo dataset's CSV files are loaded into DuckDB tables (``read_csv_auto``), and the sync reads
them with ``SELECT * FROM kind``: the figures are the sync's cost (streaming rows out of a
warehouse driver, turning them into records, the import's checks and merge), all kinds in one
transaction as ``retention-bot sync`` runs them.

    python bench/warehouse_sync.py [--accounts 5000] [--usage-days 30] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from bench.common import drop_postgres, fresh_postgres, fresh_sqlite, machine
from services import sync as sync_mod
from services.policies import SyncConfig
from storage.db import Database
from storage.demo import DemoConfig, DemoData, write_files
from storage.importer import import_file
from storage.workspaces import ensure_workspace

AS_OF = dt.date(2026, 11, 23)
KINDS = ("people", "accounts", "revenue", "usage", "tickets")


def warehouse(workdir: Path, accounts: int, usage_days: int) -> tuple[str, dict[str, Path]]:
    out = workdir / f"sync-{accounts}-{usage_days}"
    cfg = DemoConfig(accounts=accounts, months=24, seed=7, as_of=AS_OF, usage_days=usage_days)
    paths = write_files(DemoData(cfg), out)
    url = f"duckdb:///{out / 'warehouse.duckdb'}"
    (out / "warehouse.duckdb").unlink(missing_ok=True)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        for kind in KINDS:
            source = f"read_csv_auto('{paths[kind]}', header=true)"
            conn.exec_driver_sql(f"CREATE TABLE {kind} AS SELECT * FROM {source}")  # noqa: S608
    engine.dispose()
    return url, paths


def run(label: str, url: str, wh_url: str, paths: dict[str, Path]) -> None:
    cfg = SyncConfig(url=wh_url, queries={k: f"SELECT * FROM {k}" for k in KINDS})  # noqa: S608
    for attempt in ("first sync", "re-sync"):
        db = Database(url)
        db.upgrade()
        now = dt.datetime.combine(AS_OF, dt.time(12), dt.UTC)
        with db.write() as s:
            ws = ensure_workspace(s, "bench", now=now)
        started = time.perf_counter()
        report = sync_mod.sync(db, ws, cfg)
        took = time.perf_counter() - started
        per_kind = ", ".join(f"{r.kind} {r.total:,}" for r in report.results)
        print(
            f"  {label:<10} {attempt:<10} {report.rows:>9,} rows in {took:6.1f} s "
            f"= {report.rows / took:>8,.0f} rows/s ({per_kind})"
        )
        db.dispose()
    # The same rows from the CSV files, each kind its own import (as `retention-bot import` runs).
    db = Database(url)
    with db.write() as s:
        ws = ensure_workspace(s, "bench-files", now=now)
    started, rows = time.perf_counter(), 0
    for kind in KINDS:
        with db.write() as s:
            rows += import_file(s, ws, kind, paths[kind]).total
    took = time.perf_counter() - started
    print(
        f"  {label:<10} {'files':<10} {rows:>9,} rows in {took:6.1f} s "
        f"= {rows / took:>8,.0f} rows/s (the same rows imported from the files, a kind at a time)"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--usage-days", type=int, default=30)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rb-bench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"warehouse sync: {args.accounts:,} accounts, {args.usage_days} usage days; {machine()}")
    wh_url, paths = warehouse(args.workdir, args.accounts, args.usage_days)
    if args.db in ("sqlite", "both"):
        run("sqlite", fresh_sqlite(args.workdir, "sync"), wh_url, paths)
    if args.db in ("postgresql", "both"):
        url = fresh_postgres("sync")
        if url:
            try:
                run("postgresql", url, wh_url, paths)
            finally:
                drop_postgres(url)


if __name__ == "__main__":
    main()
