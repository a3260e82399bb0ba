"""The revenue KPIs against the tool an analyst would reach for (issue 13): NRR, GRR and logo churn for one
month on 50,000 accounts × 24 months, in the project and in DuckDB over the same MRR rows in memory; and
`scorecard --by source`. Both databases.

The project reads the revenue facts kept up to date at import (storage/revenue_facts.py); the scan of every
account's months those facts replaced (storage.metrics.revenue_facts) is timed beside them. DuckDB gets
the MRR rows (account, month, cents) copied into an in-memory table first; only its query is timed.
Goals: the project within 3× of DuckDB; `scorecard --by source` ≤ 2 s.

    python bench/revenue_kpis.py [--accounts 50000] [--months 24] [--workdir /tmp/rb-bench]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import BigInteger, select, text, type_coerce

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, on_both_databases
from services import cuts
from storage import metrics, revenue_facts
from storage.db import Database
from storage.demo import DemoConfig, DemoData
from storage.importer import import_records
from storage.models import Account, MrrSnapshot
from storage.periods import add_months
from storage.workspaces import ensure_workspace, find_workspace

AS_OF = dt.date(2026, 11, 23)
M = dt.date(2026, 10, 1)
RUNS = 15


def load(url: str, accounts: int, months: int) -> float:
    """People, accounts and revenue of the demo dataset through the real importer (facts kept on the way)."""
    started = time.perf_counter()
    db = Database(url)
    db.upgrade()
    data = DemoData(DemoConfig(accounts=accounts, months=months, as_of=AS_OF))
    with db.write() as s:
        ws = ensure_workspace(s, "bench", now=dt.datetime.now(dt.UTC))
    for kind in ("people", "accounts", "revenue"):
        with db.write() as s:
            items = ((i, rec, None) for i, rec in enumerate(data.records(kind), start=2))
            import_records(s, ws, kind, items, source=f"demo {kind}")
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    db.dispose()
    return time.perf_counter() - started


def timed(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    fn()  # warm
    out, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out), result


def three(f: metrics.RevenueFacts) -> tuple[float | None, float | None, float | None]:
    return (
        metrics.share(f.nrr_current, f.nrr_base),
        metrics.share(f.grr_current, f.nrr_base),
        f.logo_churn(f.month),
    )


DUCK_SQL = """
WITH base AS (SELECT account_id, mrr FROM mrr WHERE month = $base AND mrr > 0),
cur AS (SELECT account_id, mrr FROM mrr WHERE month = $m),
prev AS (SELECT account_id FROM mrr WHERE month = $prev AND mrr > 0)
SELECT
  (SELECT sum(coalesce(cur.mrr, 0)) FROM base LEFT JOIN cur USING (account_id))::DOUBLE
    / (SELECT sum(mrr) FROM base),
  (SELECT sum(least(coalesce(cur.mrr, 0), base.mrr)) FROM base LEFT JOIN cur USING (account_id))::DOUBLE
    / (SELECT sum(mrr) FROM base),
  (SELECT count(*) FROM prev LEFT JOIN cur USING (account_id) WHERE coalesce(cur.mrr, 0) = 0)::DOUBLE
    / (SELECT count(*) FROM prev)
"""


def measure(label: str, url: str) -> None:
    db = Database(url)
    with db.read() as s:
        ws = find_workspace(s, "bench")
        assert ws is not None
        snap = MrrSnapshot.__table__
        rows = s.execute(
            select(snap.c.account_id, snap.c.month, type_coerce(snap.c.mrr, BigInteger)).where(
                snap.c.workspace_id == ws
            )
        ).all()
    # The same rows into DuckDB's memory, through a CSV file (no pandas or Arrow needed).
    csv_path = Path(f"/tmp/rb-bench-mrr-{label}.csv")
    with csv_path.open("w", encoding="utf-8") as fh:
        fh.write("account_id,month,mrr\n")
        fh.writelines(f"{a},{mo.isoformat()},{c}\n" for a, mo, c in rows)
    duck = duckdb.connect(":memory:")
    duck.execute(
        "CREATE TABLE mrr AS SELECT * FROM read_csv(?, header = true, "
        "columns = {'account_id': 'BIGINT', 'month': 'DATE', 'mrr': 'BIGINT'})",
        [str(csv_path)],
    )
    csv_path.unlink()
    params = {"m": M, "base": add_months(M, -12), "prev": add_months(M, -1)}
    duck_s, duck_values = timed(lambda: duck.execute(DUCK_SQL, params).fetchone())

    def kept() -> Any:
        with db.read() as s:
            return three(revenue_facts.kpi_facts(s, ws, [M], {M: [M]})[M])

    def kept_segment() -> Any:
        # The scorecard's segment path: M, and the six months before it for CLV's churn rate.
        with db.read() as s:
            return three(revenue_facts.kpi_facts(s, ws, [M], {M: [M]}, "smb")[M])

    def kept_segment_month() -> Any:
        # What DuckDB's query computes: NRR, GRR and logo churn of M alone, for one segment.
        acc = Account.__table__
        smb = select(acc.c.id).where(acc.c.workspace_id == ws, acc.c.segment == "smb")
        with db.read() as s:
            return revenue_facts.month_facts(s, ws, [M], smb)[M]

    def scanned() -> Any:
        with db.read() as s:
            return three(metrics.revenue_facts(s, ws, [M], {M: [M]})[M])

    kept_s, kept_values = timed(kept)
    seg_s, _ = timed(kept_segment)
    seg_month_s, _ = timed(kept_segment_month)
    scan_s, scan_values = timed(scanned, 5)
    by_source_s, report = timed(lambda: cuts.cut(db, ws, by="source", as_of=AS_OF, period="month"), 5)
    assert kept_values == scan_values, (kept_values, scan_values)
    assert all(abs(a - b) < 1e-9 for a, b in zip(kept_values, duck_values, strict=True)), (
        kept_values,
        duck_values,
    )
    nrr, grr, churn = kept_values
    print(
        f"  {label:<10} NRR {nrr:.4f}, GRR {grr:.4f}, logo churn {churn:.4f} for {M:%B %Y} "
        f"({len(rows):,} MRR rows); the same in all three"
    )
    print(
        f"  {label:<10} project, kept facts (whole workspace) : {kept_s * 1000:8.2f} ms  (median of {RUNS})"
    )
    print(f"  {label:<10} project, kept facts (segment smb, M alone): {seg_month_s * 1000:8.2f} ms")
    print(f"  {label:<10} project, kept facts (segment smb, M−6…M) : {seg_s * 1000:8.2f} ms")
    print(f"  {label:<10} project, scan of every account (before): {scan_s * 1000:8.2f} ms  (median of 5)")
    print(
        f"  {label:<10} DuckDB in memory, same MRR rows         : {duck_s * 1000:8.2f} ms  (median of {RUNS})"
    )
    print(
        f"  {label:<10} ratio project ÷ DuckDB, the workspace's month (goal ≤ 3×): {kept_s / duck_s:.2f}×; "
        f"before: {scan_s / duck_s:.1f}× (for information: one segment's month {seg_month_s / duck_s:.2f}× "
        "DuckDB's whole-workspace query)"
    )
    print(
        f"  {label:<10} scorecard --by source: {by_source_s * 1000:8.0f} ms "
        f"({len(report.rows)} rows; goal ≤ 2 s)"
    )
    duck.close()
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rb-bench"))
    parser.add_argument("--keep-postgres", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"revenue KPIs bench: {args.accounts:,} accounts × {args.months} months; {machine()}")
    on_both_databases("revenue", args, load, measure)


if __name__ == "__main__":
    main()
