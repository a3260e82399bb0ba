"""The account health score (docs/metrics.md, "Health score").

Inputs are gathered by grouped SQL for one account or all accounts at once; scoring is a pure
function of those inputs and the health policy. Missing components are left out and the remaining
weights renormalised; a score change is split exactly over the components (`decompose`).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    and_,
    bindparam,
    case,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from services.policies import HealthPolicy
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


def _weights(parts: dict[str, float], policy: HealthPolicy) -> dict[str, float]:
    return {k: policy.weights.get(k, 0.0) for k in parts}


def contributions(parts: dict[str, float], policy: HealthPolicy) -> dict[str, float]:
    """Each component's points in the score: its renormalised weight × its value."""
    weights = _weights(parts, policy)
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
    now: float | None  # the component's value now; None: it has no data now (it disappeared)
    then: float | None  # its value 30 days ago; None: it had no data then (it appeared)

    @property
    def note(self) -> str | None:
        """Why a component without a value at one end still moved the score."""
        if self.then is None:
            return "no data 30 days ago"
        if self.now is None:
            return "no data now"
        return None


def _over(parts: dict[str, float], keys: list[str], weights: dict[str, float]) -> float:
    """The score over ``keys`` alone: their weighted mean (0 when they weigh nothing)."""
    total = sum(weights[k] for k in keys)
    return sum(weights[k] * parts[k] for k in keys) / total if total > 0 else 0.0


def decompose(now: Score, then: Score, policy: HealthPolicy) -> list[Driver]:
    """The score change split exactly over the components (docs/metrics.md, "Top drivers").

    With C the components present at both ends, the change is (now − score over C now) + (score
    over C now − score over C then) + (score over C then − then). The middle term is each component
    of C's own change times its weight renormalised over C, so a component that rose never pulls the
    score down; the outer terms belong to the components that appeared (resp. disappeared): each
    its weight × (its value − the score over C) ÷ the total weight at its end, which for a single
    one is the whole term. (Comparing contributions under different renormalisations instead moved
    every component when one came or went.) Every component present at either end is listed,
    largest change first; the changes add up to the change of the unrounded score."""
    if not now.contributions or not then.contributions:
        return []
    weights = _weights({**then.components, **now.components}, policy)
    common = [k for k in now.contributions if k in then.contributions]
    w_common = sum(weights[k] for k in common)
    w_now = sum(weights[k] for k in now.contributions)
    w_then = sum(weights[k] for k in then.contributions)
    c_now, c_then = _over(now.components, common, weights), _over(then.components, common, weights)
    out = []
    for k in set(now.contributions) | set(then.contributions):
        v_now, v_then = now.components.get(k), then.components.get(k)
        if v_then is None:
            change = weights[k] * (now.components[k] - c_now) / w_now
        elif v_now is None:
            change = weights[k] * (c_then - v_then) / w_then
        else:
            change = weights[k] * (v_now - v_then) / w_common if w_common > 0 else 0.0
        out.append(Driver(k, change, v_now, v_then))
    out.sort(key=lambda d: (-abs(d.change), d.component))
    return out


def drivers(now: Score, then: Score, policy: HealthPolicy, limit: int = 3) -> list[Driver]:
    """The components that moved the score most, with at least 0.05 points each."""
    return top_drivers(decompose(now, then, policy), limit)


def top_drivers(changes: list[Driver], limit: int = 3) -> list[Driver]:
    return [d for d in changes if abs(d.change) >= 0.05][:limit]


# --- inputs from the database ----------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _p(name: str, type_: Any = None) -> Any:
    return bindparam(name, type_=type_ if type_ is not None else Date())


def one_of(col: Any, values: tuple[str, ...]) -> Any:
    """``col IN (values)`` for a fixed tuple, as ``=`` tests: an ``IN`` list is expanded into the SQL
    on every execution (SQLAlchemy's "post-compile" step), which the /health hot path pays for."""
    return or_(*(col == literal(v) for v in values))


