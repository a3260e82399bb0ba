"""A team's part: the health of the accounts its people own and the handoffs its people have open.
Every function takes the workspace id and filters on it; the team is ``people.team``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from storage import models as m
from storage.wins import OWNER_COLUMNS


@dataclass(frozen=True)
class TeamHealth:
    bands: dict[str, int]  # red / yellow / green → accounts, by their latest snapshot on or before the day
    no_score: int  # owned accounts with no snapshot yet
    worst: list[tuple[str, float, str]]  # (account, score, band), lowest first, at most five


def team_members(session: Session, ws: int, team: str) -> list[int]:
    return list(
        session.scalars(select(m.Person.id).where(m.Person.workspace_id == ws, m.Person.team == team))
    )


def team_health(session: Session, ws: int, members: list[int], as_of: dt.date) -> TeamHealth:
    """The accounts any of ``members`` owns (in any owner role), by band of their latest health snapshot
    on or before ``as_of``."""
    if not members:
        return TeamHealth({}, 0, [])
    snap = m.HealthSnapshot
    owned = (
        select(m.Account.id, m.Account.name)
        .where(m.Account.workspace_id == ws, or_(*[col.in_(members) for col in OWNER_COLUMNS]))
        .subquery()
    )
    latest = (
        select(snap.account_id, func.max(snap.day).label("day"))
        .join(owned, owned.c.id == snap.account_id)
        .where(snap.workspace_id == ws, snap.day <= as_of)
        .group_by(snap.account_id)
        .subquery()
    )
    scored = (
        select(owned.c.name, snap.score, snap.band)
        .select_from(owned)
        .outerjoin(latest, latest.c.account_id == owned.c.id)
        .outerjoin(snap, and_(snap.account_id == owned.c.id, snap.day == latest.c.day))
    )
    rows = session.execute(scored).all()
    bands: dict[str, int] = {}
    no_score = 0
    for _, score, band in rows:
        if score is None:
            no_score += 1
        else:
            bands[band] = bands.get(band, 0) + 1
    worst = sorted(((n, float(s), b) for n, s, b in rows if s is not None), key=lambda r: (r[1], r[0]))[:5]
    return TeamHealth(bands, no_score, worst)
