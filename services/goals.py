"""Shared goals: the owner matrix (which teams own which KPI, the capability it measures), KPI targets
and their status (docs/metrics.md, "Targets").

Targets come from two layers: the policy file (``[kpis.<key>] targets``) and targets set from Slack
or the CLI, which replace the file's for the same KPI, period kind and segment. Every change of
either layer is kept in ``kpi_target_changes`` (``storage.targets``), so the targets a scorecard
showed at any past time can be read back (``targets_as_of``).

The pure rules — direction, tolerance, status, a good or bad change — are at the top; the services
that read and write targets below them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from sqlalchemy.orm import Session

from services.errors import UnknownSegment
from services.policies import Policies, Tolerance
from storage import targets as store
from storage.accounts import segments
from storage.db import Database
from storage.periods import PERIOD_KINDS, PeriodKind
from storage.targets import TargetChange, TargetKey

Direction = Literal["higher", "lower"]
Status = Literal["on_track", "at_risk", "off_track", "no_target", "no_value"]
Source = Literal["set", "policy"]

STATUS_WORDS: dict[Status, str] = {
    "on_track": "on track",
    "at_risk": "at risk",
    "off_track": "off track",
    "no_target": "no target",
    "no_value": "n/a",
}

# docs/metrics.md, "Targets". A KPI not listed: lower is better for days, higher for the rest.
DIRECTIONS: dict[str, Direction] = {
    "nrr": "higher",
    "grr": "higher",
    "logo_churn": "lower",
    "expansion_arr": "higher",
    "contraction_arr": "lower",
    "time_to_value_days": "lower",
    "adoption": "higher",
    "save_rate": "higher",
    "health_index": "higher",
    "sla_adherence": "higher",
    "clv": "higher",
    "onboarding_time_days": "lower",
    "first_value_on_time": "higher",
    "churn_risk_coverage": "higher",
    "stage_conversion": "higher",
    "stage_conversion_onboarded": "higher",
    "stage_conversion_adopted": "higher",
    "stage_conversion_champion": "higher",
}

# The capability of the maturity matrix each KPI measures (``[kpis.<key>] capability`` changes it).
CAPABILITIES: dict[str, str] = {
    "nrr": "Revenue retention",
    "grr": "Revenue retention",
    "logo_churn": "Revenue retention",
    "expansion_arr": "Expansion",
    "contraction_arr": "Expansion",
    "onboarding_time_days": "Onboarding and time to value",
    "time_to_value_days": "Onboarding and time to value",
    "first_value_on_time": "Onboarding and time to value",
    "stage_conversion": "Lifecycle",
    "stage_conversion_onboarded": "Lifecycle",
    "stage_conversion_adopted": "Lifecycle",
    "stage_conversion_champion": "Lifecycle",
    "adoption": "Adoption",
    "health_index": "Account health",
    "save_rate": "Risk and saves",
    "churn_risk_coverage": "Risk and saves",
    "sla_adherence": "Handoffs",
    "clv": "Lifetime value",
}
OTHER_CAPABILITY = "Other"

SMALL_SAMPLE = 10  # fewer accounts or events than this: the scorecard says how few


def direction(key: str, unit: str) -> Direction:
    return DIRECTIONS.get(key, "lower" if unit == "days" else "higher")


def _dec(value: Decimal | float) -> Decimal:
    """A KPI value as an exact decimal; a float's binary noise (0.1 + 0.2) is cut at 9 places."""
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(float(value))).quantize(Decimal("1e-9"))


def tolerance(unit: str, target: Decimal, tol: Tolerance) -> Decimal:
    """How far a value may miss ``target`` and be "at risk": points for ratios (2 points = 0.02) and
    scores, a share of the target for money and days."""
    if unit == "ratio":
        return tol.ratio_points / 100
    if unit == "score":
        return tol.score_points
    share = tol.money_percent if unit == "money" else tol.days_percent
    return abs(target) * share / 100