@functools.cache
def _statements(scoped: bool) -> dict[str, Any]:
    """The input queries, built once with bound parameters (``ws``, dates and, when ``scoped``, one
    ``account_id``): a single account's health is on the /health hot path, where building the same
    expressions again on every call would cost more than running them."""

    def scope(col: Any, ws_col: Any) -> list[Any]:
        conds = [ws_col == bindparam("ws")]
        if scoped:
            conds.append(col == bindparam("account_id"))
        return conds

    acc, u, fc, f = (
        m.Account.__table__,
        m.UsageDaily.__table__,
        m.FeatureCatalogue.__table__,
        m.FeatureUsage.__table__,
    )
    t, tp, n = m.Ticket.__table__, m.Touchpoint.__table__, m.NpsResponse.__table__
    mr, rf = m.MrrSnapshot.__table__, m.RiskFlag.__table__
    next_day, since_89 = _p("next_day", m.UTCDateTime()), _p("since_89", m.UTCDateTime())
    window = [*scope(u.c.account_id, u.c.workspace_id), u.c.day > _p("d28"), u.c.day <= _p("as_of")]
    seat_day = (
        select(u.c.account_id, func.max(u.c.day).label("day"))
        .where(*window, u.c.licensed_seats > 0)
        .group_by(u.c.account_id)
        .subquery()
    )
    is_open = and_(t.c.opened_at < next_day, (t.c.closed_at.is_(None)) | (t.c.closed_at >= next_day))
    high = one_of(t.c.priority, HIGH_PRIORITIES)
    recent = and_(t.c.closed_at >= since_89, t.c.closed_at < next_day)
    cents = type_coerce(mr.c.mrr, BigInteger)
    month, before = _p("month"), _p("before")
    return {
        "accounts": select(acc.c.id).where(*scope(acc.c.id, acc.c.workspace_id)),
        "usage": select(u.c.account_id, func.avg(u.c.active_users).label("dau"))
        .where(*window)
        .group_by(u.c.account_id),
        "seats": select(u.c.account_id, u.c.licensed_seats.label("seats")).join(
            seat_day, and_(seat_day.c.account_id == u.c.account_id, seat_day.c.day == u.c.day)
        ),
        "features_total": select(func.count()).where(
            fc.c.workspace_id == bindparam("ws"), fc.c.first_seen <= _p("as_of"), fc.c.last_seen > _p("d28")
        ),
        "features": select(f.c.account_id, func.count(func.distinct(f.c.feature)).label("used"))
        .where(
            *scope(f.c.account_id, f.c.workspace_id),
            f.c.day > _p("d28"),
            f.c.day <= _p("as_of"),
            f.c.active_users > 0,
        )
        .group_by(f.c.account_id),
        "tickets_tracked": select(t.c.id).where(t.c.workspace_id == bindparam("ws")).limit(1),
        "tickets": select(
            t.c.account_id,
            func.sum(case((and_(is_open, high), 1), else_=0)).label("high"),
            func.sum(case((and_(is_open, not_(high)), 1), else_=0)).label("other"),
            func.avg(case((recent, t.c.csat), else_=None)).label("csat"),
        )
        .where(
            *scope(t.c.account_id, t.c.workspace_id),
            t.c.opened_at < next_day,
            (t.c.closed_at.is_(None)) | (t.c.closed_at >= since_89),
        )
        .group_by(t.c.account_id),
        "touch_tracked": select(tp.c.id).where(tp.c.workspace_id == bindparam("ws")).limit(1),
        "touch": select(
            tp.c.account_id,
            func.sum(case((one_of(tp.c.kind, WEIGHTY_TOUCHPOINTS), 2), else_=1)).label("weight"),
        )
        .where(
            *scope(tp.c.account_id, tp.c.workspace_id),
            tp.c.occurred_at >= since_89,
            tp.c.occurred_at < next_day,
        )
        .group_by(tp.c.account_id),
        "nps": select(n.c.account_id, func.avg(n.c.score).label("nps"))
        .where(
            *scope(n.c.account_id, n.c.workspace_id),
            n.c.responded_at >= _p("since_179", m.UTCDateTime()),
            n.c.responded_at < next_day,
        )
        .group_by(n.c.account_id),
        "mrr": select(
            mr.c.account_id,
            func.sum(case((mr.c.month == month, cents), else_=0)).label("now_cents"),
            func.sum(case((mr.c.month == before, cents), else_=0)).label("before_cents"),
        )
        .where(*scope(mr.c.account_id, mr.c.workspace_id), mr.c.month.in_([month, before]))
        .group_by(mr.c.account_id),
        "risk": select(rf.c.account_id)
        .distinct()
        .where(
            *scope(rf.c.account_id, rf.c.workspace_id),
            rf.c.flagged_on <= _p("as_of"),
            (rf.c.resolved_on.is_(None)) | (rf.c.resolved_on > _p("as_of")),
        ),
    }


