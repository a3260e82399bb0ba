"""The metric definitions of docs/metrics.md, computed by aggregation in the database.

Revenue metrics come from one pivot scan of ``mrr_snapshots`` over the months they need (a missing
snapshot is 0). Money stays in integer cents until ``from_cents`` turns it into ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, case, cast, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from storage import models as m
from storage.periods import add_months, latest_complete_month, quarter_start

MRR = m.MrrSnapshot.__table__
ACC = m.Account.__table__


def share(part: int, whole: int) -> float | None:
    """``part`` ÷ ``whole``, or None when there is nothing to divide by (the KPI is n/a)."""
    return part / whole if whole else None


def _cents(col: Any) -> Any:
    return type_coerce(col, BigInteger)


def _account_filter(ws: int, segment: str | None, account_col: Any) -> list[Any]:
    if segment is None:
        return []
    return [account_col.in_(select(ACC.c.id).where(ACC.c.workspace_id == ws, ACC.c.segment == segment))]


@dataclass
class RevenueFacts:
    """Aggregates for one month M; every money value is in cents."""

    month: dt.date
    nrr_base: int = 0
    nrr_current: int = 0
    grr_current: int = 0
    churn: dict[dt.date, tuple[int, int]] = field(default_factory=dict)  # month → (paying before, churned)
    expansion: dict[dt.date, int] = field(default_factory=dict)
    contraction: dict[dt.date, int] = field(default_factory=dict)
    mrr_total: int = 0
    paying: int = 0
    # Sample sizes (the scorecard says how few): accounts paying in M-12 (NRR, GRR) and accounts
    # with an expansion or a contraction in any flow month.
    base_accounts: int = 0
    expansion_accounts: int = 0
    contraction_accounts: int = 0

    def logo_churn(self, month: dt.date) -> float | None:
        before, churned = self.churn.get(month, (0, 0))
        return share(churned, before)


def revenue_facts(
    session: Session,
    ws: int,
    months_m: list[dt.date],
    flow_months: dict[dt.date, list[dt.date]],
    segment: str | None = None,
) -> dict[dt.date, RevenueFacts]:
    """Revenue aggregates for each M in ``months_m``; ``flow_months[M]`` lists the months whose
    expansion and contraction to add up (the months of the period)."""
    # Only the months some formula reads: M and M-12 (NRR, GRR), M-7 … M (logo churn of M and of
    # the six months before it, for CLV), and each flow month with the month before it.
    needed: set[dt.date] = set()
    for mm in months_m:
        needed.update((mm, add_months(mm, -12)))
        needed.update(add_months(mm, -k) for k in range(0, 8))
        for fm in flow_months.get(mm, []):
            needed.update((fm, add_months(fm, -1)))
    ordered = sorted(needed)
    index = {mo: i for i, mo in enumerate(ordered)}
    mrr = _cents(MRR.c.mrr)
    pivot = (
        select(
            MRR.c.account_id,
            *[
                func.coalesce(func.sum(mrr).filter(MRR.c.month == mo), 0).label(f"m{i}")
                for i, mo in enumerate(ordered)
            ],
        )
        .where(
            MRR.c.workspace_id == ws,
            MRR.c.month.in_(ordered),
            *_account_filter(ws, segment, MRR.c.account_id),
        )
        .group_by(MRR.c.account_id)
        .subquery("pivot")
    )

    def col(mo: dt.date) -> Any:
        return pivot.c[f"m{index[mo]}"]

    def total(cond: Any, value: Any = 1) -> Any:
        return func.coalesce(func.sum(case((cond, value), else_=0)), 0)

    exprs: dict[str, Any] = {}
    for mm in months_m:
        key, base, cur = mm.isoformat(), col(add_months(mm, -12)), col(mm)
        exprs[f"{key}:nrr_base"] = total(base > 0, base)
        exprs[f"{key}:nrr_current"] = total(base > 0, cur)
        exprs[f"{key}:grr_current"] = total(base > 0, case((cur < base, cur), else_=base))
        exprs[f"{key}:mrr_total"] = total(cur > 0, cur)
        exprs[f"{key}:paying"] = total(cur > 0)
        for k in range(0, 7):
            mo = add_months(mm, -k)
            prev, now = col(add_months(mo, -1)), col(mo)
            exprs[f"{key}:before:{mo}"] = total(prev > 0)
            exprs[f"{key}:churned:{mo}"] = total(and_(prev > 0, now == 0))
        exprs[f"{key}:base_accounts"] = total(base > 0)
        grew, shrank = [], []
        for mo in flow_months.get(mm, []):
            prev, now = col(add_months(mo, -1)), col(mo)
            grew.append(and_(prev > 0, now > prev))
            shrank.append(and_(prev > 0, now > 0, now < prev))
            exprs[f"{key}:exp:{mo}"] = total(grew[-1], now - prev)
            exprs[f"{key}:con:{mo}"] = total(shrank[-1], prev - now)
        exprs[f"{key}:exp_accounts"] = total(or_(*grew)) if grew else literal(0)
        exprs[f"{key}:con_accounts"] = total(or_(*shrank)) if shrank else literal(0)
    row = session.execute(select(*[e.label(f"e{i}") for i, e in enumerate(exprs.values())])).one()
    values = dict(zip(exprs, (int(v or 0) for v in row), strict=True))

    out: dict[dt.date, RevenueFacts] = {}
    for mm in months_m:
        key = mm.isoformat()
        facts = RevenueFacts(
            mm,
            values[f"{key}:nrr_base"],
            values[f"{key}:nrr_current"],
            values[f"{key}:grr_current"],
            mrr_total=values[f"{key}:mrr_total"],
            paying=values[f"{key}:paying"],
            base_accounts=values[f"{key}:base_accounts"],
            expansion_accounts=values[f"{key}:exp_accounts"],
            contraction_accounts=values[f"{key}:con_accounts"],
        )
        for k in range(0, 7):
            mo = add_months(mm, -k)
            facts.churn[mo] = (values[f"{key}:before:{mo}"], values[f"{key}:churned:{mo}"])
        for mo in flow_months.get(mm, []):
            facts.expansion[mo] = values[f"{key}:exp:{mo}"]
            facts.contraction[mo] = values[f"{key}:con:{mo}"]
        out[mm] = facts
    return out


# --- customer-success metrics --------------------------------------------------------------------


@dataclass(frozen=True)
class TimeToValue:
    median_days: float | None
    accounts: int
    overdue: int


def has_revenue(session: Session, ws: int) -> bool:
    """Whether any revenue (MRR) was imported for the workspace."""
    found = session.scalar(select(m.MrrSnapshot.id).where(m.MrrSnapshot.workspace_id == ws).limit(1))
    return found is not None


def time_to_value(
    session: Session, ws: int, start: dt.date, end: dt.date, segment: str | None = None
) -> TimeToValue:
    """Median days closed/won → first value over accounts reaching first value in [start, end)."""
    ms = m.Milestone.__table__
    days = days_from_closed_won(session, ws, "first_value", start, end, segment)
    overdue = session.scalar(
        select(func.count())
        .select_from(ms.join(ACC, ACC.c.id == ms.c.account_id))
        .where(
            ms.c.workspace_id == ws,
            ms.c.kind == "first_value",
            ms.c.target_on < end,
            (ms.c.achieved_on.is_(None)) | (ms.c.achieved_on >= end),
            *_segment(segment),
        )
    )
    return TimeToValue(statistics.median(days) if days else None, len(days), int(overdue or 0))


def _segment(segment: str | None) -> list[Any]:
    return [] if segment is None else [ACC.c.segment == segment]


def days_from_closed_won(
    session: Session, ws: int, kind: str, start: dt.date, end: dt.date, segment: str | None = None
) -> list[int]:
    """Days from closed/won to the ``kind`` milestone, for each account that achieved it in [start,
    end): time to value (first value) and onboarding time (kickoff)."""
    ms = m.Milestone.__table__
    in_period = [
        ms.c.workspace_id == ws,
        ms.c.kind == kind,
        ms.c.achieved_on >= start,
        ms.c.achieved_on < end,
    ]
    # Counted per number of days in the database: a few hundred rows back, not one per account.
    if session.get_bind().dialect.name == "sqlite":
        days = days_between(session, ACC.c.closed_won_on, ms.c.achieved_on)
        q = (
            select(days, func.count())
            .join(ACC, ACC.c.id == ms.c.account_id)
            .where(*in_period, ACC.c.closed_won_on.is_not(None), *_segment(segment))
            .group_by(days)
        )
    else:
        # PostgreSQL would hash every account for a month's milestones; a lookup of each one's
        # closed/won date by primary key takes half the time (issue 13's scorecard bench).
        won = select(ACC.c.closed_won_on).where(ACC.c.id == ms.c.account_id).correlate(ms).scalar_subquery()
        per_row = select(days_between(session, won, ms.c.achieved_on).label("days")).where(*in_period)
        if segment is not None:
            per_row = per_row.where(
                ms.c.account_id.in_(select(ACC.c.id).where(ACC.c.workspace_id == ws, *_segment(segment)))
            )
        counted = per_row.subquery("days")
        q = select(counted.c.days, func.count()).where(counted.c.days.is_not(None)).group_by(counted.c.days)
    return [int(d) for d, n in session.execute(q).all() for _ in range(int(n))]


def days_between(session: Session, earlier: Any, later: Any) -> Any:
    """Whole days from one date column to another, as an integer, on both databases."""
    return days_between_on(session.get_bind().dialect.name, earlier, later)


def days_between_on(dialect: str, earlier: Any, later: Any) -> Any:
    """``days_between`` for a database by its dialect's name (for statements built once per dialect)."""
    if dialect == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return later - earlier  # date − date is an integer on PostgreSQL