def shown(value: Decimal, unit: str) -> Decimal:
    """``value`` at the precision the scorecard shows it (blocks.format): a ratio to one decimal of
    a percent (0.001), money to whole units, days and scores to one decimal."""
    if unit == "ratio":
        return Decimal(f"{float(value) * 100:.1f}") / 100
    if unit == "money":
        return value.quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return Decimal(f"{float(value):.1f}")


def status(
    value: Decimal | float | None, target: Decimal | None, way: Direction, unit: str, tol: Tolerance
) -> Status:
    """On track when ``value`` meets ``target`` in the KPI's direction; at risk when it misses by at
    most the tolerance; off track beyond it. Both are compared as shown (`shown`), so a table never
    reads ``92.8% | target 92.8% | at risk``."""
    if target is None:
        return "no_target"
    if value is None:
        return "no_value"
    v, t = shown(_dec(value), unit), shown(target, unit)
    miss = (t - v) if way == "higher" else (v - t)
    if miss <= 0:
        return "on_track"
    return "at_risk" if miss <= tolerance(unit, t, tol) else "off_track"


def good(change: Decimal | float | None, way: Direction) -> bool | None:
    """True when ``change`` moves in the KPI's direction, False against it, None without a move."""
    if change is None:
        return None
    d = _dec(change)
    if d == 0:
        return None
    return (d > 0) == (way == "higher")


# --- targets in force ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    value: Decimal
    source: Source  # "set" from Slack or the CLI, "policy" from the policy file
    segment: str | None  # the segment it was set for; None: every segment
    by: str | None = None  # who set it (None for the policy file)
    at: dt.datetime | None = None  # when


@dataclass(frozen=True)
class Targets:
    """Both layers of targets at one time."""

    set: dict[TargetKey, TargetChange]
    policy: dict[TargetKey, Decimal]

    def pick(self, kpi: str, kind: str, segment: str | None) -> Target | None:
        """The segment's own target before the every-segment one; at each, a target set from Slack
        or the CLI before the policy file's."""
        for seg in ([segment] if segment is not None else []) + [None]:
            key = (kpi, kind, seg)
            change = self.set.get(key)
            if change is not None and change.new is not None:
                return Target(change.new, "set", seg, change.by, change.at)
            if key in self.policy:
                return Target(self.policy[key], "policy", seg)
        return None


def policy_targets(policies: Policies) -> dict[TargetKey, Decimal]:
    """The policy file's targets, keyed like the history."""
    out: dict[TargetKey, Decimal] = {}
    for kpi, goal in policies.kpis.items():
        for kind, value in goal.targets.items():
            out[(kpi, kind, None)] = plain(value)
        for segment, by_kind in goal.segments.items():
            for kind, value in by_kind.items():
                out[(kpi, kind, segment)] = plain(value)
    return out


def targets_in(session: Session, ws: int, at: dt.datetime, policies: Policies | None) -> Targets:
    """The targets in force at ``at``. With ``policies``, the policy layer is the file as it is now;
    without, the policy file's values as recorded in the history at ``at`` (a past scorecard)."""
    policy = policy_targets(policies) if policies is not None else store.in_force(session, ws, at, "policy")
    return Targets(store.in_force_changes(session, ws, at, "set"), policy)


def targets_as_of(db: Database, ws: int, at: dt.datetime) -> Targets:
    """The targets a scorecard built at ``at`` showed, read back from the history of changes."""
    with db.read() as session:
        return targets_in(session, ws, at, None)


