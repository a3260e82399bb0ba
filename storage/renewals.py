"""What the renewals list reads: the accounts renewing in a window of days, with their latest MRR,
their latest health snapshot, their CSM and AE, and their plays that are not closed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from storage import models as m

HEALTH_DAYS = 35  # a health snapshot older than this is too old to show


@dataclass(frozen=True)
class RenewingRow:
    account_id: int
    external_id: str
    name: str
    segment: str | None
    renewal_on: dt.date
    mrr: Decimal | None
    score: float | None
    band: str | None
    csm: str | None
    csm_slack: str | None
    ae: str | None
    ae_slack: str | None


@dataclass(frozen=True)
class OpenPlayRow:
    account_id: int
    play_id: int
    play_key: str
    state: str
    due_at: dt.datetime | None
    owner: str | None
    owner_slack: str | None


def renewing(
    session: Session, ws: int, first: dt.date, last: dt.date, month: dt.date
) -> list[RenewingRow]:
    """The accounts whose renewal date is in [first, last], by renewal date. MRR: the latest month on
    or before ``month``; health: the latest snapshot on or before ``first`` (≤ 35 days old)."""
    a, mrr, h = m.Account, m.MrrSnapshot, m.HealthSnapshot
    csm, ae = aliased(m.Person), aliased(m.Person)
    last_mrr = (
        select(mrr.account_id, func.max(mrr.month).label("month"))
        .where(mrr.workspace_id == ws, mrr.month <= month)
        .group_by(mrr.account_id)
        .subquery()
    )
    mrr_now = (
        select(mrr.account_id, mrr.mrr)
        .join(last_mrr, and_(last_mrr.c.account_id == mrr.account_id, last_mrr.c.month == mrr.month))
        .subquery()
    )
    last_h = (
        select(h.account_id, func.max(h.day).label("day"))
        .where(h.workspace_id == ws, h.day <= first, h.day > first - dt.timedelta(days=HEALTH_DAYS))
        .group_by(h.account_id)
        .subquery()
    )
    h_now = (
        select(h.account_id, h.score, h.band)
        .join(last_h, and_(last_h.c.account_id == h.account_id, last_h.c.day == h.day))
        .subquery()
    )
    rows = session.execute(
        select(
            a.id,
            a.external_id,
            a.name,
            a.segment,
            a.renewal_on,
            mrr_now.c.mrr,
            h_now.c.score,
            h_now.c.band,
            csm.name,
            csm.slack_user_id,
            ae.name,
            ae.slack_user_id,
        )
        .outerjoin(mrr_now, mrr_now.c.account_id == a.id)
        .outerjoin(h_now, h_now.c.account_id == a.id)
        .outerjoin(csm, csm.id == a.csm_id)
        .outerjoin(ae, ae.id == a.ae_id)
        .where(a.workspace_id == ws, a.renewal_on >= first, a.renewal_on <= last)
        .order_by(a.renewal_on, a.id)
    ).all()
    return [RenewingRow(*r) for r in rows]


def open_plays(session: Session, ws: int, account_ids: Sequence[int]) -> list[OpenPlayRow]:
    """The plays that are not closed, of these accounts, due first."""
    ids = sorted(set(account_ids))
    owner = aliased(m.Person)
    out: list[OpenPlayRow] = []
    for chunk in range(0, len(ids), 5000):
        rows = session.execute(
            select(
                m.Play.account_id,
                m.Play.id,
                m.Play.play_key,
                m.Play.state,
                m.Play.due_at,
                owner.name,
                owner.slack_user_id,
            )
            .outerjoin(owner, owner.id == m.Play.owner_id)
            .where(
                m.Play.workspace_id == ws,
                m.Play.state != "closed",
                m.Play.account_id.in_(ids[chunk : chunk + 5000]),
            )
            .order_by(m.Play.due_at, m.Play.id)
        ).all()
        out += [OpenPlayRow(*r) for r in rows]
    return out
