"""Handoffs: the open ones, and one by its external id.

Every function takes the workspace id and filters on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from storage import models as m


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


@dataclass(frozen=True)
class LateHandoff:
    account: str
    kind: str
    from_team: str
    to_team: str
    owner: str | None
    due_at: dt.datetime
    completed_at: dt.datetime | None  # None: still open


def late_handoffs(
    session: Session, ws: int, start: dt.datetime, end: dt.datetime, limit: int = 200
) -> list[LateHandoff]:
    """Handoffs due in [start, end) and not done in time (done late, or still open), not paused;
    soonest due first."""
    handoff = m.Handoff
    rows = session.execute(
        select(
            m.Account.name,
            handoff.kind,
            handoff.from_team,
            handoff.to_team,
            m.Person.name,
            handoff.effective_due_at,
            handoff.completed_at,
        )
        .join(m.Account, m.Account.id == handoff.account_id)
        .outerjoin(m.Person, m.Person.id == handoff.owner_id)
        .where(
            handoff.workspace_id == ws,
            handoff.paused_since.is_(None),
            handoff.effective_due_at >= start,
            handoff.effective_due_at < end,
            or_(
                handoff.completed_at.is_(None),
                and_(handoff.completed_at.is_not(None), handoff.completed_at > handoff.effective_due_at),
            ),
        )
        .order_by(handoff.effective_due_at)
        .limit(limit)
    ).all()
    return [LateHandoff(*row) for row in rows]