def sync_policy_targets(db: Database, ws: int, policies: Policies, now: dt.datetime) -> int:
    """Record the policy file's targets in the history when they differ from the last recorded ones
    (a target added, changed or removed from the file); the number of changes recorded. Idempotent,
    and safe when replicas run it at once: the compare and the record are one write transaction
    holding the workspace's lock (``storage.targets.lock``), so a change is recorded once."""
    wanted = policy_targets(policies)
    with db.read() as session:  # the common case, nothing changed, takes no lock
        if store.in_force(session, ws, now, "policy") == wanted:
            return 0
    changed = 0
    with db.write() as session:
        store.lock(session, ws)
        recorded = store.in_force(session, ws, now, "policy")
        for key in sorted(set(wanted) | set(recorded), key=lambda k: (k[0], k[1], k[2] or "")):
            if store.record(session, ws, key, "policy", wanted.get(key), by=POLICY_FILE, at=now):
                changed += 1
    return changed


POLICY_FILE = "policy file"


# --- the owner matrix ----------------------------------------------------------------------------


def owners(key: str, default: Iterable[str], policies: Policies) -> tuple[str, ...]:
    goal = policies.kpis.get(key)
    return tuple(goal.owners) if goal is not None and goal.owners else tuple(default)


def capability(key: str, policies: Policies) -> str:
    goal = policies.kpis.get(key)
    if goal is not None and goal.capability:
        return goal.capability
    return CAPABILITIES.get(key, OTHER_CAPABILITY)


@dataclass(frozen=True)
class TargetLine:
    kind: str
    segment: str | None
    target: Target


@dataclass(frozen=True)
class MatrixRow:
    capability: str
    key: str
    label: str
    unit: str
    direction: Direction
    owners: tuple[str, ...]
    targets: list[TargetLine]  # in force now, week → quarter, every segment first


def _catalog() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    # Imported here: services.scorecard imports this module for the statuses it shows.
    from services.scorecard import KPIS

    return dict(KPIS)


def matrix(db: Database, ws: int, *, policies: Policies, now: dt.datetime) -> list[MatrixRow]:
    """The capability / owner teams / KPI / targets matrix, grouped by capability in the order of
    their first KPI on the scorecard."""
    with db.read() as session:
        targets = targets_in(session, ws, now, policies)
    keyed: dict[str, list[TargetLine]] = {}
    seen: set[TargetKey] = set()
    for key in sorted(
        set(targets.set) | set(targets.policy),
        key=lambda k: (PERIOD_KINDS.index(k[1]) if k[1] in PERIOD_KINDS else 9, k[2] or ""),
    ):
        kpi, kind, segment = key
        target = targets.pick(kpi, kind, segment)
        if target is None or target.segment != segment or key in seen:
            continue
        seen.add(key)
        keyed.setdefault(kpi, []).append(TargetLine(kind, segment, target))
    rows = [
        MatrixRow(
            capability(key, policies),
            key,
            label,
            unit,
            direction(key, unit),
            owners(key, default, policies),
            sorted(keyed.get(key, []), key=lambda t: (t.segment is not None, t.segment or "")),
        )
        for key, (label, unit, default) in _catalog().items()
    ]
    order = {c: i for i, c in reversed(list(enumerate(r.capability for r in rows)))}
    return sorted(rows, key=lambda r: order[r.capability])  # stable: scorecard order within


# --- setting targets -----------------------------------------------------------------------------


class TargetError(Exception):
    """A target that cannot be set as written; the message is one line saying what to write."""


_NUMBER = re.compile(r"^([+-]?\d+(?:[.,]\d+)?)\s*(%|k|m|d|days?)?$", re.IGNORECASE)


