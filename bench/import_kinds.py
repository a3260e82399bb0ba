"""Import every kind at size: rows/s per kind, first import and re-import, on SQLite and PostgreSQL.

The demo dataset (``retention-bot demo-data --out``) is written once under --workdir and imported
file by file, each kind in its own transaction, the way an operator runs ``retention-bot import``.
A plan that goes quadratic on one database (issue 11: handoffs on PostgreSQL) shows as one kind's
rows/s collapsing while the others hold; re-importing the same file (every row unchanged) exercises
the update path of the merge.

    python bench/import_kinds.py [--accounts 50000] [--db sqlite|postgresql|both] [--kinds handoffs,wins]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop_postgres, fresh_postgres, fresh_sqlite, machine
from storage.db import Database
from storage.demo import KIND_ORDER, DemoConfig, DemoData, write_files
from storage.importer import import_file
from storage.workspaces import ensure_workspace

AS_OF = dt.date(2026, 11, 23)
PREREQUISITES = ("people", "accounts")  # every other kind names accounts and people


def dataset(workdir: Path, accounts: int, months: int, usage_days: int) -> dict[str, Path]:
    """The demo files for this size, written on the first run and reused after."""
    out = workdir / f"kinds-{accounts}-{months}-{usage_days}"
    done = out / ".complete"
    paths = {kind: out / f"{kind}.{'jsonl' if kind == 'wins' else 'csv'}" for kind in KIND_ORDER}
    if not done.exists():
        started = time.perf_counter()
        cfg = DemoConfig(accounts=accounts, months=months, seed=7, as_of=AS_OF, usage_days=usage_days)
        paths = write_files(DemoData(cfg), out)
        done.touch()
        print(f"  wrote the demo files to {out} in {time.perf_counter() - started:.0f} s")
    return paths


def run(label: str, url: str, paths: dict[str, Path], kinds: list[str]) -> None:
    db = Database(url)
    db.upgrade()
    now = dt.datetime.combine(AS_OF, dt.time(12), dt.UTC)
    with db.write() as s:
        ws = ensure_workspace(s, "bench", now=now)
    for kind in kinds:
        timings = []
        for _ in range(2):  # the first import inserts; the second finds every row unchanged
            started = time.perf_counter()
            with db.write() as s:
                result = import_file(s, ws, kind, paths[kind])
            timings.append((result, time.perf_counter() - started))
        (first, t1), (again, t2) = timings
        print(
            f"  {label:<10} {kind:<11} {first.total:>9,} rows: import {first.total / t1:>9,.0f} rows/s "
            f"({t1:6.1f} s, {first.inserted:,} inserted); re-import {again.total / t2:>9,.0f} rows/s "
            f"({t2:6.1f} s, {again.unchanged:,} unchanged)",
            flush=True,
        )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--usage-days", type=int, default=35)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--kinds",
        help="comma-separated kinds to time (default: all); people and accounts are always imported first",
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rb-bench"))
    args = parser.parse_args()
    chosen = args.kinds.split(",") if args.kinds else list(KIND_ORDER)
    unknown = sorted(set(chosen) - set(KIND_ORDER))
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)} (known: {', '.join(KIND_ORDER)})")
    kinds = [k for k in KIND_ORDER if k in chosen or k in PREREQUISITES]
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"import bench: every kind at {args.accounts:,} accounts × {args.months} months, "
        f"{args.usage_days} usage days; {machine()}"
    )
    paths = dataset(args.workdir, args.accounts, args.months, args.usage_days)
    if args.db in ("sqlite", "both"):
        run("SQLite", fresh_sqlite(args.workdir, "import-kinds"), paths, kinds)
    if args.db in ("postgresql", "both"):
        pg = fresh_postgres("kinds")
        if pg:
            try:
                run("PostgreSQL", pg, paths, kinds)
            finally:
                drop_postgres(pg)


if __name__ == "__main__":
    main()
