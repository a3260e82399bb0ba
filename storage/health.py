"""The account health score (docs/metrics.md, "Health score").

Inputs are gathered by grouped SQL for one account or all accounts at once; scoring is a pure
function of those inputs and the health policy. Missing components are left out and the remaining
weights renormalised.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, and_, case, func, select, text, type_coerce
from sqlalchemy.orm import Session

from bot.settings import HealthPolicy
from storage import models as m
from storage.importer import ANALYZE_AFTER
from storage.periods import add_months, latest_complete_month
from storage.upsert import upsert

TREND_DAYS = 30
HIGH_PRIORITIES = ("high", "urgent")
WEIGHTY_TOUCHPOINTS = ("qbr", "ebr", "exec_meeting")


@dataclass
class HealthInputs:
    """What the score is computed from, for one account at one date."""

    mean_dau: float | None = None
    seats: int | None = None
    features_used: int = 0
    features_total: int = 0  # distinct features seen in the workspace in the window
    has_usage: bool = False
    tickets_tracked: bool = False  # the workspace has ticket data at all
    open_high: int = 0
    open_other: int = 0
    csat: float | None = None
    touchpoints_tracked: bool = False
    touch_weight: float = 0.0
    nps: float | None = None
    mrr_now: int = 0  # cents, month M
    mrr_before: int = 0  # cents, month M-3
    open_risk: bool = False


def _clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def components(inp: HealthInputs, policy: HealthPolicy) -> dict[str, float]:
    """Each present component as a 0–100 score (see docs/metrics.md for the formulas)."""
    out: dict[str, float] = {}
    if inp.mean_dau is not None and inp.seats:
        out["usage"] = _clamp(100 * (inp.mean_dau / inp.seats) / policy.usage_target)
    if inp.features_total and inp.has_usage:
        out["adoption"] = _clamp(100 * inp.features_used / inp.features_total)
    if inp.tickets_tracked:
        backlog = _clamp(100 - 20 * inp.open_high - 7 * inp.open_other)
        out["support"] = backlog if inp.csat is None else (backlog + (inp.csat - 1) / 4 * 100) / 2
    if inp.touchpoints_tracked:
        out["engagement"] = _clamp(100 * inp.touch_weight / 3)
    if inp.nps is not None:
        out["sentiment"] = _clamp(inp.nps * 10)
    if inp.mrr_now > 0:
        if inp.mrr_before > 0 and inp.mrr_now < inp.mrr_before:
            commercial = _clamp(100 - 200 * (1 - inp.mrr_now / inp.mrr_before))
        else:
            commercial = 100.0
        out["commercial"] = _clamp(commercial - (policy.open_risk_penalty if inp.open_risk else 0))
    return out


def contributions(parts: dict[str, float], policy: HealthPolicy) -> dict[str, float]:
    """Each component's points in the score: its renormalised weight × its value."""
    weights = {k: policy.weights.get(k, 0.0) for k in parts}
    total = sum(weights.values())
    if total <= 0:
        return {}
    return {k: weights[k] / total * v for k, v in parts.items()}


@dataclass(frozen=True)
class Score:
    score: float | None
    band: str | None
    components: dict[str, float]
    contributions: dict[str, float]


def score(inp: HealthInputs, policy: HealthPolicy) -> Score:
    parts = components(inp, policy)
    contrib = contributions(parts, policy)
    if not contrib:
        return Score(None, None, parts, {})
    # A whole number, rounded half up, and the band of the number people see.
    value = float(math.floor(sum(contrib.values()) + 0.5))
    return Score(value, policy.bands.band(value), parts, contrib)


@dataclass(frozen=True)
class Driver:
    component: str
    change: float  # points of score this component moved, + or −
    now: float | None
    then: float | None


def drivers(now: Score, then: Score, limit: int = 3) -> list[Driver]:
    """The components whose weighted change moved the score most."""
    keys = set(now.contributions) | set(then.contributions)
    moves = [
        Driver(
            k,
            now.contributions.get(k, 0.0) - then.contributions.get(k, 0.0),
            now.components.get(k),
            then.components.get(k),
        )
        for k in keys
    ]
    moves = [d for d in moves if abs(d.change) >= 0.05]
    moves.sort(key=lambda d: (-abs(d.change), d.component))
    return moves[:limit]


# --- inputs from the database ----------------------------------------------------------------------