@dataclass(frozen=True)
class Adoption:
    adopted: int
    measured: int
    without_seats: int

    @property
    def value(self) -> float | None:
        return share(self.adopted, self.measured)


def adoption(
    session: Session, ws: int, as_of: dt.date, threshold: float, segment: str | None = None
) -> Adoption:
    """Paying accounts (MRR > 0 in M) whose mean DAU over the 28 days ending ``as_of`` is at least
    ``threshold`` × their licensed seats (seats on the latest day in the window that has them).

    The daily health snapshot stores exactly those two numbers per account; when ``as_of`` was
    snapshotted they are read from there (one row per account), otherwise computed from usage."""
    month = latest_complete_month(as_of + dt.timedelta(days=1))
    paying = (
        select(MRR.c.account_id)
        .where(
            MRR.c.workspace_id == ws,
            MRR.c.month == month,
            _cents(MRR.c.mrr) > 0,
            *_account_filter(ws, segment, MRR.c.account_id),
        )
        .subquery("paying")
    )
    hs = m.HealthSnapshot.__table__
    if session.scalar(select(hs.c.id).where(hs.c.workspace_id == ws, hs.c.day == as_of).limit(1)) is not None:
        per_account = (
            select(hs.c.account_id, hs.c.mean_dau.label("dau"), hs.c.seats.label("seats"))
            .where(hs.c.workspace_id == ws, hs.c.day == as_of)
            .subquery("usage28")
        )
    else:
        per_account = _usage_28_days(ws, as_of)
    seats, dau = per_account.c.seats, func.coalesce(per_account.c.dau, 0)
    no_seats = or_(seats.is_(None), seats <= 0)
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((no_seats, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(~no_seats, dau >= threshold * seats), 1), else_=0)), 0),
        )
        .select_from(paying)
        .outerjoin(per_account, per_account.c.account_id == paying.c.account_id)
    ).one()
    total, without, adopted = (int(v or 0) for v in row)
    return Adoption(adopted, total - without, without)


