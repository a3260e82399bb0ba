"""Scorecard and account health at size: 50,000 accounts × 24 months of demo data.

Goals (issue 2): the scorecard ≤ 1 s; the health of one account ≤ 20 ms. Both on SQLite and
PostgreSQL. The dataset is loaded once per database through the real demo-data path (importer and
health snapshots) and kept under --workdir for re-runs.

    python bench/scorecard_health.py [--accounts 50000] [--months 24] [--workdir /tmp/rb-bench]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import load_demo_data, machine, on_both_databases
from services.health import account_health
from services.policies import Policies
from services.scorecard import build_scorecard
from storage.db import Database
from storage.lookup import find_account
from storage.models import Account
from storage.workspaces import find_workspace

AS_OF = dt.date(2026, 11, 23)


def load(url: str, accounts: int, months: int) -> float:
    """The demo dataset (35 days of usage) through the real demo-data path, analysed."""
    return load_demo_data(url, accounts, months, AS_OF, "--usage-days", "35")


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def measure(label: str, url: str) -> None:
    db = Database(url)
    policies = Policies()
    with db.read() as s:
        ws = find_workspace(s, "bench")
        assert ws is not None
        ids = s.scalars(select(Account.id).where(Account.workspace_id == ws)).all()
    # The snapshot job covers each period's last day (as the demo does); an as-of date whose days were
    # never snapshotted makes the adoption KPI aggregate 28 days of raw usage instead.
    cases = [(p, AS_OF, "snapshotted days") for p in ("week", "month", "quarter")]
    cases.append(("week", AS_OF - dt.timedelta(days=14), "days not snapshotted: live 28-day usage scan"))
    for period, as_of, note in cases:

        def card(period: str = period, as_of: dt.date = as_of) -> None:
            with db.read() as s:
                build_scorecard(s, ws, as_of=as_of, period_kind=period, policies=policies)  # type: ignore[arg-type]

        card()  # warm the caches once
        runs = timed(card, 5)
        print(
            f"  {label:<10} scorecard ({period:<7}): median {statistics.median(runs) * 1000:7.0f} ms, "
            f"max {max(runs) * 1000:7.0f} ms (5 runs; {note})"
        )
    rng = random.Random(1)
    sample = rng.sample(list(ids), 200)
    health_runs = []
    with db.read() as s:
        for aid in sample:
            t = time.perf_counter()
            account_health(s, ws, aid, AS_OF, policies.health)
            health_runs.append(time.perf_counter() - t)
    q = statistics.quantiles(health_runs, n=100)
    print(
        f"  {label:<10} health of one account  : median {statistics.median(health_runs) * 1000:5.1f} ms, "
        f"p95 {q[94] * 1000:5.1f} ms, p99 {q[98] * 1000:5.1f} ms (200 random accounts)"
    )
    lookups = []
    with db.read() as s:
        for text in (
            "ACC-012345",
            "northwind inc 3",
            "summitpeak",
            "atlasgrid analytics",
            "quantumwave labz",
        ):
            t = time.perf_counter()
            find_account(s, ws, text)
            lookups.append((text, time.perf_counter() - t))
    print(
        f"  {label:<10} account lookup         : " + ", ".join(f"{t!r} {d * 1000:.0f} ms" for t, d in lookups)
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rb-bench"))
    parser.add_argument("--keep-postgres", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"scorecard/health bench: {args.accounts:,} accounts × {args.months} months; {machine()}")
    on_both_databases("scorecard", args, load, measure)
    print("  goals: scorecard <= 1 s; health of one account <= 20 ms")


if __name__ == "__main__":
    main()
