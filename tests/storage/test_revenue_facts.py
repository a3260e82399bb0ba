"""The revenue facts kept at import (storage/revenue_facts.py) give exactly what the scan of every
account's months gives (storage.metrics.revenue_facts), and stay right after a re-import changes a month."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import metrics, revenue_facts
from storage.db import Database
from storage.models import Account, MrrMovement, RevenueMonth
from storage.periods import add_months
from tests.storage.test_metrics import dataset  # noqa: F401  (the hand-computed metrics dataset)
from tests.support.helpers import database_at, load

OCT = dt.date(2026, 10, 1)


def both(db: Database, ws: int, segment: str | None = None) -> tuple[object, object]:
    months = [add_months(OCT, -k) for k in range(0, 14)]
    flows = {mo: [mo, add_months(mo, -1), add_months(mo, -2)] for mo in months}
    with db.read() as s:
        return (
            metrics.revenue_facts(s, ws, months, flows, segment),
            revenue_facts.kpi_facts(s, ws, months, flows, segment),
        )


def test_kept_facts_equal_the_scan(dataset: Database, ws: int) -> None:  # noqa: F811
    scanned, kept = both(dataset, ws)
    assert kept == scanned
    scanned_ent, kept_ent = both(dataset, ws, "ent")
    assert kept_ent == scanned_ent
    oct_facts = kept[OCT]  # type: ignore[index]
    # Hand-computed (tests/storage/test_metrics.py): NRR 350/650, GRR 270/650, churn 1 of 5 in October.
    assert (oct_facts.nrr_current, oct_facts.nrr_base, oct_facts.grr_current) == (35_000, 65_000, 27_000)
    assert oct_facts.churn[OCT] == (5, 1)


def test_movements_of_an_account(dataset: Database, ws: int) -> None:  # noqa: F811
    with dataset.read() as s:
        e = s.scalar(select(Account.id).where(Account.workspace_id == ws, Account.external_id == "E"))
        rows = {
            r.month: (r.mrr, r.prev_mrr, r.base_mrr, r.movement)
            for r in s.scalars(select(MrrMovement).where(MrrMovement.account_id == e))
        }
    # E: 50 in Oct and Nov 2025, 0 in Dec, back at 80 from Sep 2026.
    assert rows[dt.date(2025, 10, 1)] == (5_000, 0, 0, "new")
    assert rows[dt.date(2025, 12, 1)] == (0, 5_000, 0, "churn")
    assert dt.date(2026, 1, 1) not in rows  # nothing paid that month, the month before or 12 before
    assert rows[dt.date(2026, 11, 1)] == (0, 8_000, 5_000, "churn")  # a missing month is 0
    assert rows[dt.date(2026, 9, 1)] == (8_000, 0, 0, "reactivation")
    assert rows[dt.date(2026, 10, 1)] == (8_000, 8_000, 5_000, "flat")


def test_facts_stay_right_after_a_reimport_changes_a_month(
    dataset: Database,  # noqa: F811
    ws: int,
    tmp_path: Path,
) -> None:
    # B's October drops to 0 (churn instead of contraction); A gains September 2025, so its first paying
    # month moves earlier: October 2025 is no longer A's "new" month, and A is in September 2026's NRR base.
    load(dataset, ws, "revenue", "account,month,mrr\nB,2026-10,0\nA,2025-09,100\n", tmp_path)
    scanned, kept = both(dataset, ws)
    assert kept == scanned
    oct_facts = kept[OCT]  # type: ignore[index]
    assert (oct_facts.nrr_current, oct_facts.grr_current) == (35_000 - 12_000, 27_000 - 12_000)
    assert oct_facts.churn[OCT] == (5, 2)  # G and now B
    assert oct_facts.contraction[OCT] == 0
    with dataset.read() as s:
        stored = {r.month: r for r in s.scalars(select(RevenueMonth).where(RevenueMonth.workspace_id == ws))}
        # September 2025 now has a payer (A), so A's first month is no longer "new" in October 2025.
        assert stored[dt.date(2025, 9, 1)].paying == 1
        assert stored[dt.date(2025, 10, 1)].new == 3  # B, C, E (A was already paying)
        assert stored[dt.date(2026, 9, 1)].nrr_base == 10_000  # A in September 2025
    # A second, unchanged re-import rewrites nothing.
    with dataset.write() as s:
        assert revenue_facts.refresh(s, ws) == 0


def test_the_migration_backfill_rebuilds_every_fact(dataset: Database, ws: int) -> None:  # noqa: F811
    with dataset.write() as s:
        s.execute(MrrMovement.__table__.delete())
        s.execute(RevenueMonth.__table__.delete())
        assert revenue_facts.refresh(s, ws) > 0
    scanned, kept = both(dataset, ws)
    assert kept == scanned


@pytest.mark.parametrize(
    ("mrr", "prev", "paid_before", "expected"),
    [
        (100, 0, False, "new"),
        (100, 0, True, "reactivation"),
        (150, 100, True, "expansion"),
        (50, 100, True, "contraction"),
        (0, 100, True, "churn"),
        (100, 100, True, "flat"),
        (0, 0, True, "none"),
    ],
)
def test_movement_kinds(mrr: int, prev: int, paid_before: bool, expected: str) -> None:
    assert revenue_facts.movement(mrr, prev, paid_before) == expected


def test_the_upgrade_computes_facts_for_revenue_stored_before_it(tmp_path: Path) -> None:
    from sqlalchemy import text

    db, _ = database_at(f"sqlite:///{tmp_path / 'old.db'}", "0007")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (workspace_id, external_id, name, name_key, segment) "
                "VALUES (1, 'A', 'A', 'a', 'smb')"
            )
        )
        for month, cents in (("2025-10-01", 10_000), ("2026-09-01", 10_000), ("2026-10-01", 15_000)):
            conn.execute(
                text(
                    "INSERT INTO mrr_snapshots (workspace_id, account_id, month, mrr) VALUES (1, 1, :m, :c)"
                ),
                {"m": month, "c": cents},
            )
    db.upgrade()
    with db.read() as s:
        october = s.scalars(select(RevenueMonth).where(RevenueMonth.month == OCT)).one()
        assert (october.nrr_base, october.nrr_current, october.expansion) == (10_000, 15_000, 5_000)
        scanned = metrics.revenue_facts(s, 1, [OCT], {OCT: [OCT]})
        assert revenue_facts.kpi_facts(s, 1, [OCT], {OCT: [OCT]}) == scanned
    db.dispose()


def test_revenue_imports_at_once_keep_the_facts_right(
    dataset: Database,  # noqa: F811
    ws: int,
) -> None:
    """Two revenue imports at once touching the same accounts and months: both land, and the kept facts
    (per account and summed per month) are what the scan gives. Under PostgreSQL's READ COMMITTED,
    refreshes that did not take turns would derive facts without the other's rows, or collide summing
    the same month."""
    from storage.importer import import_records
    from tests.support.helpers import at_once

    batches = {
        "one": [("A", "2026-10", 150), ("B", "2026-09", 90), ("C", "2026-10", 0)],
        "two": [("A", "2026-09", 120), ("B", "2026-10", 95), ("D", "2026-10", 310)],
    }

    def one(name: str) -> None:
        with dataset.write() as s:
            items = (
                (n, {"account": a, "month": mo, "mrr": mrr}, None)
                for n, (a, mo, mrr) in enumerate(batches[name], start=1)
            )
            import_records(s, ws, "revenue", items, source=f"import {name}")

    at_once(one, list(batches))
    scanned, kept = both(dataset, ws)
    assert kept == scanned
    with dataset.write() as s:
        assert revenue_facts.refresh(s, ws) == 0  # nothing left to correct