def parse_target(text: str, unit: str, currency_symbol: str = "$") -> Decimal:
    """``110%`` or ``1.10`` for a ratio, ``$50k`` / ``50000`` / ``1.2M`` for money, ``30`` or ``30d``
    for days, ``75`` for a score."""
    raw = text.strip().replace(currency_symbol, "").replace("$", "").replace("_", "")
    if raw.count(",") and "." not in raw and unit == "money":
        raw = raw.replace(",", "")  # 50,000
    found = _NUMBER.match(raw)
    if found is None:
        raise TargetError(f"{text!r} is not a target: {EXAMPLES[unit]}")
    try:
        number = Decimal(found.group(1).replace(",", "."))
    except InvalidOperation:
        raise TargetError(f"{text!r} is not a target: {EXAMPLES[unit]}") from None
    suffix = (found.group(2) or "").lower()
    if unit == "ratio":
        if suffix == "%":
            number = number / 100
        elif suffix or number > 2:
            raise TargetError(
                f"{text!r}: did you mean {number}%? write a percentage with its % sign ({EXAMPLES[unit]})"
            )
    elif unit == "money":
        if suffix not in ("", "k", "m"):
            raise TargetError(f"{text!r} is not an amount: {EXAMPLES[unit]}")
        number *= {"": 1, "k": 1_000, "m": 1_000_000}[suffix]
    elif unit == "days":
        if suffix not in ("", "d", "day", "days"):
            raise TargetError(f"{text!r} is not a number of days: {EXAMPLES[unit]}")
    elif suffix:
        raise TargetError(f"{text!r} is not a score from 0 to 100")
    problem = target_problem(number, unit)
    if problem is not None:
        raise TargetError(f"{text!r}: {problem}")
    return plain(number)


# The largest target of each unit (storage keeps six decimal places in a signed 64-bit integer of
# millionths, so about 9.2e12): a ratio up to 1000 % (10), money and days up to a trillion.
TARGET_MAX: dict[str, Decimal] = {
    "ratio": Decimal(10),
    "money": Decimal(10) ** 12,
    "days": Decimal(10) ** 12,
    "score": Decimal(100),
}


def target_problem(number: Decimal, unit: str) -> str | None:
    """What is wrong with ``number`` as a target of ``unit`` (one line), or None: the rule for the
    policy file's targets and for those set from Slack or the CLI alike."""
    if not number.is_finite():
        return "not a number"
    top = TARGET_MAX.get(unit, TARGET_MAX["money"])
    if not 0 <= number <= top:
        if unit == "ratio":
            return "out of range for a percentage: from 0% to 1000% (in the policy file, 1.10 for 110%)"
        if unit == "score":
            return "not a score from 0 to 100"
        noun = "an amount" if unit == "money" else "a number of days"
        if number < 0:
            return f"{noun} target is not negative"
        return f"too large: {noun} target is at most {top:,f}"
    if number != number.quantize(Decimal("0.000001")):
        return "has more than six decimal places"
    return None


def plain(number: Decimal) -> Decimal:
    """``number`` without trailing zeros and without an exponent: 50000, not 5E+4; 1.1, not 1.100."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


EXAMPLES = {
    "ratio": "a percentage like 110% (or 1.10)",
    "money": "an amount like $50k, 50000 or 1.2M",
    "days": "a number of days like 30",
    "score": "a score like 75",
}


@dataclass(frozen=True)
class TargetUpdate:
    kpi: str
    label: str
    unit: str
    kinds: list[PeriodKind]
    segment: str | None
    value: Decimal | None  # None: cleared
    changes: list[TargetChange]  # what was recorded (nothing when it already was so)
    # The target in force after the change, per kind: after a clear, the policy file's or the
    # every-segment one may apply (None: no target at all).
    in_force: dict[str, Target | None] = field(default_factory=dict)


def set_target(
    db: Database,
    ws: int,
    kpi: str,
    value: str | None,
    *,
    kinds: list[PeriodKind] | None,
    segment: str | None,
    by: str,
    now: dt.datetime,
    policies: Policies,
) -> TargetUpdate:
    """Set (``value``) or clear (None) the target of ``kpi`` for ``kinds`` (None: week, month and
    quarter) and ``segment`` (None: every segment), recording each change with who and when.
    Raises `TargetError` for an unknown KPI or a value it cannot read, `UnknownSegment` for a segment
    no account is in. Who may is the caller's check (admins)."""
    catalog = _catalog()
    if kpi not in catalog:
        raise TargetError(f"unknown KPI {kpi!r}; the KPIs are: {', '.join(catalog)}")
    label, unit, _ = catalog[kpi]
    number = None if value is None else parse_target(value, unit, _symbol(policies.currency))
    chosen = list(kinds or PERIOD_KINDS)
    sync_policy_targets(db, ws, policies, now)
    with db.write() as session:
        if segment is not None:
            known = segments(session, ws)
            if segment not in known:
                raise UnknownSegment(segment, known)
        changes = [
            change
            for kind in chosen
            if (change := store.record(session, ws, (kpi, kind, segment), "set", number, by=by, at=now))
        ]
        after = targets_in(session, ws, now, policies)
        in_force: dict[str, Target | None] = {kind: after.pick(kpi, kind, segment) for kind in chosen}
    return TargetUpdate(kpi, label, unit, chosen, segment, number, changes, in_force)