GROUPED = ("usage", "seats", "features", "tickets", "touch", "nps", "mrr", "risk")


@functools.cache
def _joined() -> Any:
    """The same inputs for the account ``account_id`` in one statement: each grouped query of
    `_statements(True)` joined to its account row, the workspace-wide facts as scalar subqueries.
    One round trip instead of twelve on the /health hot path; the definitions stay the ones above."""
    q, acc = _statements(True), m.Account.__table__
    sub = {name: q[name].subquery(name) for name in GROUPED}
    joined: Any = acc
    for part in sub.values():
        joined = joined.outerjoin(part, part.c.account_id == acc.c.id)
    return (
        select(
            acc.c.id,
            sub["usage"].c.dau,
            sub["seats"].c.seats,
            q["features_total"].scalar_subquery().label("features_total"),
            sub["features"].c.used,
            q["tickets_tracked"].scalar_subquery().label("tickets_tracked"),
            sub["tickets"].c.high,
            sub["tickets"].c.other,
            sub["tickets"].c.csat,
            q["touch_tracked"].scalar_subquery().label("touch_tracked"),
            sub["touch"].c.weight,
            sub["nps"].c.nps,
            sub["mrr"].c.now_cents,
            sub["mrr"].c.before_cents,
            sub["risk"].c.account_id.label("risk"),
        )
        .select_from(joined)
        .where(acc.c.workspace_id == bindparam("ws"), acc.c.id == bindparam("account_id"))
    )


@functools.cache
def _with_snapshot() -> Any:
    """`_joined()` plus the account's stored snapshot of day ``then_day`` (the trend's other end)."""
    hs, acc = m.HealthSnapshot.__table__, m.Account.__table__
    stored = select(hs.c.components).where(
        hs.c.workspace_id == bindparam("ws"), hs.c.account_id == acc.c.id, hs.c.day == _p("then_day")
    )
    return _joined().add_columns(stored.scalar_subquery().label("then_components"))


def _params(ws: int, as_of: dt.date) -> dict[str, Any]:
    month = latest_complete_month(as_of + dt.timedelta(days=1))
    return {
        "ws": ws,
        "as_of": as_of,
        "d28": as_of - dt.timedelta(days=28),
        "next_day": _day_start(as_of + dt.timedelta(days=1)),
        "since_89": _day_start(as_of - dt.timedelta(days=89)),
        "since_179": _day_start(as_of - dt.timedelta(days=179)),
        "month": month,
        "before": add_months(month, -3),
    }


def _from_row(row: Any) -> HealthInputs:
    """One row of `_joined()` as the inputs `gather_inputs` builds query by query."""
    inp = HealthInputs()
    if row.dau is not None:
        inp.mean_dau, inp.has_usage = float(row.dau), True
    if row.seats is not None:
        inp.seats = int(row.seats)
    if row.features_total:
        inp.features_total, inp.features_used = int(row.features_total), int(row.used or 0)
    if row.tickets_tracked is not None:
        inp.tickets_tracked = True
        inp.open_high, inp.open_other = int(row.high or 0), int(row.other or 0)
        inp.csat = None if row.csat is None else float(row.csat)
    if row.touch_tracked is not None:
        inp.touchpoints_tracked, inp.touch_weight = True, float(row.weight or 0)
    if row.nps is not None:
        inp.nps = float(row.nps)
    inp.mrr_now, inp.mrr_before = int(row.now_cents or 0), int(row.before_cents or 0)
    inp.open_risk = row.risk is not None
    return inp


