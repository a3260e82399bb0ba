"""The once-a-day work of a workspace, claimed in ``job_runs`` so any number of schedulers do it once:
yesterday's health snapshot (the scorecard and the digest's movers read it), the wins the data
shows (``storage.wins.detect``) and the renewals and expansions after a theme the account asked for
shipped (``storage.feedback.detect_shipped_wins``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services import health
from services.policies import Policies
from storage import feedback, wins
from storage.db import Database
from storage.job_runs import claim_job_run


@dataclass
class DailyCounts:
    snapshots: int = 0
    wins_detected: int = 0


def run_daily(db: Database, ws: int, now: dt.datetime, policies: Policies) -> DailyCounts:
    """Each job in its own transaction with its claim: a failed one is tried again at the next tick."""
    counts = DailyCounts()
    day = (now - dt.timedelta(days=1)).date()
    with db.write() as session:
        if claim_job_run(session, ws, "health_snapshot", day.isoformat(), now):
            counts.snapshots += health.snapshot(session, ws, day, policies.health)
    with db.write() as session:
        if claim_job_run(session, ws, "detect_wins", day.isoformat(), now):
            start = day - dt.timedelta(days=policies.wins.lookback_days - 1)
            counts.wins_detected += wins.detect(
                session, ws, start, day, expansion_threshold=policies.wins.expansion_arr_threshold
            )
    # After the renewals and expansions are found: those by accounts that asked for a theme shipped
    # since are shared wins of product and engineering too (issue 15, docs/feedback.md).
    with db.write() as session:
        if claim_job_run(session, ws, "detect_shipped_wins", day.isoformat(), now):
            start = day - dt.timedelta(days=policies.wins.lookback_days - 1)
            counts.wins_detected += feedback.detect_shipped_wins(
                session, ws, start, day, days=policies.feedback.ship_win_days
            )
    return counts
