"""The weekly digest's facts: the week's scorecard, wins, health movers, late handoffs and plays, computed
in one read transaction and returned as plain data (``digests.digest`` writes the words)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from services.cuts import Cut, cut_in
from services.health import Mover, movers
from services.policies import Policies
from services.scorecard import Scorecard, build_scorecard
from services.teams import TeamPart, team_part
from storage import metrics
from storage.db import Database
from storage.handoffs import LateHandoff, late_handoffs
from storage.periods import PeriodKind, latest_complete_month
from storage.play_week import PlayWeek, week
from storage.recognition import Credited, credited_people
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
    people: list[Credited] = field(
        default_factory=list
    )  # credited this period (wins, saves, on-time handoffs)
    team: TeamPart | None = None  # a team's digest leads with its part
    by_source: Cut | None = None  # the monthly and quarterly digests' cut by acquisition source
    plays: PlayWeek = field(default_factory=PlayWeek)  # plays opened, closed and saved in the week
    play_titles: dict[str, str] = field(default_factory=dict)  # the play definitions' titles by key
    # Cohort retention through the latest complete month (the thread reply's last section).
    cohorts: list[metrics.Cohort] = field(default_factory=list)
    cohort_month: dt.date | None = None


def _weekly(
    session: Session,
    ws: int,
    *,
    as_of: dt.date,
    now: dt.datetime,
    policies: Policies,
    segment: str | None,
    period_kind: PeriodKind = "week",
    team: str | None = None,
    targets_at: dt.datetime | None = None,
) -> WeeklyFacts:
    card = build_scorecard(
        session,
        ws,
        as_of=as_of,
        period_kind=period_kind,
        policies=policies,
        segment=segment,
        targets_at=targets_at,
    )
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
        people=credited_people(session, ws, period.start, period.end),
        team=team_part(session, ws, team, card, now) if team else None,
        by_source=cut_in(session, ws, by="source", as_of=as_of, period=period)
        if period_kind != "week"
        else None,
        plays=week(session, ws, period.start_utc, period.end_utc, segment),
        play_titles={p.key: p.title for p in policies.plays},
    )


def weekly(
    db: Database,
    ws: int,
    *,
    as_of: dt.date,
    now: dt.datetime,
    policies: Policies,
    segment: str | None = None,
    period_kind: PeriodKind = "week",
    team: str | None = None,
    targets_at: dt.datetime | None = None,
) -> WeeklyFacts:
    """Everything the digest shows for the week (or month, or quarter) of ``as_of``, optionally for one
    segment, led by one team's part; ``targets_at``: with the targets in force then (a past digest
    rebuilt as it was)."""
    with db.read() as session:
        return _weekly(
            session,
            ws,
            as_of=as_of,
            now=now,
            policies=policies,
            segment=segment,
            period_kind=period_kind,
            team=team,
            targets_at=targets_at,
        )