def gather_inputs(
    session: Session | Connection, ws: int, as_of: dt.date, account_id: int | None = None
) -> dict[int, HealthInputs]:
    """Health inputs at the end of ``as_of`` for one account (all accounts of ``ws`` if None).

    One account is read in one joined statement; the whole workspace query by query (grouped scans
    the planner can hash, where the joined form would build every aggregate first)."""
    params = _params(ws, as_of)
    if account_id is not None:
        params["account_id"] = account_id
        return {row.id: _from_row(row) for row in session.execute(_joined(), params)}
    q = _statements(False)
    out: dict[int, HealthInputs] = {a: HealthInputs() for a in session.scalars(q["accounts"], params)}
    if not out:
        return out
    for aid, dau in session.execute(q["usage"], params):
        out[aid].mean_dau, out[aid].has_usage = float(dau), True
    for aid, seats in session.execute(q["seats"], params):
        out[aid].seats = int(seats)
    total = int(session.scalar(q["features_total"], params) or 0)
    if total:
        for inp in out.values():
            inp.features_total = total
        for aid, used in session.execute(q["features"], params):
            out[aid].features_used = int(used)
    if session.scalar(q["tickets_tracked"], params) is not None:
        for inp in out.values():
            inp.tickets_tracked = True
        for aid, high, other, csat in session.execute(q["tickets"], params):
            inp = out[aid]
            inp.open_high, inp.open_other = int(high or 0), int(other or 0)
            inp.csat = None if csat is None else float(csat)
    if session.scalar(q["touch_tracked"], params) is not None:
        for inp in out.values():
            inp.touchpoints_tracked = True
        for aid, weight in session.execute(q["touch"], params):
            out[aid].touch_weight = float(weight)
    for aid, mean in session.execute(q["nps"], params):
        out[aid].nps = float(mean)
    for aid, now_c, before_c in session.execute(q["mrr"], params):
        out[aid].mrr_now, out[aid].mrr_before = int(now_c or 0), int(before_c or 0)
    for (aid,) in session.execute(q["risk"], params):
        out[aid].open_risk = True
    return out


def from_snapshot(components_: dict[str, float], policy: HealthPolicy) -> Score:
    """A score rebuilt from a snapshot's stored components under the current policy (so a trend and
    its drivers compare like with like even after the weights change)."""
    contrib = contributions(components_, policy)
    if not contrib:
        return Score(None, None, components_, {})
    value = float(math.floor(sum(contrib.values()) + 0.5))
    return Score(value, policy.bands.band(value), components_, contrib)


@dataclass
class AccountHealth:
    account_id: int
    as_of: dt.date
    now: Score
    then: Score
    drivers: list[Driver] = field(default_factory=list)  # the largest few, as cards show them
    changes: list[Driver] = field(default_factory=list)  # every component's share of the change

    @property
    def trend(self) -> float | None:
        if self.now.score is None or self.then.score is None:
            return None
        return round(self.now.score - self.then.score, 1)


def account_health(
    session: Session | Connection, ws: int, account_id: int, as_of: dt.date, policy: HealthPolicy
) -> AccountHealth:
    """Score now and 30 days ago, the trend and its top drivers, for one account.

    The score 30 days ago comes from that day's snapshot when the snapshot job ran then (the usual
    case), and is computed from the data as of that day otherwise."""
    then_day = as_of - dt.timedelta(days=TREND_DAYS)
    params = {**_params(ws, as_of), "account_id": account_id, "then_day": then_day}
    row = session.execute(_with_snapshot(), params).one()
    now, stored = score(_from_row(row), policy), row.then_components
    if stored is not None:
        then = from_snapshot({k: float(v) for k, v in stored.items()}, policy)
    else:
        then = score(gather_inputs(session, ws, then_day, account_id)[account_id], policy)
    changes = decompose(now, then, policy)
    return AccountHealth(account_id, as_of, now, then, top_drivers(changes), changes)


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


def movers(
    session: Session, ws: int, day: dt.date, limit: int = 5, then_day: dt.date | None = None
) -> list[tuple[int, float, float]]:
    """Accounts whose snapshot score moved most between ``then_day`` (default 30 days earlier) and
    ``day``: (account id, now, then)."""
    then_day = then_day or day - dt.timedelta(days=TREND_DAYS)
    hs, old = m.HealthSnapshot.__table__, m.HealthSnapshot.__table__.alias("old")
    rows = session.execute(
        select(hs.c.account_id, hs.c.score, old.c.score)
        .join(old, and_(old.c.account_id == hs.c.account_id, old.c.day == then_day))
        .where(hs.c.workspace_id == ws, hs.c.day == day)
        .order_by(func.abs(hs.c.score - old.c.score).desc(), hs.c.account_id)
        .limit(limit)
    ).all()
    return [(aid, now, then) for aid, now, then in rows]