def _scope(col: Any, ws_col: Any, ws: int, account_ids: Iterable[int] | None) -> list[Any]:
    conds = [ws_col == ws]
    if account_ids is not None:
        conds.append(col.in_(list(account_ids)))
    return conds


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def gather_inputs(
    session: Session, ws: int, as_of: dt.date, account_ids: Iterable[int] | None = None
) -> dict[int, HealthInputs]:
    """Health inputs at the end of ``as_of`` for the given accounts (all accounts of ``ws`` if None)."""
    ids = None if account_ids is None else list(account_ids)
    acc = m.Account.__table__
    accounts = session.scalars(select(acc.c.id).where(*_scope(acc.c.id, acc.c.workspace_id, ws, ids))).all()
    out: dict[int, HealthInputs] = {a: HealthInputs() for a in accounts}
    if not out:
        return out
    next_day = _day_start(as_of + dt.timedelta(days=1))

    # usage: mean DAU over 28 days, seats on the latest day that has them
    u = m.UsageDaily.__table__
    window = [
        *_scope(u.c.account_id, u.c.workspace_id, ws, ids),
        u.c.day > as_of - dt.timedelta(days=28),
        u.c.day <= as_of,
    ]
    for aid, dau in session.execute(
        select(u.c.account_id, func.avg(u.c.active_users)).where(*window).group_by(u.c.account_id)
    ):
        out[aid].mean_dau, out[aid].has_usage = float(dau), True
    seat_day = (
        select(u.c.account_id, func.max(u.c.day).label("day"))
        .where(*window, u.c.licensed_seats > 0)
        .group_by(u.c.account_id)
        .subquery()
    )
    for aid, seats in session.execute(
        select(u.c.account_id, u.c.licensed_seats).join(
            seat_day, and_(seat_day.c.account_id == u.c.account_id, seat_day.c.day == u.c.day)
        )
    ):
        out[aid].seats = int(seats)

    # adoption: breadth of features used in the same window, against the workspace's catalogue
    fc = m.FeatureCatalogue.__table__
    total = int(
        session.scalar(
            select(func.count()).where(
                fc.c.workspace_id == ws,
                fc.c.first_seen <= as_of,
                fc.c.last_seen > as_of - dt.timedelta(days=28),
            )
        )
        or 0
    )
    if total:
        f = m.FeatureUsage.__table__
        for inp in out.values():
            inp.features_total = total
        for aid, used in session.execute(
            select(f.c.account_id, func.count(func.distinct(f.c.feature)))
            .where(
                *_scope(f.c.account_id, f.c.workspace_id, ws, ids),
                f.c.day > as_of - dt.timedelta(days=28),
                f.c.day <= as_of,
                f.c.active_users > 0,
            )
            .group_by(f.c.account_id)
        ):
            out[aid].features_used = int(used)

    # support: open tickets at the end of the day, CSAT over 90 days
    t = m.Ticket.__table__
    tracked = session.scalar(select(t.c.id).where(t.c.workspace_id == ws).limit(1)) is not None
    if tracked:
        for inp in out.values():
            inp.tickets_tracked = True
        is_open = and_(t.c.opened_at < next_day, (t.c.closed_at.is_(None)) | (t.c.closed_at >= next_day))
        recent = and_(t.c.closed_at >= _day_start(as_of - dt.timedelta(days=89)), t.c.closed_at < next_day)
        for aid, high, other, csat in session.execute(
            select(
                t.c.account_id,
                func.sum(case((and_(is_open, t.c.priority.in_(HIGH_PRIORITIES)), 1), else_=0)),
                func.sum(case((and_(is_open, t.c.priority.not_in(HIGH_PRIORITIES)), 1), else_=0)),
                func.avg(case((recent, t.c.csat), else_=None)),
            )
            .where(
                *_scope(t.c.account_id, t.c.workspace_id, ws, ids),
                t.c.opened_at < next_day,
                (t.c.closed_at.is_(None)) | (t.c.closed_at >= _day_start(as_of - dt.timedelta(days=89))),
            )
            .group_by(t.c.account_id)
        ):
            inp = out[aid]
            inp.open_high, inp.open_other = int(high or 0), int(other or 0)
            inp.csat = None if csat is None else float(csat)

    # engagement: weighted touchpoints over 90 days
    tp = m.Touchpoint.__table__
    if session.scalar(select(tp.c.id).where(tp.c.workspace_id == ws).limit(1)) is not None:
        for inp in out.values():
            inp.touchpoints_tracked = True
        for aid, weight in session.execute(
            select(tp.c.account_id, func.sum(case((tp.c.kind.in_(WEIGHTY_TOUCHPOINTS), 2), else_=1)))
            .where(
                *_scope(tp.c.account_id, tp.c.workspace_id, ws, ids),
                tp.c.occurred_at >= _day_start(as_of - dt.timedelta(days=89)),
                tp.c.occurred_at < next_day,
            )
            .group_by(tp.c.account_id)
        ):
            out[aid].touch_weight = float(weight)

    # sentiment: mean NPS score over 180 days
    n = m.NpsResponse.__table__
    for aid, mean in session.execute(
        select(n.c.account_id, func.avg(n.c.score))
        .where(
            *_scope(n.c.account_id, n.c.workspace_id, ws, ids),
            n.c.responded_at >= _day_start(as_of - dt.timedelta(days=179)),
            n.c.responded_at < next_day,
        )
        .group_by(n.c.account_id)
    ):
        out[aid].nps = float(mean)

    # commercial: MRR in M against M-3, and open risk flags
    mr = m.MrrSnapshot.__table__
    month = latest_complete_month(as_of + dt.timedelta(days=1))
    before = add_months(month, -3)
    cents = type_coerce(mr.c.mrr, BigInteger)
    for aid, now_c, before_c in session.execute(
        select(
            mr.c.account_id,
            func.sum(case((mr.c.month == month, cents), else_=0)),
            func.sum(case((mr.c.month == before, cents), else_=0)),
        )
        .where(*_scope(mr.c.account_id, mr.c.workspace_id, ws, ids), mr.c.month.in_((month, before)))
        .group_by(mr.c.account_id)
    ):
        out[aid].mrr_now, out[aid].mrr_before = int(now_c or 0), int(before_c or 0)
    rf = m.RiskFlag.__table__
    for (aid,) in session.execute(
        select(rf.c.account_id)
        .distinct()
        .where(
            *_scope(rf.c.account_id, rf.c.workspace_id, ws, ids),
            rf.c.flagged_on <= as_of,
            (rf.c.resolved_on.is_(None)) | (rf.c.resolved_on > as_of),
        )
    ):
        out[aid].open_risk = True
    return out


