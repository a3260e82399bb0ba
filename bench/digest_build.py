"""Build the weekly digest for 50,000 accounts (weekly facts + render): median and max of 5 runs.

Goal (issue 4): ≤ 2 s. Uses the dataset bench/scorecard_health.py loads (workspace "bench").

    python bench/digest_build.py [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine
from digests.digest import context, render
from services.digest import weekly
from services.policies import Policies
from storage.db import Database
from storage.workspaces import find_workspace

AS_OF = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:////tmp/rb-bench/scorecard-50000-24.db")
    args = parser.parse_args()
    db = Database(args.database_url)
    db.ensure_schema(auto_upgrade=db.is_sqlite)
    with db.read() as s:
        ws = find_workspace(s, "bench")
    if ws is None:
        raise SystemExit("no workspace 'bench': run bench/scorecard_health.py first")
    runs, blocks = [], 0
    for _ in range(6):
        t = time.perf_counter()
        message = render(context(weekly(db, ws, as_of=AS_OF, now=NOW, policies=Policies())))
        runs.append(time.perf_counter() - t)
        blocks = len(message.blocks)
        assert message.problems == [], message.problems
    runs = runs[1:]  # the first warms the caches
    print(f"digest build bench ({db.dialect}): {machine()}")
    print(
        f"  facts + render: median {statistics.median(runs) * 1000:.0f} ms, max {max(runs) * 1000:.0f} ms "
        f"(5 runs; {blocks} blocks, within Slack's limits)"
    )
    print("  goal: <= 2 s for 50,000 accounts")


if __name__ == "__main__":
    main()
