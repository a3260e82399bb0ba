# ruff: noqa: S608, E501  (SQL built from constants in this file; long SQL lines read better whole)
"""A plays benchmark dataset generated inside the database: 50,000 accounts × 24 months of revenue,
about 1.4 M usage rows, two days of health snapshots, tickets, NPS, touchpoints, milestones, risk
flags and a quarter of play history — in minutes instead of the demo importer's half hour or more on
a shared machine.

Every value is integer arithmetic on the account number over three small helper tables (numbers,
days, months; filled from Python, so each database stores its own date format), so the SQL is the
same on SQLite and PostgreSQL and so is the data. Every 29th account carries one fresh signal (usage
drop, ticket spike, first value, seats full, detractor), as the demo does, so every trigger fires.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, DateTime, Integer, MetaData, Table, text

from storage import usage_rollup
from storage.db import Database
from storage.periods import add_months
from storage.workspaces import ensure_workspace

USAGE_DAYS = 34  # usage rows per paying account: ~1.46 M at 50,000 accounts; 20 baseline days


def build(url: str, accounts: int, months: int, as_of: dt.date) -> None:
    """Load the dataset into an empty database at ``url`` (migrated here)."""
    db = Database(url)
    db.upgrade()
    meta = MetaData()
    nums = Table("bench_nums", meta, Column("i", Integer, primary_key=True))
    days = Table(
        "bench_days",
        meta,
        Column("k", Integer, primary_key=True),
        Column("day", Date),
        Column("at", DateTime),
    )
    mons = Table("bench_months", meta, Column("k", Integer, primary_key=True), Column("month", Date))
    meta.drop_all(db.engine)
    meta.create_all(db.engine)
    now = dt.datetime.combine(as_of, dt.time(6), tzinfo=dt.UTC)
    json_empty = "CAST('{}' AS JSON)" if not db.is_sqlite else "'{}'"
    first_month = add_months(as_of.replace(day=1), -(months - 1))
    with db.write() as s:
        ws = ensure_workspace(s, "bench", now=now)
        s.execute(nums.insert(), [{"i": i} for i in range(1, accounts + 1)])
        s.execute(
            days.insert(),
            [
                {
                    "k": k,
                    "day": as_of + dt.timedelta(days=k),
                    "at": dt.datetime.combine(as_of + dt.timedelta(days=k), dt.time(12)),
                }
                for k in range(-800, 400)
            ],
        )
        s.execute(mons.insert(), [{"k": k, "month": add_months(first_month, k)} for k in range(months)])
        p = {"ws": ws, "n": accounts, "last": months - 1}

        def run(sql: str) -> None:
            s.execute(text(sql), p)

        def day(expr: str) -> str:
            return f"(SELECT day FROM bench_days WHERE k = {expr})"

        def at(expr: str) -> str:
            return f"(SELECT at FROM bench_days WHERE k = {expr})"

        # people: p0 the CEO; p1 heads cs, p2..p41 CSMs; p42 heads sales, p43..p82 AEs; p83 heads support
        run(
            "INSERT INTO people (workspace_id, email, name, team, timezone) "
            "SELECT :ws, 'p' || i || '@bench.example', 'Person ' || i, "
            "CASE WHEN i = 1 THEN 'leadership' WHEN i <= 42 THEN 'cs' WHEN i <= 83 THEN 'sales' ELSE 'support' END, "
            "'UTC' FROM bench_nums WHERE i <= 104"
        )
        run(
            "UPDATE people SET manager_id = (SELECT h.id FROM people h WHERE h.workspace_id = :ws AND h.email = "
            "CASE people.team WHEN 'cs' THEN 'p2@bench.example' WHEN 'sales' THEN 'p43@bench.example' "
            "ELSE 'p84@bench.example' END) WHERE workspace_id = :ws AND team != 'leadership' "
            "AND email NOT IN ('p2@bench.example', 'p43@bench.example', 'p84@bench.example')"
        )

        def person(n: str) -> str:
            return f"(SELECT id FROM people WHERE workspace_id = :ws AND email = 'p' || ({n}) || '@bench.example')"

        run(
            "INSERT INTO accounts (workspace_id, external_id, name, name_key, segment, stage, closed_won_on, "
            "renewal_on, csm_id, ae_id, support_lead_id, exec_sponsor_id) "
            "SELECT :ws, 'ACC-' || i, 'Account ' || i, 'account ' || i, "
            "CASE WHEN i % 10 < 2 THEN 'enterprise' WHEN i % 10 < 5 THEN 'mid-market' ELSE 'smb' END, "
            "CASE WHEN i % 50 = 0 THEN 'churned' END, "
            f"{day('-(100 + i % 700)')}, {day('1 + i % 365')}, "
            f"CASE WHEN i % 17 = 0 THEN NULL ELSE {person('3 + i % 39')} END, {person('44 + i % 39')}, "
            f"CASE WHEN i % 3 = 0 THEN NULL ELSE {person('85 + i % 19')} END, "
            f"CASE WHEN i % 10 < 2 THEN {person('1')} END "
            "FROM bench_nums"
        )
        # revenue: paying unless i % 7 = 0 (those stop paying 3 months before the end); some grow
        run(
            "INSERT INTO mrr_snapshots (workspace_id, account_id, month, mrr) "
            "SELECT :ws, a.id, m.month, CASE WHEN n.i % 7 = 0 AND m.k > :last - 3 THEN 0 "
            "ELSE (100 + (n.i % 50) * 20 + CASE WHEN n.i % 5 = 0 THEN m.k * 10 ELSE 0 END) * 100 END "
            "FROM bench_nums n JOIN accounts a ON a.workspace_id = :ws AND a.external_id = 'ACC-' || n.i "
            "CROSS JOIN bench_months m"
        )
        # usage: paying accounts, the last USAGE_DAYS days; seats 10 + i % 90
        run(
            "INSERT INTO usage_daily (workspace_id, account_id, day, active_users, licensed_seats) "
            "SELECT :ws, a.id, d.day, "
            "CASE WHEN n.i % 29 = 3 AND d.k > -14 THEN (10 + n.i % 90) * (20 + (n.i + d.k * 7) % 20) / 100 * 3 / 10 "
            "WHEN n.i % 29 = 13 AND d.k > -7 THEN (10 + n.i % 90) * 95 / 100 + 1 "
            "ELSE (10 + n.i % 90) * (20 + (n.i * 3 + d.k * 7) % 50) / 100 END, "
            "10 + n.i % 90 "
            "FROM bench_nums n JOIN accounts a ON a.workspace_id = :ws AND a.external_id = 'ACC-' || n.i "
            f"CROSS JOIN bench_days d WHERE n.i % 7 != 0 AND d.k BETWEEN -{USAGE_DAYS - 1} AND 0"
        )
        usage_rollup.refresh(s, ws)  # as every writer of usage rows does (the usage_drop trigger reads it)
        # health: the as-of day and 30 days before
        for k in (0, -30):
            run(
                "INSERT INTO health_snapshots (workspace_id, account_id, day, score, band, components) "
                f"SELECT :ws, a.id, {day(str(k))}, sc, CASE WHEN sc < 40 THEN 'red' WHEN sc >= 70 THEN 'green' "
                f"ELSE 'yellow' END, {json_empty} "
                # 4 % red; 3 % fell 20 points in 30 days; the rest between 40 and 100
                "FROM (SELECT n.i AS i, CASE WHEN n.i % 25 = 0 THEN (n.i * 37) % 40 "
                f"ELSE 40 + (n.i * 37) % 40 + CASE WHEN n.i % 31 = 5 THEN {-k} * 2 / 3 ELSE 0 END "
                "END + 0.5 AS sc FROM bench_nums n) x "
                "JOIN accounts a ON a.workspace_id = :ws AND a.external_id = 'ACC-' || x.i"
            )
        # tickets: three per account over six months; spikes of three high ones for i % 29 = 7
        for t in range(3):
            run(
                "INSERT INTO tickets (workspace_id, external_id, account_id, opened_at, priority) "
                f"SELECT :ws, 'T-' || n.i || '-{t}', a.id, "
                f"CASE WHEN n.i % 29 = 7 THEN {at(f'-(1 + {t} * 3)')} ELSE {at(f'-((n.i * {t + 3} * 13) % 180)')} END, "
                f"CASE WHEN n.i % 29 = 7 THEN 'high' ELSE CASE (n.i + {t}) % 6 WHEN 0 THEN 'urgent' WHEN 1 THEN 'high' "
                "WHEN 2 THEN 'low' ELSE 'normal' END END "
                "FROM bench_nums n JOIN accounts a ON a.workspace_id = :ws AND a.external_id = 'ACC-' || n.i"
            )
        run(
            "INSERT INTO nps_responses (workspace_id, external_id, account_id, responded_at, score) "
            f"SELECT :ws, 'N-' || n.i, a.id, CASE WHEN n.i % 29 = 17 THEN {at('-2')} ELSE {at('-(n.i % 170)')} END, "
            "CASE WHEN n.i % 29 = 17 THEN 3 ELSE (n.i * 7) % 11 END "
            "FROM bench_nums n JOIN accounts a ON a.workspace_id = :ws AND a.external_id = 'ACC-' || n.i"
        )
        for t in range(3):
            run(
                "INSERT INTO touchpoints (workspace_id, external_id, account_id, kind, occurred_at) "
                f"SELECT :ws, 'TP-' || n.i || '-{t}', a.id, "
                f"CASE (n.i + {t}) % 4 WHEN 0 THEN 'ebr' WHEN 1 THEN 'qbr' WHEN 2 THEN 'call' ELSE 'meeting' END, "
                f"{at(f'-((n.i * {t + 5}) % 270)')} "
                "FROM bench_nums n JOIN accounts a ON a.workspace_id = :ws AND a.external_id = 'ACC-' || n.i"
            )
        run(
            "INSERT INTO milestones (workspace_id, account_id, kind, target_on, achieved_on) "
            f"SELECT :ws, a.id, 'first_value', {day('-(n.i % 400)')}, "
            f"CASE WHEN n.i % 29 = 11 THEN {day('-3')} WHEN n.i % 4 = 0 THEN NULL ELSE {day('-(20 + n.i % 380)')} END "
            "FROM bench_nums n JOIN accounts a ON a.workspace_id = :ws AND a.external_id = 'ACC-' || n.i"
        )
        run(
            "INSERT INTO risk_flags (workspace_id, external_id, account_id, flagged_on, reason, outcome, resolved_on) "
            f"SELECT :ws, 'R-' || n.i, a.id, {day('-(5 + n.i % 300)')}, 'bench', "
            "CASE WHEN n.i % 20 < 1 THEN 'open' WHEN n.i % 20 < 2 THEN 'churned' ELSE 'saved' END, "
            f"CASE WHEN n.i % 20 < 1 THEN NULL ELSE {day('-(n.i % 5)')} END "
            "FROM bench_nums n JOIN accounts a ON a.workspace_id = :ws AND a.external_id = 'ACC-' || n.i "
            "WHERE n.i % 10 = 0"
        )
        # play history: a closed play for 40 % of the accounts, opened 60–240 days ago, closed 20 days later
        run(
            "INSERT INTO plays (workspace_id, account_id, play_key, open_key, state, owner_id, owner_role, "
            "opened_at, due_at, closed_at, outcome, source, external_id) "
            "SELECT :ws, a.id, CASE n.i % 3 WHEN 0 THEN 'save_call' WHEN 1 THEN 'health_red' ELSE 'seats_full' END, "
            f"NULL, 'closed', a.csm_id, 'csm', {at('-(60 + n.i % 180)')}, {at('-(58 + n.i % 180)')}, "
            f"{at('-(40 + n.i % 180)')}, "
            "CASE n.i % 4 WHEN 0 THEN 'saved' WHEN 1 THEN 'expanded' WHEN 2 THEN 'churned' ELSE 'no_action' END, "
            "'import', 'CRM-' || n.i "
            "FROM bench_nums n JOIN accounts a ON a.workspace_id = :ws AND a.external_id = 'ACC-' || n.i "
            "WHERE n.i % 5 < 2"
        )
    meta.drop_all(db.engine)
    # PostgreSQL: VACUUM too, as autovacuum leaves a deployment's tables — the usage rows' running
    # totals were written by an UPDATE of every row (one dead version each), and index-only scans
    # need the visibility map a vacuum sets. (Measured, not vacuumed: usage_drop 650 ms instead of 180.)
    if db.is_sqlite:  # (storage.db begins SQLite's transactions itself: ANALYZE must be committed)
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    else:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    db.dispose()
