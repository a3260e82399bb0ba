"""The running totals kept on usage rows (storage/usage_rollup.py) equal a recount of the rows after
every way usage is written — a file import, a re-import of a day with a new value, ingest's strict
JSON records, a migration of rows written before them — and usage_drop reads them right."""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select, text

from storage import models as m
from storage import play_triggers
from storage.db import Database
from storage.importer import import_records
from testkit.pg import create_database, drop_database
from tests.support.helpers import at_once, database_at, load

D = dt.date(2026, 11, 30)
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def kept_and_recounted(db: Database, ws: int) -> tuple[dict, dict]:
    """(stored totals, totals recounted from the rows) per (account, day)."""
    with db.read() as s:
        rows = s.execute(
            select(
                m.UsageDaily.account_id,
                m.UsageDaily.day,
                m.UsageDaily.active_users,
                m.UsageDaily.rows_upto,
                m.UsageDaily.users_upto,
            )
            .where(m.UsageDaily.workspace_id == ws)
            .order_by(m.UsageDaily.account_id, m.UsageDaily.day)
        ).all()
    kept = {(a, d): (int(n), int(u)) for a, d, _, n, u in rows}
    recount: dict = {}
    run: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for a, d, users, _, _ in rows:
        n, total = run[a]
        run[a] = recount[(a, d)] = (n + 1, total + users)
    return kept, recount


def usage_csv(rows: list[tuple[str, dt.date, int]]) -> str:
    return "account,day,active_users\n" + "".join(f"{a},{d.isoformat()},{u}\n" for a, d, u in rows)


@pytest.fixture
def accounts(db: Database, ws: int, tmp_path: Path) -> None:
    load(db, ws, "accounts", "external_id,name,segment\nA1,Acme,smb\nB2,Beta,smb\nC3,Gamma,smb\n", tmp_path)


def test_import_and_reimport_keep_the_totals(db: Database, ws: int, tmp_path: Path, accounts: None) -> None:
    days = [D - dt.timedelta(days=k) for k in range(20, -1, -1)]
    rows = [("A1", d, 10 + i) for i, d in enumerate(days) if i % 5 != 2]  # gaps
    rows += [("B2", d, 7) for d in days]
    load(db, ws, "usage", usage_csv(rows), tmp_path)
    kept, recount = kept_and_recounted(db, ws)
    assert kept == recount and len(kept) == len(rows)
    assert max(kept.values()) == (21, 147)  # B2's last day: 21 rows of 7

    # A day in the middle re-imported with a new value, a day filled into a gap, a new last day:
    # every later day of those accounts moves, the other account's do not.
    before = kept
    load(
        db,
        ws,
        "usage",
        usage_csv(
            [("A1", days[5], 500), ("A1", days[2], 3), ("C3", D, 4), ("B2", D + dt.timedelta(days=1), 1)]
        ),
        tmp_path,
    )
    kept, recount = kept_and_recounted(db, ws)
    assert kept == recount
    with db.read() as s:
        a1 = s.scalar(select(m.Account.id).where(m.Account.workspace_id == ws, m.Account.external_id == "A1"))
    assert kept[(a1, D)][1] - before[(a1, D)][1] == (500 - 15) + 3  # the new value and the filled gap
    assert kept[(a1, D)][0] - before[(a1, D)][0] == 1


def test_ingest_records_keep_the_totals(db: Database, ws: int, accounts: None) -> None:
    """bot/ingest.py's path: strict JSON records through import_records, one batch after another."""
    for batch in (
        [
            {"account": "A1", "day": (D - dt.timedelta(days=k)).isoformat(), "active_users": k}
            for k in range(5)
        ],
        [{"account": "A1", "day": (D - dt.timedelta(days=2)).isoformat(), "active_users": 40}],
        [{"account": "A1", "day": (D - dt.timedelta(days=9)).isoformat(), "active_users": 6}],
    ):
        with db.write() as s:
            import_records(s, ws, "usage", [(i, r, None) for i, r in enumerate(batch, 1)], strict=True)
        kept, recount = kept_and_recounted(db, ws)
        assert kept == recount
    assert max(kept.values()) == (6, 0 + 1 + 40 + 3 + 4 + 6)