def _symbol(currency: str) -> str:
    return {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(currency, currency)


def history(db: Database, ws: int, kpi: str | None = None, limit: int = 50) -> list[TargetChange]:
    """The latest target changes, newest first."""
    with db.read() as session:
        return store.history(session, ws, kpi, limit)


# --- demo targets --------------------------------------------------------------------------------

DEMO_BY = "demo-data"
DEMO_STATUSES: tuple[Status, ...] = ("on_track", "at_risk", "off_track", "no_target")


def demo_target(value: Decimal | float, unit: str, way: Direction, wanted: Status) -> Decimal | None:
    """A target ``value`` meets (on track), misses within the default tolerance (at risk) or misses
    well beyond it (off track), rounded as a person would write it; None for "no target"."""
    v = _dec(value)
    sign = 1 if way == "higher" else -1  # a positive gap: the target is better than the value
    if unit in ("ratio", "score"):
        step = Decimal("0.01") if unit == "ratio" else Decimal("1")  # 1 point; tolerance is 2
        gaps: dict[Status, Decimal] = {"on_track": -step, "at_risk": step, "off_track": 10 * step}
        if wanted not in gaps:
            return None
        places = Decimal("0.001") if unit == "ratio" else Decimal("0.1")
        target = (v + sign * gaps[wanted]).quantize(places)
        return max(target, Decimal(0))
    shares: dict[Status, Decimal] = {
        "on_track": Decimal("-0.10"),
        "at_risk": Decimal("0.05"),
        "off_track": Decimal("0.50"),
    }
    if wanted not in shares:
        return None
    target = v * (1 + sign * shares[wanted])
    return max(target.quantize(Decimal("1") if unit == "money" else Decimal("0.1")), Decimal(0))


def seed_demo_targets(db: Database, ws: int, *, policies: Policies, as_of: dt.date, now: dt.datetime) -> int:
    """Targets for the demo data, so a new user sees every status: the KPIs in scorecard order are
    on track, at risk, off track and without a target in turn, for each period kind, all set by
    ``demo-data``. A target someone else set or cleared is left alone (a second ``demo-data`` does
    not bring back a target a person cleared). The number of targets recorded."""
    from services.scorecard import build_scorecard  # this module is imported by services.scorecard

    recorded = 0
    with db.write() as session:
        for kind in PERIOD_KINDS:
            card = build_scorecard(session, ws, as_of=as_of, period_kind=kind, policies=policies)
            ours = store.in_force_changes(session, ws, now, "set", cleared=True)
            for i, k in enumerate(card.kpis):
                change = ours.get((k.key, kind, None))
                if k.current.value is None or (change is not None and change.by != DEMO_BY):
                    continue
                wanted = DEMO_STATUSES[i % len(DEMO_STATUSES)]
                target = demo_target(k.current.value, k.unit, direction(k.key, k.unit), wanted)
                if store.record(session, ws, (k.key, kind, None), "set", target, by=DEMO_BY, at=now):
                    recorded += 1
    return recorded