@dataclass
class AccountHealth:
    account_id: int
    as_of: dt.date
    now: Score
    then: Score
    drivers: list[Driver] = field(default_factory=list)

    @property
    def trend(self) -> float | None:
        if self.now.score is None or self.then.score is None:
            return None
        return round(self.now.score - self.then.score, 1)


def account_health(
    session: Session, ws: int, account_id: int, as_of: dt.date, policy: HealthPolicy
) -> AccountHealth:
    """Score now and 30 days ago, the trend and its top drivers, for one account."""
    now = score(gather_inputs(session, ws, as_of, [account_id])[account_id], policy)
    then_day = as_of - dt.timedelta(days=TREND_DAYS)
    then = score(gather_inputs(session, ws, then_day, [account_id])[account_id], policy)
    return AccountHealth(account_id, as_of, now, then, drivers(now, then))


def snapshot(session: Session, ws: int, day: dt.date, policy: HealthPolicy) -> int:
    """Write (or refresh) every account's health snapshot for ``day``; returns how many were scored."""
    rows = []
    for aid, inp in gather_inputs(session, ws, day).items():
        s = score(inp, policy)
        if s.score is None:
            continue
        rows.append(
            {
                "workspace_id": ws,
                "account_id": aid,
                "day": day,
                "score": s.score,
                "band": s.band,
                "components": {k: round(v, 1) for k, v in s.components.items()},
                "mean_dau": inp.mean_dau,
                "seats": inp.seats,
            }
        )
    for start in range(0, len(rows), 5_000):
        upsert(session, m.HealthSnapshot, rows[start : start + 5_000], ["account_id", "day"])
    if len(rows) >= ANALYZE_AFTER:
        session.execute(text("ANALYZE health_snapshots"))  # the scorecard's plans need today's row counts
    return len(rows)


def movers(session: Session, ws: int, day: dt.date, limit: int = 5) -> list[tuple[int, float, float]]:
    """Accounts whose snapshot score moved most against 30 days earlier: (account id, now, then)."""
    hs, old = m.HealthSnapshot.__table__, m.HealthSnapshot.__table__.alias("old")
    rows = session.execute(
        select(hs.c.account_id, hs.c.score, old.c.score)
        .join(
            old, and_(old.c.account_id == hs.c.account_id, old.c.day == day - dt.timedelta(days=TREND_DAYS))
        )
        .where(hs.c.workspace_id == ws, hs.c.day == day)
        .order_by(func.abs(hs.c.score - old.c.score).desc(), hs.c.account_id)
        .limit(limit)
    ).all()
    return [(aid, now, then) for aid, now, then in rows]
