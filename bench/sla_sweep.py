"""The SLA sweep over 1,000,000 open handoffs of which 10,000 are newly breaching: the time to record
every breach once and queue its pings (10,000 DMs to the owners in the delivery ledger; their
managers read them in the daily roll-up, bench/rollups.py), Slack calls excluded. Then a second
sweep (nothing new) and the counts that prove "exactly once".

Goal (issue 5): <= 2 s on SQLite and PostgreSQL.

    python bench/sla_sweep.py [--handoffs 1000000] [--breaching 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text

from bench.common import drop_postgres, fresh_postgres, fresh_sqlite, machine
from bot.settings import build_settings
from digests.sla_pings import sweep_and_queue
from services.policies import Policies, SlaConfig
from storage import models as m
from storage.db import Database
from storage.workspaces import ensure_workspace

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
CONFIG = SlaConfig.model_validate(
    {
        "escalation_channel": "CESC",
        "policies": [
            {"kind": "sales_to_cs", "hours": 8, "escalation": [{"to": "manager", "after_hours": 2}]}
        ],
    }
)
CHUNK = 50_000


def load(db: Database, handoffs: int, breaching: int) -> float:
    started = time.perf_counter()
    with db.write() as s:
        ws = ensure_workspace(s, "bench-sla", now=NOW)
        managers = [
            {
                "workspace_id": ws,
                "email": f"m{i}@x.io",
                "name": f"Manager {i}",
                "team": "cs",
                "slack_user_id": f"UM{i:05d}",
            }
            for i in range(50)
        ]
        s.execute(insert(m.Person), managers)
        mids = list(s.scalars(select(m.Person.id).where(m.Person.workspace_id == ws).order_by(m.Person.id)))
        owners = [
            {
                "workspace_id": ws,
                "email": f"o{i}@x.io",
                "name": f"Owner {i}",
                "team": "cs",
                "slack_user_id": f"UO{i:05d}",
                "manager_id": mids[i % len(mids)],
            }
            for i in range(1000)
        ]
        s.execute(insert(m.Person), owners)
        oids = list(
            s.scalars(
                select(m.Person.id).where(m.Person.workspace_id == ws, m.Person.manager_id.is_not(None))
            )
        )
        s.execute(
            insert(m.Account),
            [
                {
                    "workspace_id": ws,
                    "external_id": f"A{i}",
                    "name": f"Account {i}",
                    "name_key": f"account {i}",
                    "segment": "smb",
                }
                for i in range(10_000)
            ],
        )
        aids = list(
            s.scalars(select(m.Account.id).where(m.Account.workspace_id == ws).order_by(m.Account.id))
        )
    table = m.Handoff.__table__
    for start in range(0, handoffs, CHUNK):
        rows = []
        for i in range(start, min(start + CHUNK, handoffs)):
            if i < breaching:  # warned already; due within the last minute: newly breaching now
                due = NOW - dt.timedelta(seconds=1 + i % 59)
                stage, check = 1, due
            else:  # due in the next days, not even warned yet
                due = NOW + dt.timedelta(hours=3 + i % 200)
                stage, check = 0, due - dt.timedelta(hours=2)
            opened = due - dt.timedelta(hours=8)
            rows.append(
                {
                    "workspace_id": ws,
                    "external_id": f"H{i}",
                    "account_id": aids[i % len(aids)],
                    "kind": "sales_to_cs",
                    "from_team": "sales",
                    "to_team": "cs",
                    "owner_id": oids[i % len(oids)],
                    "opened_at": opened,
                    "due_at": due,
                    "effective_due_at": due,
                    "paused_seconds": 0,
                    "policy_key": "sales_to_cs/*",
                    "warn_at": opened + dt.timedelta(hours=6),
                    "sla_stage": stage,
                    "next_check_at": check,
                }
            )
        with db.write() as s:
            s.connection().execute(insert(table), rows)
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return time.perf_counter() - started


def measure(label: str, make_url: object, handoffs: int, breaching: int, runs: int) -> None:
    times, again = [], []
    for run in range(runs):
        url = make_url(run)  # type: ignore[operator]
        if url is None:
            return
        db = Database(url)
        db.upgrade()
        took = load(db, handoffs, breaching)
        settings = build_settings(DATABASE_URL=url).model_copy(update={"policies": Policies(sla=CONFIG)})
        with db.read() as s:  # warm the connection pool and the statement caches like a running worker
            s.execute(select(func.count()).select_from(m.SlaEvent)).scalar()
        t = time.perf_counter()
        report = sweep_and_queue(
            db, NOW + dt.timedelta(seconds=1), settings.policies.sla, settings.admin_user_ids
        )
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        second = sweep_and_queue(
            db, NOW + dt.timedelta(seconds=2), settings.policies.sla, settings.admin_user_ids
        )
        again.append(time.perf_counter() - t)
        with db.read() as s:
            events = s.scalar(select(func.count()).select_from(m.SlaEvent).where(m.SlaEvent.kind == "breach"))
            pings = s.scalar(select(func.count()).select_from(m.Delivery).where(m.Delivery.kind == "sla"))
            subjects = s.scalar(
                select(func.count(func.distinct(m.Delivery.subject))).where(m.Delivery.kind == "sla")
            )
        print(
            f"  {label:<10} run {run + 1}: loaded in {took:.0f} s; sweep {times[-1]:.2f} s "
            f"({report.checked:,} due of {handoffs:,} open, {report.count('breach'):,} breaches recorded, "
            f"{pings:,} pings queued); second sweep {again[-1] * 1000:.0f} ms ({len(second.recorded)} new)"
        )
        assert events == breaching and report.count("breach") == breaching and not second.recorded
        assert pings == subjects == breaching, (
            f"{pings} pings, {subjects} distinct"
        )  # owners; managers: roll-up
        db.dispose()
        if url.startswith("postgresql"):
            drop_postgres(url)
    print(f"  {label:<10} sweep median {statistics.median(times):.2f} s, max {max(times):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--handoffs", type=int, default=1_000_000)
    parser.add_argument("--breaching", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(
        f"SLA sweep bench: {args.handoffs:,} open handoffs, {args.breaching:,} newly breaching; {machine()}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="rb-sla-"))
    measure("SQLite", lambda i: fresh_sqlite(workdir, f"sla{i}"), args.handoffs, args.breaching, args.runs)
    measure("PostgreSQL", lambda i: fresh_postgres(f"sla{i}"), args.handoffs, args.breaching, args.runs)
    print("  goal: <= 2 s per sweep (Slack calls excluded), each breach pinged exactly once")


if __name__ == "__main__":
    main()