def _usage_28_days(ws: int, as_of: dt.date) -> Any:
    """Per account: mean DAU over the 28 days ending ``as_of`` and seats on the latest day with seats.
    One pass over the window (the covering index), then one seek per account for its seats."""
    u = m.UsageDaily.__table__
    per_account = (
        select(
            u.c.account_id,
            func.avg(u.c.active_users).label("dau"),
            func.max(u.c.day).filter(u.c.licensed_seats > 0).label("seat_day"),
        )
        .where(u.c.workspace_id == ws, u.c.day > as_of - dt.timedelta(days=28), u.c.day <= as_of)
        .group_by(u.c.account_id)
        .subquery("per_account")
    )
    seats = u.alias("seats")
    return (
        select(per_account.c.account_id, per_account.c.dau, seats.c.licensed_seats.label("seats"))
        .select_from(per_account)
        .outerjoin(
            seats, and_(seats.c.account_id == per_account.c.account_id, seats.c.day == per_account.c.seat_day)
        )
        .subquery("usage28")
    )


@dataclass(frozen=True)
class SaveRate:
    saved: int
    churned: int

    @property
    def value(self) -> float | None:
        return share(self.saved, self.saved + self.churned)


def save_rate(
    session: Session, ws: int, start: dt.date, end: dt.date, segment: str | None = None
) -> SaveRate:
    rf = m.RiskFlag.__table__
    rows: dict[str, int] = dict(
        session.execute(
            select(rf.c.outcome, func.count())
            .where(
                rf.c.workspace_id == ws,
                rf.c.resolved_on >= start,
                rf.c.resolved_on < end,
                rf.c.outcome.in_(("saved", "churned")),
                *_account_filter(ws, segment, rf.c.account_id),
            )
            .group_by(rf.c.outcome)
        ).all()
    )
    return SaveRate(int(rows.get("saved", 0)), int(rows.get("churned", 0)))


