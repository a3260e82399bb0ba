"""SQL behind the digest's charts and the health sparkline: health snapshots counted by day and band,
and one account's scores over a span of days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import models as m


def band_counts(
    session: Session, ws: int, first: dt.date, last: dt.date, segment: str | None = None
) -> dict[dt.date, dict[str, int]]:
    """How many accounts were in each health band on each snapshot day in [first, last]."""
    hs = m.HealthSnapshot.__table__
    query = (
        select(hs.c.day, hs.c.band, func.count())
        .where(hs.c.workspace_id == ws, hs.c.day >= first, hs.c.day <= last)
        .group_by(hs.c.day, hs.c.band)
    )
    if segment is not None:
        acc = m.Account.__table__
        query = query.where(
            hs.c.account_id.in_(select(acc.c.id).where(acc.c.workspace_id == ws, acc.c.segment == segment))
        )
    out: dict[dt.date, dict[str, int]] = {}
    for day, band, n in session.execute(query):
        out.setdefault(day, {})[band] = int(n)
    return out


def score_history(
    session: Session, ws: int, account_id: int, first: dt.date, last: dt.date
) -> dict[dt.date, float]:
    """One account's stored health score on each snapshot day in [first, last]."""
    hs = m.HealthSnapshot.__table__
    rows = session.execute(
        select(hs.c.day, hs.c.score).where(
            hs.c.workspace_id == ws, hs.c.account_id == account_id, hs.c.day >= first, hs.c.day <= last
        )
    )
    return {day: float(score) for day, score in rows}


def score_histories(
    session: Session, ws: int, external_ids: list[str], first: dt.date, last: dt.date
) -> dict[str, dict[dt.date, float]]:
    """Stored health scores on each snapshot day in [first, last] of the accounts with these CRM ids."""
    hs, acc = m.HealthSnapshot.__table__, m.Account.__table__
    rows = session.execute(
        select(acc.c.external_id, hs.c.day, hs.c.score)
        .join(acc, acc.c.id == hs.c.account_id)
        .where(
            acc.c.workspace_id == ws,
            acc.c.external_id.in_(external_ids),
            hs.c.workspace_id == ws,
            hs.c.day >= first,
            hs.c.day <= last,
        )
    )
    out: dict[str, dict[dt.date, float]] = {}
    for ext, day, score in rows:
        out.setdefault(ext, {})[day] = float(score)
    return out
