"""The once-a-day work of a workspace, claimed in ``job_runs`` so any number of schedulers do it once:
yesterday's health snapshot (the scorecard and the digest's movers read it), the wins the data
shows (``storage.wins.detect``) and the renewals and expansions after a theme the account asked for
shipped (``storage.feedback.detect_shipped_wins``), then the plays the data calls for
(``services.plays.evaluate_in``) as of that day, after its snapshot (the health triggers read it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services import goals, health, plays
from services.policies import Policies
from storage import feedback, wins
from storage.db import Database
from storage.job_runs import claim_job_run


@dataclass
class DailyCounts:
    snapshots: int = 0
    wins_detected: int = 0
    plays_opened: int = 0


def run_daily(
    db: Database, ws: int, now: dt.datetime, policies: Policies, notify_plays: plays.Notify = plays.no_notify
) -> DailyCounts:
    """Each job in its own transaction with its claim: a failed one is tried again at the next tick.
    ``notify_plays`` queues the owners' messages of the plays opened, in the evaluation's transaction."""
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
    # The policy file's targets into their history when the file changed (nothing otherwise), so a
    # past digest can be rebuilt with the targets it showed (services.goals.targets_as_of).
    goals.sync_policy_targets(db, ws, policies, now)
    with db.write() as session:
        if claim_job_run(session, ws, "evaluate_plays", day.isoformat(), now):
            counts.plays_opened += plays.evaluate_in(
                session, ws, day, now=now, policies=policies, notify=notify_plays
            ).total_opened
    return counts