@dataclass(frozen=True)
class HealthIndex:
    value: float | None
    accounts: int
    paying: int


def health_index(session: Session, ws: int, as_of: dt.date, segment: str | None = None) -> HealthIndex:
    """ARR-weighted mean of the latest health score (on or before ``as_of``, within 90 days) of
    accounts paying in M.

    The snapshot job scores every account on the days it runs, so most accounts' latest score is on
    the workspace's latest snapshot day: one join. Only accounts without a score that day fall back
    to a per-account backwards seek on (account_id, day) — COALESCE evaluates it only for them."""
    hs = m.HealthSnapshot.__table__
    month = latest_complete_month(as_of + dt.timedelta(days=1))
    since = as_of - dt.timedelta(days=90)
    last_day = session.scalar(
        select(func.max(hs.c.day)).where(hs.c.workspace_id == ws, hs.c.day <= as_of, hs.c.day > since)
    )
    on_last_day = hs.alias("on_last_day")
    fallback = (
        select(hs.c.score)
        .where(hs.c.account_id == MRR.c.account_id, hs.c.day <= as_of, hs.c.day > since)
        .order_by(hs.c.day.desc())
        .limit(1)
        .correlate(MRR)
        .scalar_subquery()
    )
    mrr = _cents(MRR.c.mrr)
    scored = (
        select(func.coalesce(on_last_day.c.score, fallback).label("score"), mrr.label("mrr"))
        .select_from(MRR)
        .outerjoin(
            on_last_day, and_(on_last_day.c.account_id == MRR.c.account_id, on_last_day.c.day == last_day)
        )
        .where(
            MRR.c.workspace_id == ws,
            MRR.c.month == month,
            mrr > 0,
            *_account_filter(ws, segment, MRR.c.account_id),
        )
        .subquery("scored")
    )
    weighted, weight, count, paying = session.execute(
        select(
            func.sum(scored.c.score * scored.c.mrr),
            func.sum(case((scored.c.score.is_not(None), scored.c.mrr), else_=0)),
            func.count(scored.c.score),
            func.count(),
        )
    ).one()
    value = float(weighted) / float(weight) if weight else None
    return HealthIndex(value, int(count or 0), int(paying or 0))


@dataclass(frozen=True)
class SlaAdherence:
    met: int
    due: int

    @property
    def value(self) -> float | None:
        return share(self.met, self.due)


