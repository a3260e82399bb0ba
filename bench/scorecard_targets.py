"""The month scorecard with targets and the new KPIs, against the same command without them, on SQLite
and PostgreSQL.

Goals (issue 13): the month scorecard with targets and the new KPIs ≤ 1 s at 50,000 accounts × 24
months, and within 1.3× of the same scorecard without them, measured in the same run. "Without them" is
the scorecard as it was before issue 13: the same ``build_scorecard`` call with the shared-goals step
(``services.scorecard._with_goals``: owners, the targets in force, status, good, sample) and the new
lifecycle KPIs (``services.lifecycle.lifecycle_values``: onboarding time, first value on time, the
three stage conversions, churn risk coverage — for the period and the one before) replaced by nothing,
so the difference is exactly their cost.

The dataset is loaded through the real demo-data path (which also sets the demo targets); on top of
it the bench records a long target history (``--changes``, default 2,000: years of weekly edits) and
policy-file targets for every KPI, so the targets step reads a realistic history.

    python bench/scorecard_targets.py [--accounts 10000] [--months 24] [--changes 2000]
    python bench/scorecard_targets.py --accounts 50000      # the issue's size (loading takes minutes)
    python bench/scorecard_targets.py --sqlite COPY.db      # an already loaded dataset (it is written to)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop_postgres, fresh_postgres, machine
from bench.scorecard_health import AS_OF, load
from services import scorecard as scorecard_module
from services.goals import targets_in
from services.lifecycle import STEP_KEYS
from services.policies import KpiGoal, Policies
from services.scorecard import KPIS, build_scorecard
from storage import targets as store
from storage.db import Database
from storage.models import Account
from storage.periods import PERIOD_KINDS, Period
from storage.workspaces import find_workspace

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
# The KPIs issue 13 added (services/lifecycle.py): left out of the scorecard "without them".
NEW_KPIS = ("onboarding_time_days", "first_value_on_time", *STEP_KEYS.values(), "churn_risk_coverage")
GOAL_SECONDS, GOAL_RATIO = 1.0, 1.3


def policies() -> Policies:
    """Policy-file targets for every KPI and period kind, and one segment's own."""
    kpis = {
        key: KpiGoal(
            targets=dict.fromkeys(PERIOD_KINDS, Decimal("0.5") if unit == "ratio" else Decimal("100"))
        )
        for key, (_, unit, _) in KPIS.items()
    }
    kpis["nrr"] = KpiGoal(
        targets={"quarter": Decimal("1.1")}, segments={"enterprise": {"quarter": Decimal("1.2")}}
    )
    return Policies(kpis=kpis)