def test_usage_drop_follows_a_reimported_day(db: Database, ws: int, tmp_path: Path, accounts: None) -> None:
    """A baseline of 100 and a window of 60: it fires; the window's first day re-imported at 80 (more
    than 70 % of the baseline): it does not."""
    w0 = D - dt.timedelta(days=13)
    rows = [("A1", w0 - dt.timedelta(days=k), 100) for k in range(1, 31)]
    rows += [("A1", w0 + dt.timedelta(days=k), 60) for k in range(14)]
    load(db, ws, "usage", usage_csv(rows), tmp_path)

    def fired() -> list[play_triggers.Fired]:
        with db.read() as s:
            return play_triggers.usage_drop(
                s, ws, D, [], pct=30, window_days=14, baseline_days=90, min_baseline_days=30
            )

    got = fired()
    assert [f.values["window_peak"] for f in got] == [60]
    assert got[0].values["baseline_mean"] == 100 and got[0].values["window_mean"] == 60
    load(db, ws, "usage", usage_csv([("A1", w0 + dt.timedelta(days=3), 80)]), tmp_path)
    assert fired() == []
    load(db, ws, "usage", usage_csv([("A1", w0 + dt.timedelta(days=3), 69)]), tmp_path)
    assert [f.values["window_peak"] for f in fired()] == [69]


def test_batches_at_once_for_the_same_accounts_keep_the_totals(db: Database, ws: int, accounts: None) -> None:
    """Four batches, each with other days of the same accounts (interleaved, with new values for days
    another batch also sends), at once: under PostgreSQL's READ COMMITTED each would total the rows
    without the others' unless they take turns."""

    def batch(n: int) -> list[tuple[int, dict, None]]:
        days = [D - dt.timedelta(days=k) for k in range(n, 40, 4)] + [D - dt.timedelta(days=40)]
        recs = [
            {"account": a, "day": d.isoformat(), "active_users": n + k}
            for k, d in enumerate(days)
            for a in ("A1", "B2")
        ]
        return [(i, r, None) for i, r in enumerate(recs, 1)]

    def one(n: int) -> None:
        with db.write() as s:
            import_records(s, ws, "usage", batch(n), strict=True)

    at_once(one, [0, 1, 2, 3])
    kept, recount = kept_and_recounted(db, ws)
    assert kept == recount and len(kept) == 2 * 41


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migration_backfills_rows_written_before_it(dialect: str, tmp_path: Path) -> None:
    if dialect == "sqlite":
        url: str | None = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        try:
            url = create_database(PG_URL, "rb_test_usage")
        except Exception:
            if os.environ.get("CI"):
                raise
            pytest.skip("PostgreSQL is not reachable")
    assert url is not None
    db, ws = database_at(url, "0011")
    try:
        with db.engine.begin() as conn:
            for ext in ("A1", "B2"):
                conn.execute(
                    text(
                        "INSERT INTO accounts (workspace_id, external_id, name, name_key, segment) "
                        "VALUES (:w, :e, :e, :e, 'smb')"
                    ),
                    {"w": ws, "e": ext},
                )
            ids = conn.execute(text("SELECT id FROM accounts ORDER BY external_id")).scalars().all()
            for k in (5, 1, 3, 2):  # out of order, with a gap
                for i, a in enumerate(ids):
                    conn.execute(
                        text(
                            "INSERT INTO usage_daily (workspace_id, account_id, day, active_users) "
                            "VALUES (:w, :a, :d, :u)"
                        ),
                        {"w": ws, "a": a, "d": D - dt.timedelta(days=k), "u": 10 * k + i},
                    )
        db.upgrade()
        kept, recount = kept_and_recounted(db, ws)
        assert kept == recount and len(kept) == 8
        assert kept[(ids[1], D - dt.timedelta(days=1))] == (4, 51 + 31 + 21 + 11)
    finally:
        db.dispose()
        if dialect == "postgresql":
            drop_database(PG_URL, url)