def sla_adherence(
    session: Session, ws: int, start: dt.datetime, end: dt.datetime, segment: str | None = None
) -> SlaAdherence:
    """Handoffs due in [start, end) (paused time extends the due time) completed by their due time.
    A handoff paused right now has no due time yet and is left out."""
    h = m.Handoff.__table__
    row = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(
                    case(
                        (and_(h.c.completed_at.is_not(None), h.c.completed_at <= h.c.effective_due_at), 1),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(
            h.c.workspace_id == ws,
            h.c.effective_due_at >= _naive(start),
            h.c.effective_due_at < _naive(end),
            h.c.paused_since.is_(None),
            *_account_filter(ws, segment, h.c.account_id),
        )
    ).one()
    return SlaAdherence(int(row[1]), int(row[0]))


def _naive(value: dt.datetime) -> Any:
    # Compare through the column type so SQLite gets the same text format it stores.
    return literal(value, m.UTCDateTime())


# --- cohorts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortPoint:
    quarter_end: dt.date  # the last month of quarter k
    logo: float
    revenue: float | None


@dataclass(frozen=True)
class Cohort:
    quarter: str  # "2025-Q3"
    size: int
    start_mrr_cents: int
    points: list[CohortPoint]

    def to_json(self) -> dict[str, Any]:
        return {
            "quarter": self.quarter,
            "size": self.size,
            "start_mrr": str(m.from_cents(self.start_mrr_cents)),
            "points": [
                {
                    "month": p.quarter_end.strftime("%Y-%m"),
                    "logo": round(p.logo, 6),
                    "revenue": None if p.revenue is None else round(p.revenue, 6),
                }
                for p in self.points
            ],
        }


def quarter_label(month: dt.date) -> str:
    return f"{month.year}-Q{(month.month - 1) // 3 + 1}"


def quarter_end_month(month: dt.date) -> dt.date:
    return add_months(quarter_start(month), 2)


def cohorts(session: Session, ws: int, last_month: dt.date, segment: str | None = None) -> list[Cohort]:
    """Logo and revenue retention by start quarter (quarter of the first paying month), at the last
    month of each quarter up to ``last_month``."""
    mrr = _cents(MRR.c.mrr)
    scope = (MRR.c.workspace_id == ws, *_account_filter(ws, segment, MRR.c.account_id))
    first = (
        select(MRR.c.account_id, func.min(MRR.c.month).label("first_month"))
        .where(*scope, mrr > 0)
        .group_by(MRR.c.account_id)
        .subquery("first")
    )
    start_mrr = MRR.alias("start_mrr")
    sizes = session.execute(
        select(first.c.first_month, func.count(), func.sum(_cents(start_mrr.c.mrr)))
        .join(
            start_mrr,
            and_(start_mrr.c.account_id == first.c.account_id, start_mrr.c.month == first.c.first_month),
        )
        .group_by(first.c.first_month)
    ).all()
    if not sizes:
        return []
    first_months = [f for f, _, _ in sizes]
    ends: list[dt.date] = []
    cursor = quarter_end_month(min(first_months))
    while cursor <= last_month:
        ends.append(cursor)
        cursor = add_months(cursor, 3)
    at = MRR.alias("at_end")
    points = (
        session.execute(
            select(
                first.c.first_month,
                at.c.month,
                func.sum(case((_cents(at.c.mrr) > 0, 1), else_=0)),
                func.sum(_cents(at.c.mrr)),
            )
            .join(at, at.c.account_id == first.c.account_id)
            .where(at.c.month.in_(ends))
            .group_by(first.c.first_month, at.c.month)
        ).all()
        if ends
        else []
    )

    by_quarter: dict[str, dict[str, Any]] = {}
    for first_month, size, start_cents in sizes:
        q = by_quarter.setdefault(
            quarter_label(first_month), {"size": 0, "start": 0, "at": {}, "end": first_month}
        )
        q["size"] += size
        q["start"] += int(start_cents or 0)
        q["end"] = quarter_end_month(first_month)
    for first_month, month, paying, cents in points:
        q = by_quarter[quarter_label(first_month)]
        logos, money = q["at"].get(month, (0, 0))
        q["at"][month] = (logos + int(paying or 0), money + int(cents or 0))
    out = []
    for label in sorted(by_quarter):
        q = by_quarter[label]
        pts = [
            CohortPoint(
                end,
                q["at"].get(end, (0, 0))[0] / q["size"],
                q["at"].get(end, (0, 0))[1] / q["start"] if q["start"] else None,
            )
            for end in ends
            if end >= q["end"]
        ]
        out.append(Cohort(label, q["size"], q["start"], pts))
    return out
