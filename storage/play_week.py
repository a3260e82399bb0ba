"""What plays did in a week, for the weekly digest: how many opened, how many closed and how, and the
saves by name (the accounts, the plays, who closed them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from storage import models as m

SAVES_LISTED = 10


@dataclass(frozen=True)
class PlayWeek:
    opened: int = 0
    closed: dict[str, int] = field(default_factory=dict)  # by outcome
    saves: list[tuple[str, str, str | None]] = field(default_factory=list)  # (account, play key, closed by)

    @property
    def closed_total(self) -> int:
        return sum(self.closed.values())


def week(
    session: Session, ws: int, start: dt.datetime, end: dt.datetime, segment: str | None = None
) -> PlayWeek:
    """Plays opened in [start, end), plays closed in it by outcome, and the latest saves among them."""
    p, a = m.Play, m.Account
    scope = [p.workspace_id == ws]
    if segment is not None:
        scope.append(p.account_id.in_(select(a.id).where(a.workspace_id == ws, a.segment == segment)))
    opened = session.scalar(
        select(func.count()).select_from(p).where(*scope, p.opened_at >= start, p.opened_at < end)
    )
    closed = dict(
        session.execute(
            select(p.outcome, func.count())
            .where(*scope, p.closed_at >= start, p.closed_at < end, p.outcome.is_not(None))
            .group_by(p.outcome)
        ).all()
    )
    by = aliased(m.Person)
    saves = session.execute(
        select(a.name, p.play_key, by.name)
        .join(a, a.id == p.account_id)
        .outerjoin(by, by.id == p.closed_by_id)
        .where(*scope, p.closed_at >= start, p.closed_at < end, p.outcome == "saved")
        .order_by(p.closed_at.desc(), p.id.desc())
        .limit(SAVES_LISTED)
    ).all()
    return PlayWeek(
        int(opened or 0), {str(k): int(v) for k, v in closed.items()}, [(r[0], r[1], r[2]) for r in saves]
    )