def add_history(db: Database, ws: int, changes: int) -> None:
    """``changes`` target changes spread over two years before NOW, cycling over KPIs and kinds."""
    keys = [(k, kind) for k in KPIS for kind in PERIOD_KINDS]
    start = NOW - dt.timedelta(days=730)
    with db.write() as session:
        for i in range(changes):
            kpi, kind = keys[i % len(keys)]
            at = start + dt.timedelta(minutes=i * (730 * 24 * 60 // max(changes, 1)))
            value = None if i % 7 == 6 else Decimal(50 + i % 50) / 100
            store.record(session, ws, (kpi, kind, None), "set", value, by=f"U{i % 13:04d}", at=at)


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def measure(label: str, url: str, changes: int, repeat: int) -> None:
    db = Database(url)
    with db.read() as s:
        ws = find_workspace(s, "bench")
    assert ws is not None
    with db.read() as s:
        recorded = len(store.history(s, ws, limit=1_000_000))
    if recorded < changes:
        add_history(db, ws, changes - recorded)
    pol = policies()

    def card() -> None:
        with db.read() as s:
            build_scorecard(s, ws, as_of=AS_OF, period_kind="month", policies=pol)

    with_goals, with_lifecycle = scorecard_module._with_goals, scorecard_module.lifecycle_values
    old_kpis = {key: kpi for key, kpi in KPIS.items() if key not in NEW_KPIS}
    assert len(old_kpis) == len(KPIS) - len(NEW_KPIS)

    def without_goals(session, ws, kpis, *rest):  # type: ignore[no-untyped-def]
        return kpis

    def without_lifecycle(session, ws, periods, segment):  # type: ignore[no-untyped-def]
        return [{} for _ in periods]

    def card_without() -> None:
        scorecard_module._with_goals = without_goals  # type: ignore[assignment]
        scorecard_module.lifecycle_values = without_lifecycle
        scorecard_module.KPIS = old_kpis
        try:
            card()
        finally:
            scorecard_module._with_goals = with_goals
            scorecard_module.lifecycle_values = with_lifecycle
            scorecard_module.KPIS = KPIS

    card()  # warm the caches once
    card_without()
    # Alternated run by run (A B A B …) so a neighbour's load on the shared machine hits both alike.
    base: list[float] = []
    goal: list[float] = []
    for _ in range(repeat):
        base += timed(card_without, 1)
        goal += timed(card, 1)
    b, g = statistics.median(base), statistics.median(goal)
    for name, runs, mid in (
        ("without targets and new KPIs", base, b),
        ("with targets and new KPIs   ", goal, g),
    ):
        print(
            f"  {label:<10} month scorecard {name}: median {mid * 1000:6.0f} ms, "
            f"min {min(runs) * 1000:6.0f} ms, max {max(runs) * 1000:6.0f} ms"
        )
    ratio = g / b
    print(
        f"  {label:<10} with ÷ without: {ratio:.2f}× by the medians, {min(goal) / min(base):.2f}× by the "
        f"minimums ({repeat} runs each, alternated; {max(recorded, changes):,} target changes in the history)"
    )
    print(
        f"  {label:<10} goals: with ≤ {GOAL_SECONDS:.0f} s: {'met' if g <= GOAL_SECONDS else 'MISSED'} "
        f"({g * 1000:.0f} ms); ≤ {GOAL_RATIO}× without: {'met' if ratio <= GOAL_RATIO else 'MISSED'} "
        f"({ratio:.2f}×); load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )

    def lifecycle_alone() -> None:
        with db.read() as s:
            period = Period.latest("month", AS_OF)
            with_lifecycle(s, ws, [period, period.previous()], None)

    alone = timed(lifecycle_alone, repeat)
    print(
        f"  {label:<10} the new KPIs alone (both periods): median {statistics.median(alone) * 1000:6.1f} ms"
    )

    def in_force() -> None:
        with db.read() as s:
            targets_in(s, ws, NOW, pol)

    alone = timed(in_force, repeat)
    print(f"  {label:<10} the targets in force alone: median {statistics.median(alone) * 1000:6.1f} ms")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--changes", type=int, default=2_000, help="target changes in the history")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rb-bench-targets"))
    parser.add_argument(
        "--sqlite", type=Path, help="an already loaded SQLite dataset (a copy: it is written to)"
    )
    parser.add_argument("--pg-prefix", default="targets", help="the PostgreSQL database's name prefix")
    parser.add_argument("--postgres", help="an already loaded PostgreSQL dataset's URL (it is written to)")
    parser.add_argument(
        "--vacuum",
        action="store_true",
        help="VACUUM ANALYZE PostgreSQL before measuring, as autovacuum would (test servers run without it)",
    )
    parser.add_argument("--keep-postgres", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"scorecard targets bench: {args.accounts:,} accounts × {args.months} months; {machine()}")
    if not args.skip_sqlite:
        sqlite_path = args.sqlite or args.workdir / f"targets-{args.accounts}-{args.months}.db"
        url = f"sqlite:///{sqlite_path}"
        if not sqlite_path.exists():
            print(f"  loading SQLite dataset ({sqlite_path}) … {load(url, args.accounts, args.months):.0f} s")
        else:
            print(f"  SQLite dataset {sqlite_path}: {accounts_in(url):,} accounts")
        measure("SQLite", url, args.changes, args.repeat)
    if args.postgres:
        print(f"  PostgreSQL dataset: {accounts_in(args.postgres):,} accounts")
        if args.vacuum:
            vacuum(args.postgres)
        measure("PostgreSQL", args.postgres, args.changes, args.repeat)
    pg = None if args.skip_postgres or args.postgres else fresh_postgres(args.pg_prefix)
    if pg:
        print(f"  loading PostgreSQL dataset … {load(pg, args.accounts, args.months):.0f} s")
        if args.vacuum:
            vacuum(pg)
        measure("PostgreSQL", pg, args.changes, args.repeat)
        if not args.keep_postgres:
            drop_postgres(pg)
    print(
        f"  goals: month scorecard with targets and the new KPIs <= {GOAL_SECONDS:.0f} s, "
        f"and <= {GOAL_RATIO}x the same scorecard without them"
    )


def vacuum(url: str) -> None:
    """What autovacuum does soon after a load (visibility maps: index-only scans), on a server without it."""
    db = Database(url)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    db.dispose()
    print("  PostgreSQL: VACUUM ANALYZE done (as autovacuum would have)")


def accounts_in(url: str) -> int:
    db = Database(url)
    with db.read() as s:
        n = int(s.scalar(select(func.count()).select_from(Account)) or 0)
    db.dispose()
    return n


if __name__ == "__main__":
    main()
