"""The weekly digest's facts: the week's scorecard, wins, health movers and late handoffs, computed
in one read transaction and returned as plain data (``digests.digest`` writes the words)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from services.health import Mover, movers
from services.policies import Policies
from services.scorecard import Scorecard, build_scorecard
from storage import metrics
from storage.db import Database
from storage.handoffs import LateHandoff, late_handoffs
from storage.periods import latest_complete_month
from storage.wins import WINS_LIMIT, count_wins_between, team_contributions, wins_between

MAX_DETAIL = 25  # movers listed at most (the thread shows 25)


@dataclass(frozen=True)
class WeeklyFacts:
    card: Scorecard
    wins: list[tuple[dt.date, str, str, str, list[str]]]  # (date, account, kind, text, teams), newest first
    win_total: int  # all the week's wins (``wins`` stops at WINS_LIMIT)
    teams: list[tuple[str, int]]  # wins per team, most first
    movers: list[Mover]
    late: list[LateHandoff]
    now: dt.datetime  # what "overdue by" is measured against
    # Cohort retention through the latest complete month (the thread reply's last section).
    cohorts: list[metrics.Cohort] = field(default_factory=list)
    cohort_month: dt.date | None = None


def _weekly(
    session: Session, ws: int, *, as_of: dt.date, now: dt.datetime, policies: Policies, segment: str | None
) -> WeeklyFacts:
    card = build_scorecard(session, ws, as_of=as_of, period_kind="week", policies=policies, segment=segment)
    period = card.period
    wins = wins_between(session, ws, period.start, period.end)
    win_total = (
        len(wins) if len(wins) < WINS_LIMIT else count_wins_between(session, ws, period.start, period.end)
    )
    return WeeklyFacts(
        card=card,
        wins=wins,
        win_total=win_total,
        teams=team_contributions(session, ws, period.start, period.end),
        movers=movers(session, ws, period.last_day, policies.health, limit=MAX_DETAIL),
        late=late_handoffs(session, ws, period.start_utc, period.end_utc),
        cohorts=metrics.cohorts(session, ws, latest_complete_month(as_of), segment),
        cohort_month=latest_complete_month(as_of),
        now=now,
    )


def weekly(
    db: Database,
    ws: int,
    *,
    as_of: dt.date,
    now: dt.datetime,
    policies: Policies,
    segment: str | None = None,
) -> WeeklyFacts:
    """Everything the weekly digest shows for the week of ``as_of``, optionally for one segment."""
    with db.read() as session:
        return _weekly(session, ws, as_of=as_of, now=now, policies=policies, segment=segment)
