"""The account health score (docs/metrics.md, "Health score").

Scoring is a pure function of the inputs ``storage.health_inputs`` reads and the health policy.
Missing components are left out and the remaining weights renormalised; a score change is split
exactly over the components (`decompose`). The public functions below read the inputs (each in its
own transaction when it takes a `Database`) and return plain data.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from services.policies import HealthPolicy
from storage import health_inputs
from storage.db import Database
from storage.health_inputs import TREND_DAYS, HealthInputs


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
    conn: Session | Connection, ws: int, account_id: int, as_of: dt.date, policy: HealthPolicy
) -> AccountHealth:
    """Score now and 30 days ago, the trend and its top drivers, for one account (on the caller's
    connection: the /health card reads it in its own transaction).

    The score 30 days ago comes from that day's snapshot when the snapshot job ran then (the usual
    case), and is computed from the data as of that day otherwise."""
    then_day = as_of - dt.timedelta(days=TREND_DAYS)
    inputs, stored = health_inputs.stored_components(conn, ws, account_id, as_of, then_day)
    now = score(inputs, policy)
    if stored is not None:
        then = from_snapshot(stored, policy)
    else:
        then = score(health_inputs.gather_inputs(conn, ws, then_day, account_id)[account_id], policy)
    changes = decompose(now, then, policy)
    return AccountHealth(account_id, as_of, now, then, top_drivers(changes), changes)


def snapshot(session: Session, ws: int, day: dt.date, policy: HealthPolicy) -> int:
    """Write (or refresh) the health snapshot of every customer of ``day`` (won by then, not churned:
    ``storage.health_inputs``) in the caller's transaction
    (the daily job claims the day in the same one); returns how many were scored."""
    rows: list[dict[str, Any]] = []
    for aid, inp in health_inputs.gather_inputs(session, ws, day).items():
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
    health_inputs.write_snapshots(session, rows)
    return len(rows)


def snapshot_day(db: Database, ws: int, day: dt.date, policy: HealthPolicy) -> int:
    """`snapshot` in its own transaction."""
    with db.write() as session:
        return snapshot(session, ws, day, policy)


@dataclass(frozen=True)
class Mover:
    account_id: int
    name: str
    now: float
    then: float
    top: Driver | None  # the component that moved it most, under the current policy


def movers(session: Session, ws: int, as_of: dt.date, policy: HealthPolicy, limit: int) -> list[Mover]:
    """Accounts whose stored health moved most over 30 days (between the latest snapshot on or before
    ``as_of`` and the latest at least 30 days older), with the component that moved each most."""
    days = health_inputs.latest_snapshot_days(session, ws, as_of)
    if days is None:
        return []
    day, then_day = days
    rows = health_inputs.movers(session, ws, day, limit=limit, then_day=then_day)
    if not rows:
        return []
    ids = [aid for aid, _, _ in rows]
    names = health_inputs.account_names(session, ids)
    comps = health_inputs.components_of(session, ids, [day, then_day])
    out = []
    for aid, now, then in rows:
        new = from_snapshot(comps.get((aid, day)) or {}, policy)
        old = from_snapshot(comps.get((aid, then_day)) or {}, policy)
        top = drivers(new, old, policy, limit=1)
        out.append(Mover(aid, names.get(aid, "?"), now, then, top[0] if top else None))
    return out
