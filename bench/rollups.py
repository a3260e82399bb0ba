"""Roll-ups instead of storms: 20,000 handoffs breach at once, owned by 1,000 people under 50
managers. With one DM per breach to each manager (``manager_rollup = false``, the old behaviour) the
sweep queues 40,000 DMs, 400 to each manager's one conversation: at Slack's one message per second
per conversation that is 400 s of sending to each manager, whatever the parallelism. With the
roll-up the managers get nothing from the sweep and, at the roll-up hour, 50 roll-ups (one per
manager); each owner's 20 breaches come as one message (``[sla] batch_over`` = 10), so the sweep
queues 1,000 messages.

Printed: DMs queued by the sweep, the longest queue to one conversation (the Slack time lower bound
at 1 message/s), the time to build and queue the 50 roll-ups, and a second roll-up run (nothing new).

    python bench/rollups.py [--breaching 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench.common import drop_postgres, fresh_postgres, fresh_sqlite, machine
from bench.sla_sweep import CONFIG, NOW, load
from digests import rollups
from digests.sla_pings import sweep_and_queue
from services.policies import Policies
from storage import models as m
from storage.db import Database

ROLLUP_AT = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # the next morning, rollup_hour = 9 (UTC)


MODES = (("old: one DM each", False, 0), ("roll-up", True, 0), ("roll-up+batch", True, 10))


MODES_INDEX = {mode: i for i, (mode, _, _) in enumerate(MODES)}


def measure(label: str, make_url: object, breaching: int) -> None:
    for mode, rollup, batch_over in MODES:
        url = make_url(mode)  # type: ignore[operator]
        if url is None:
            return
        db = Database(url)
        db.upgrade()
        load(db, breaching, breaching)
        policies = Policies(
            sla=CONFIG.model_copy(update={"manager_rollup": rollup, "batch_over": batch_over})
        )
        t = time.perf_counter()
        report = sweep_and_queue(db, NOW + dt.timedelta(seconds=1), policies.sla, ())
        swept = time.perf_counter() - t
        with db.read() as s:
            queued = s.scalar(select(func.count()).select_from(m.Delivery).where(m.Delivery.kind == "sla"))
            longest = s.scalar(
                select(func.count())
                .where(m.Delivery.kind == "sla")
                .group_by(m.Delivery.channel_id)
                .order_by(func.count().desc())
                .limit(1)
            )
            ws = s.scalar(select(m.Workspace.id))
        line = (
            f"  {label:<10} {mode:<16}: sweep {swept:.2f} s, "
            f"{report.count('breach'):,} breaches, {queued:,} DMs queued, at most {longest:,} to one "
            f"conversation (≥ {longest:,} s of Slack sending)"
        )
        if rollup:
            t = time.perf_counter()
            first = rollups.queue(db, ws, ROLLUP_AT, policies)
            took = time.perf_counter() - t
            t = time.perf_counter()
            second = rollups.queue(db, ws, ROLLUP_AT + dt.timedelta(minutes=1), policies)
            again = time.perf_counter() - t
            with db.read() as s:
                rows = s.scalar(
                    select(func.count()).select_from(m.Delivery).where(m.Delivery.kind == "sla_rollup")
                )
            line += (
                f"; roll-ups: {first} queued in {took:.2f} s ({rows} in the ledger), "
                f"second run {again * 1000:.0f} ms ({second} new)"
            )
            assert first == rows == 50 and second == 0
        print(line)
        db.dispose()
        if url.startswith("postgresql"):
            drop_postgres(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--breaching", type=int, default=20_000)
    args = parser.parse_args()
    print(f"Roll-up bench: {args.breaching:,} breaches at once, 1,000 owners, 50 managers; {machine()}")
    workdir = Path(tempfile.mkdtemp(prefix="rb-rollup-"))
    measure("SQLite", lambda mode: fresh_sqlite(workdir, f"rollup{MODES_INDEX[mode]}"), args.breaching)
    measure("PostgreSQL", lambda mode: fresh_postgres(f"rollup{MODES_INDEX[mode]}"), args.breaching)


if __name__ == "__main__":
    main()
