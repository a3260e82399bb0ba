"""Queries behind the Slack surfaces (/health, /sla, /handoff, /win, /wins, App Home).

Every function takes the workspace id and filters on it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from storage import models as m
from storage.upsert import insert_ignore

WINS_LIMIT = 200  # wins listed at most (a digest shows 8 and its thread 25)
OWNER_COLUMNS = (m.Account.ae_id, m.Account.csm_id, m.Account.support_lead_id, m.Account.exec_sponsor_id)


def person_by_slack_id(session: Session, ws: int, slack_user_id: str) -> m.Person | None:
    return session.scalars(
        select(m.Person).where(m.Person.workspace_id == ws, m.Person.slack_user_id == slack_user_id)
    ).first()


def people_by_slack_ids(session: Session, ws: int, ids: list[str]) -> dict[str, m.Person]:
    rows = session.scalars(
        select(m.Person).where(m.Person.workspace_id == ws, m.Person.slack_user_id.in_(ids))
    )
    return {p.slack_user_id: p for p in rows if p.slack_user_id}


def reports_of(session: Session, ws: int, manager_id: int) -> list[int]:
    return list(
        session.scalars(
            select(m.Person.id).where(m.Person.workspace_id == ws, m.Person.manager_id == manager_id)
        )
    )


def owned_accounts(
    session: Session, ws: int, person_id: int, limit: int
) -> tuple[list[tuple[str, str, float | None, str | None]], int]:
    """The person's accounts (any owner role), worst latest health first; and how many there are."""
    hs = m.HealthSnapshot
    latest = (
        select(hs.account_id, func.max(hs.day).label("day"))
        .where(hs.workspace_id == ws)
        .group_by(hs.account_id)
        .subquery()
    )
    owns = or_(*[col == person_id for col in OWNER_COLUMNS])
    base = (
        select(m.Account.name, m.Account.external_id, hs.score, hs.band)
        .outerjoin(latest, latest.c.account_id == m.Account.id)
        .outerjoin(hs, and_(hs.account_id == m.Account.id, hs.day == latest.c.day))
        .where(m.Account.workspace_id == ws, owns)
    )
    total = session.scalar(select(func.count()).where(m.Account.workspace_id == ws, owns)) or 0
    rows = session.execute(base.order_by(hs.score.is_(None), hs.score, m.Account.name).limit(limit)).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows], int(total)


@dataclass(frozen=True)
class OpenHandoffRow:
    account: str
    external_id: str
    kind: str
    route: str
    owner: str | None
    due_at: dt.datetime
    paused: bool


def open_handoffs(
    session: Session,
    ws: int,
    *,
    owner_ids: list[int] | None = None,
    account_id: int | None = None,
    limit: int = 200,
) -> list[OpenHandoffRow]:
    """Open handoffs, the most overdue first (paused ones last)."""
    h = m.Handoff
    q = (
        select(
            m.Account.name,
            h.external_id,
            h.kind,
            h.from_team,
            h.to_team,
            m.Person.name,
            h.effective_due_at,
            h.paused_since,
        )
        .join(m.Account, m.Account.id == h.account_id)
        .outerjoin(m.Person, m.Person.id == h.owner_id)
        .where(h.workspace_id == ws, h.completed_at.is_(None))
    )
    if owner_ids is not None:
        q = q.where(h.owner_id.in_(owner_ids))
    if account_id is not None:
        q = q.where(h.account_id == account_id)
    q = q.order_by(h.paused_since.is_not(None), h.effective_due_at).limit(limit)
    return [
        OpenHandoffRow(acc, ext, kind, f"{src}→{dst}", owner, due, paused is not None)
        for acc, ext, kind, src, dst, owner, due, paused in session.execute(q)
    ]


def handoff_by_external_id(session: Session, ws: int, external_id: str) -> m.Handoff | None:
    return session.scalars(
        select(m.Handoff).where(m.Handoff.workspace_id == ws, m.Handoff.external_id == external_id)
    ).first()


