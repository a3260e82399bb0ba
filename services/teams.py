"""A team's part in retention: the KPIs the team owns (with their targets and status once set), the
health of the accounts its people own, the handoffs its people have open and its shared wins in the
period — ``/scorecard team cs``, ``retention-bot scorecard --team cs`` and the head of a team's digest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.errors import UnknownSegment
from services.policies import Policies
from services.scorecard import Kpi, Scorecard, build_scorecard
from storage import vocab
from storage.accounts import segments
from storage.db import Database
from storage.handoffs import OpenHandoffRow, open_handoffs
from storage.periods import PeriodKind
from storage.plays import list_plays
from storage.teams import TeamHealth, team_health, team_members
from storage.wins import team_contributions, wins_between

OPEN_LISTED = 5


class UnknownTeam(ValueError):
    """Not one of the teams (``storage.vocab.TEAMS``); the callers word it (the word is the user's)."""

    def __init__(self, team: str) -> None:
        super().__init__(f"{team!r} is not a team; teams: {', '.join(vocab.TEAMS)}")
        self.team = team


def check_team(word: str) -> str:
    team = word.lower()
    if team not in vocab.TEAMS:
        raise UnknownTeam(word)
    return team


@dataclass(frozen=True)
class TeamPart:
    team: str
    people: int  # people on the team
    kpis: list[Kpi]  # the KPIs it owns, in the scorecard's order
    health: TeamHealth
    open_handoffs: list[OpenHandoffRow]  # the most overdue first, at most OPEN_LISTED
    open_total: int
    overdue: int
    wins: int  # shared wins credited to the team in the period
    win_lines: list[tuple[dt.date, str, str, str]]  # (date, account, kind, text), newest first
    plays_open: int = 0  # open plays its people own
    plays_overdue: int = 0


def team_part(session: Session, ws: int, team: str, card: Scorecard, now: dt.datetime) -> TeamPart:
    """The team's part of an already built scorecard (its period and segment)."""
    members = team_members(session, ws, team)
    handoffs = open_handoffs(session, ws, owner_ids=members) if members else []
    plays = list_plays(session, ws, owner_ids=members, limit=10_000) if members else []
    period = card.period
    wins = dict(team_contributions(session, ws, period.start, period.end)).get(team, 0)
    win_lines = [
        (day, account, kind, text)
        for day, account, kind, text, teams in wins_between(session, ws, period.start, period.end)
        if team in teams
    ][:OPEN_LISTED]
    return TeamPart(
        team=team,
        people=len(members),
        kpis=[k for k in card.kpis if team in k.owners],
        health=team_health(session, ws, members, min(period.last_day, now.date())),
        open_handoffs=handoffs[:OPEN_LISTED],
        open_total=len(handoffs),
        overdue=sum(1 for h in handoffs if not h.paused and h.due_at <= now),
        wins=wins,
        win_lines=win_lines,
        plays_open=len(plays),
        plays_overdue=sum(1 for p in plays if p.due_at is not None and _aware(p.due_at) < now),
    )


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class TeamView:
    card: Scorecard
    part: TeamPart


def team_view(
    db: Database,
    ws: int,
    team: str,
    *,
    as_of: dt.date,
    period: PeriodKind,
    policies: Policies,
    now: dt.datetime,
    segment: str | None = None,
) -> TeamView:
    """``/scorecard team cs``: raises ``UnknownTeam``."""
    team = check_team(team)
    with db.read() as session:
        if segment is not None and segment not in segments(session, ws):
            raise UnknownSegment(segment, segments(session, ws))
        card = build_scorecard(
            session, ws, as_of=as_of, period_kind=period, policies=policies, segment=segment
        )
        return TeamView(card, team_part(session, ws, team, card, now))


def team_json(view: TeamView, now: dt.datetime) -> dict[str, Any]:
    """``scorecard --team cs --json``: the scorecard's JSON of the team's KPIs, plus its part."""
    card, part = view.card.to_json(), view.part
    owned = {k.key for k in part.kpis}
    card["kpis"] = {key: kpi for key, kpi in card["kpis"].items() if key in owned}
    return {
        **card,
        "team": part.team,
        "people": part.people,
        "health": {"bands": part.health.bands, "not_scored": part.health.no_score},
        "open_handoffs": {"total": part.open_total, "overdue": part.overdue, "as_of": now.isoformat()},
        "open_plays": {"total": part.plays_open, "overdue": part.plays_overdue},
        "wins": part.wins,
    }
