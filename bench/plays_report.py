"""`plays report` for a quarter at size: 50,000 accounts × 24 months of demo data, with the demo's play
history (CRM save calls for every risk flag, expansion plays before expansions) and a day of
signal-opened plays, on SQLite and PostgreSQL.

Goal (issue 14): the quarter's report (outcomes per play, ARR saved and expanded, churn risk coverage
at the quarter's end and at the as-of date) ≤ 1 s.

    python bench/plays_report.py [--accounts 50000] [--workdir /tmp/rb-bench] [--postgres-url URL]

The SQLite dataset is the one bench/plays_eval.py loads (loaded here if missing); for PostgreSQL pass a
database loaded by ``plays_eval.py --keep-postgres``, or let this script load a fresh one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop_postgres, fresh_postgres, machine
from bench.plays_eval import AS_OF, USAGE_DAYS, bench_policies, load
from services import plays
from storage import models as m
from storage.db import Database
from storage.demo import DemoConfig, DemoData
from storage.importer import import_records
from storage.workspaces import find_workspace


def ensure_history(db: Database, ws: int, accounts: int, months: int) -> None:
    """The demo's imported play history, and the signal plays of the as-of day (as demo-data makes)."""
    with db.read() as s:
        imported = s.scalar(
            select(func.count())
            .select_from(m.Play)
            .where(m.Play.workspace_id == ws, m.Play.source == "import")
        )
    if not imported:
        data = DemoData(DemoConfig(accounts, months, 7, AS_OF, USAGE_DAYS))
        with db.write() as s:
            items = ((i, rec, None) for i, rec in enumerate(data.records("plays"), start=1))
            import_records(s, ws, "plays", items, source="demo plays")
    now = dt.datetime.combine(AS_OF, dt.time(6), tzinfo=dt.UTC)
    plays.evaluate(db, ws, AS_OF, now=now, policies=bench_policies(), notify=plays.no_notify)


def measure(label: str, url: str, accounts: int, months: int) -> None:
    db = Database(url)
    policies = bench_policies()
    with db.read() as s:
        ws = find_workspace(s, "bench")
        assert ws is not None
    ensure_history(db, ws, accounts, months)
    with db.read() as s:
        total = s.scalar(select(func.count()).select_from(m.Play).where(m.Play.workspace_id == ws))
    rep = plays.report(db, ws, "quarter", AS_OF, policies)  # warm
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        rep = plays.report(db, ws, "quarter", AS_OF, policies)
        runs.append(time.perf_counter() - t)
    closed = sum(line.closed for _, line in rep.lines)
    saved = sum(line.arr_saved for _, line in rep.lines)
    expanded = sum(line.arr_expanded for _, line in rep.lines)
    print(
        f"  {label:<10} plays report ({rep.period.label}): median {statistics.median(runs) * 1000:6.0f} ms, "
        f"max {max(runs) * 1000:6.0f} ms (5 runs); {total:,} plays stored, {closed:,} closed in the quarter, "
        f"ARR saved {saved:,.0f}, expanded {expanded:,.0f}; coverage {rep.coverage_now.covered:,}/"
        f"{rep.coverage_now.at_risk:,} at-risk paying accounts"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rb-bench"))
    parser.add_argument(
        "--postgres-url", help="a PostgreSQL database loaded by plays_eval.py --keep-postgres"
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"plays report bench: {args.accounts:,} accounts × {args.months} months; {machine()}")
    if args.only != "postgresql":
        path = args.workdir / f"plays-{args.accounts}-{args.months}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            print(f"  loading SQLite dataset ({path}) … {load(url, args.accounts, args.months):.0f} s")
        measure("SQLite", url, args.accounts, args.months)
    if args.only != "sqlite":
        pg = args.postgres_url
        fresh = pg is None
        if fresh:
            pg = fresh_postgres("plays_report")
            if pg:
                print(f"  loading PostgreSQL dataset … {load(pg, args.accounts, args.months):.0f} s")
        if pg:
            measure("PostgreSQL", pg, args.accounts, args.months)
            if fresh:
                drop_postgres(pg)
    print("  goal: the quarter's plays report <= 1 s")


if __name__ == "__main__":
    main()