def record_win(
    session: Session,
    ws: int,
    *,
    external_id: str,
    account_id: int,
    text: str,
    won_on: dt.date,
    recorded_by: int | None,
    people: list[int],
    teams: list[str],
    kind: str = "other",
    amount: Decimal | None = None,
    source: str = "slack",
) -> bool:
    """Record a win once (``external_id`` is the unique claim); False if it already was."""
    claimed = insert_ignore(
        session,
        m.Win,
        [
            {
                "workspace_id": ws,
                "external_id": external_id,
                "account_id": account_id,
                "kind": kind,
                "text": text,
                "amount": amount,
                "won_on": won_on,
                "recorded_by_id": recorded_by,
                "source": source,
            }
        ],
        ["workspace_id", "external_id"],
    )
    if not claimed:
        return False
    win_id = session.scalar(
        select(m.Win.id).where(m.Win.workspace_id == ws, m.Win.external_id == external_id)
    )
    session.add_all(
        m.WinCreditPerson(workspace_id=ws, win_id=win_id, person_id=p) for p in dict.fromkeys(people)
    )
    session.add_all(m.WinCreditTeam(workspace_id=ws, win_id=win_id, team=t) for t in dict.fromkeys(teams))
    return True


def wins_between(
    session: Session, ws: int, start: dt.date, end: dt.date
) -> list[tuple[dt.date, str, str, str, list[str]]]:
    """Wins in [start, end), newest first: (date, account, kind, text, credited teams, including the
    teams of the credited people)."""
    rows = session.execute(
        select(m.Win.id, m.Win.won_on, m.Account.name, m.Win.kind, m.Win.text)
        .join(m.Account, m.Account.id == m.Win.account_id)
        .where(m.Win.workspace_id == ws, m.Win.won_on >= start, m.Win.won_on < end)
        .order_by(m.Win.won_on.desc(), m.Win.id.desc())
        .limit(WINS_LIMIT)
    ).all()
    ids = [r[0] for r in rows]
    # A win's teams: those credited by name and those of the people credited (shared credit).
    named = select(m.WinCreditTeam.win_id, m.WinCreditTeam.team).where(m.WinCreditTeam.win_id.in_(ids))
    via_people = (
        select(m.WinCreditPerson.win_id, m.Person.team)
        .join(m.Person, m.Person.id == m.WinCreditPerson.person_id)
        .where(m.WinCreditPerson.win_id.in_(ids))
    )
    teams: dict[int, list[str]] = defaultdict(list)
    for win_id, team in session.execute(named.union(via_people).order_by("team")):
        teams[win_id].append(team)
    return [(day, acc, kind, text, teams[wid]) for wid, day, acc, kind, text in rows]


def count_wins_between(session: Session, ws: int, start: dt.date, end: dt.date) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(m.Win)
            .where(m.Win.workspace_id == ws, m.Win.won_on >= start, m.Win.won_on < end)
        )
        or 0
    )


def team_contributions(session: Session, ws: int, start: dt.date, end: dt.date) -> list[tuple[str, int]]:
    """Wins in [start, end) per team, most first: a win counts once for each team credited by name
    or through a credited person (shared credit), however many people of that team it names."""
    in_range = select(m.Win.id).where(m.Win.workspace_id == ws, m.Win.won_on >= start, m.Win.won_on < end)
    named = select(m.WinCreditTeam.win_id, m.WinCreditTeam.team).where(
        m.WinCreditTeam.workspace_id == ws, m.WinCreditTeam.win_id.in_(in_range)
    )
    via_people = (
        select(m.WinCreditPerson.win_id, m.Person.team)
        .join(m.Person, m.Person.id == m.WinCreditPerson.person_id)
        .where(m.WinCreditPerson.workspace_id == ws, m.WinCreditPerson.win_id.in_(in_range))
    )
    credits = named.union(via_people).subquery()  # UNION drops a team named twice for one win
    rows = session.execute(
        select(credits.c.team, func.count())
        .group_by(credits.c.team)
        .order_by(func.count().desc(), credits.c.team)
    )
    return [(team, int(n)) for team, n in rows]
