"""The shared scorecard: every KPI of docs/metrics.md for a period, against the previous period,
with its owner teams — so that every team sees its part in retention."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.orm import Session

from services import goals
from services.errors import AlreadyShared, UnknownSegment
from services.lifecycle import lifecycle_values
from services.policies import Policies
from storage import metrics, revenue_facts
from storage.accounts import segments
from storage.db import Database
from storage.deliveries import claim_share
from storage.models import from_cents
from storage.periods import Period, PeriodKind, add_months, latest_complete_month

Unit = Literal["ratio", "money", "days", "score"]

# KPI key → (label, unit, owner teams); the order is the scorecard's order.
KPIS: dict[str, tuple[str, Unit, tuple[str, ...]]] = {
    "nrr": ("NRR (12 mo)", "ratio", ("leadership", "revops")),
    "grr": ("GRR (12 mo)", "ratio", ("leadership", "revops")),
    "logo_churn": ("Logo churn", "ratio", ("leadership", "revops")),
    "expansion_arr": ("Expansion ARR", "money", ("sales", "cs")),
    "contraction_arr": ("Contraction ARR", "money", ("sales", "cs")),
    "time_to_value_days": ("Time to value (days)", "days", ("cs", "product")),
    "adoption": ("Adoption", "ratio", ("product", "marketing")),
    "save_rate": ("Save rate", "ratio", ("cs", "support")),
    "health_index": ("Health index", "score", ("cs",)),
    "sla_adherence": ("Handoff SLA adherence", "ratio", ("sales", "cs", "support")),
    "clv": ("CLV", "money", ("finance", "revops")),
    # Lifecycle KPIs (issue 13; services/lifecycle.py, storage/lifecycle_metrics.py).
    "onboarding_time_days": ("Onboarding time (days)", "days", ("cs",)),
    "first_value_on_time": ("First value on time", "ratio", ("cs", "product")),
    "stage_conversion_onboarded": ("Closed/Won → Onboarded", "ratio", ("sales", "cs")),
    "stage_conversion_adopted": ("Onboarded → Adopted", "ratio", ("cs", "product")),
    "stage_conversion_champion": ("Adopted → Champion", "ratio", ("cs", "marketing")),
    "churn_risk_coverage": ("Churn risk coverage", "ratio", ("cs", "support")),
}


@dataclass(frozen=True)
class Value:
    value: Decimal | float | None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    unit: Unit
    owners: tuple[str, ...]
    current: Value
    previous: Value
    # Shared goals (services.goals): the target in force, the status against it, whether the change
    # moved the KPI's way, how many accounts or events the value rests on, and for revenue KPIs the
    # month M they describe (and the previous period's).
    target: goals.Target | None = None
    status: goals.Status = "no_target"
    good: bool | None = None
    sample: tuple[int, str] | None = None  # (n, "flags"): "from 2 flags"
    month: dt.date | None = None
    previous_month: dt.date | None = None

    @property
    def change(self) -> Decimal | float | None:
        cur, prev = self.current.value, self.previous.value
        if cur is None or prev is None:
            return None
        return cur - prev  # type: ignore[operator]

    @property
    def monthly(self) -> bool:
        """A revenue KPI on a weekly scorecard whose month is the one the week before showed: it
        changes monthly, so there is no weekly change to show."""
        return self.month is not None and self.month == self.previous_month

    @property
    def small_sample(self) -> bool:
        return self.sample is not None and self.sample[0] < goals.SMALL_SAMPLE


@dataclass(frozen=True)
class Scorecard:
    as_of: dt.date
    period: Period
    previous: Period
    segment: str | None
    currency: str
    kpis: list[Kpi]

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)

    def to_json(self) -> dict[str, Any]:
        def num(v: Decimal | float | None, unit: Unit) -> Any:
            if v is None:
                return None
            if unit == "money":
                return format(Decimal(v), "f")  # plain digits, never an exponent
            return round(float(v), 6)

        return {
            "as_of": self.as_of.isoformat(),
            "period": {
                "kind": self.period.kind,
                "start": self.period.start.isoformat(),
                "end": self.period.last_day.isoformat(),
                "label": self.period.label,
            },
            "previous_period": {
                "start": self.previous.start.isoformat(),
                "end": self.previous.last_day.isoformat(),
            },
            "revenue_month": self.period.revenue_month.strftime("%Y-%m"),
            "segment": self.segment,
            "currency": self.currency,
            "kpis": {
                k.key: {
                    "label": k.label,
                    "unit": k.unit,
                    "value": num(k.current.value, k.unit),
                    "previous": num(k.previous.value, k.unit),
                    "owners": list(k.owners),
                    "reason": k.current.reason,
                    "previous_reason": k.previous.reason,
                    "detail": k.current.detail,
                    **_goal_json(k),
                }
                for k in self.kpis
            },
        }


def _goal_json(k: Kpi) -> dict[str, Any]:
    """The shared-goal fields of a KPI in the JSON: target, status, good, sample, revenue month."""
    t = k.target
    return {
        "target": None
        if t is None
        else {
            "value": format(t.value, "f") if k.unit == "money" else float(t.value),
            "source": t.source,
            "segment": t.segment,
            "set_by": t.by,
            "set_at": None if t.at is None else t.at.isoformat(),
        },
        "status": k.status,
        "good": k.good,
        "direction": goals.direction(k.key, k.unit),
        "sample": None
        if k.sample is None
        else {"n": k.sample[0], "of": k.sample[1], "small": k.small_sample},
        "month": None if k.month is None else k.month.strftime("%Y-%m"),
        "changes_monthly": k.monthly,
    }


def _value(value: Decimal | float | None, reason: str, detail: dict[str, Any] | None = None) -> Value:
    """The value, or n/a with ``reason`` when it is undefined."""
    return Value(value, None if value is not None else reason, detail or {})


def _revenue_values(f: metrics.RevenueFacts, flows: list[dt.date], margin: Decimal) -> dict[str, Value]:
    m, base_month = f.month, add_months(f.month, -12)
    no_base = f"no account was paying in {base_month:%B %Y}"
    out = {
        "nrr": _value(metrics.share(f.nrr_current, f.nrr_base), no_base),
        "grr": _value(metrics.share(f.grr_current, f.nrr_base), no_base),
        "expansion_arr": Value(from_cents(12 * sum(f.expansion[mo] for mo in flows))),
        "contraction_arr": Value(from_cents(12 * sum(f.contraction[mo] for mo in flows))),
    }
    out["logo_churn"] = _value(f.logo_churn(m), f"no account was paying in {add_months(m, -1):%B %Y}")
    window = [add_months(m, -k) for k in range(6, 0, -1)]
    rates = [r for r in (f.logo_churn(mo) for mo in window) if r is not None]
    if not f.paying:
        out["clv"] = Value(None, f"no paying accounts in {m:%B %Y}")
    elif not rates:
        out["clv"] = Value(None, "no paying accounts in the six months before, so no churn rate")
    elif sum(rates) == 0:
        out["clv"] = Value(
            None, f"no logo churn from {window[0]:%b %Y} to {window[-1]:%b %Y}: lifetime is unbounded"
        )
    else:
        arpa = Decimal(f.mrr_total) / f.paying / 100
        mean_churn = Decimal(sum(rates)) / len(rates)
        out["clv"] = Value(
            (arpa * margin / mean_churn).quantize(Decimal("0.01")),
            detail={
                "arpa": str(arpa.quantize(Decimal("0.01"))),
                "monthly_churn": round(float(mean_churn), 6),
                "gross_margin": str(margin),
            },
        )
    return out


def _period_values(
    session: Session,
    ws: int,
    period: Period,
    policies: Policies,
    segment: str | None,
    facts: metrics.RevenueFacts,
) -> dict[str, Value]:
    out = _revenue_values(facts, period.flow_months, policies.gross_margin)
    ttv = metrics.time_to_value(session, ws, period.start, period.end, segment)
    out["time_to_value_days"] = _value(
        ttv.median_days,
        "no account reached first value in the period",
        {"accounts": ttv.accounts, "past_target_without_first_value": ttv.overdue},
    )
    ad = metrics.adoption(session, ws, period.last_day, policies.adoption_threshold, segment)
    out["adoption"] = _value(
        ad.value,
        "no paying account has seat data",
        {
            "adopted": ad.adopted,
            "measured": ad.measured,
            "without_seat_data": ad.without_seats,
            "threshold": policies.adoption_threshold,
        },
    )
    sr = metrics.save_rate(session, ws, period.start, period.end, segment)
    out["save_rate"] = _value(
        sr.value,
        "no risk flag was resolved in the period",
        {"saved": sr.saved, "churned": sr.churned},
    )
    hi = metrics.health_index(session, ws, period.last_day, segment)
    out["health_index"] = _value(
        None if hi.value is None else round(hi.value, 1),
        "no health snapshots of paying accounts yet: run `retention-bot health-snapshot`",
        {"scored_accounts": hi.accounts, "paying_accounts": hi.paying},
    )
    sla = metrics.sla_adherence(session, ws, period.start_utc, period.end_utc, segment)
    out["sla_adherence"] = _value(
        sla.value, "no handoff was due in the period", {"met": sla.met, "due": sla.due}
    )
    return out


def build_scorecard(
    session: Session,
    ws: int,
    *,
    as_of: dt.date,
    period_kind: PeriodKind,
    policies: Policies,
    segment: str | None = None,
    targets_at: dt.datetime | None = None,
) -> Scorecard:
    period = Period.latest(period_kind, as_of)
    previous = period.previous()
    flows = {period.revenue_month: period.flow_months, previous.revenue_month: previous.flow_months}
    # Kept up to date at import (storage/revenue_facts.py): no scan of every account's months.
    facts = revenue_facts.kpi_facts(session, ws, list(flows), flows, segment)
    has_revenue = metrics.has_revenue(session, ws)
    now = _period_values(session, ws, period, policies, segment, facts[period.revenue_month])
    before = _period_values(session, ws, previous, policies, segment, facts[previous.revenue_month])
    # The lifecycle KPIs of both periods together: the stage counts they share are read once.
    lifecycle = lifecycle_values(session, ws, [period, previous], segment)
    for values, extra in zip((now, before), lifecycle, strict=True):
        values.update(extra)
    if not has_revenue:
        for values in (now, before):
            for key in ("nrr", "grr", "logo_churn", "expansion_arr", "contraction_arr", "clv"):
                values[key] = Value(None, "no revenue data yet: `retention-bot import revenue FILE`")
    kpis = [
        Kpi(key, label, unit, owners, now[key], before[key]) for key, (label, unit, owners) in KPIS.items()
    ]
    kpis = _with_goals(
        session, ws, kpis, period, previous, policies, segment, facts[period.revenue_month], targets_at
    )
    return Scorecard(as_of, period, previous, segment, policies.currency, kpis)


REVENUE_KPIS = ("nrr", "grr", "logo_churn", "expansion_arr", "contraction_arr", "clv")

# Where each KPI's sample size is in its detail, and what it counts. A KPI may also give its own
# as detail["sample"] (a count) and detail["sample_of"] (what it counts).
SAMPLES: dict[str, tuple[str | tuple[str, ...], str]] = {
    "time_to_value_days": ("accounts", "accounts"),
    "adoption": ("measured", "accounts with seat data"),
    "save_rate": (("saved", "churned"), "flags"),
    "health_index": ("scored_accounts", "accounts scored"),
    "sla_adherence": ("due", "handoffs due"),
    "onboarding_time_days": ("accounts", "accounts"),
    "first_value_on_time": ("due", "accounts due"),
    "stage_conversion_onboarded": ("in_stage_at_start", "accounts in stage"),
    "stage_conversion_adopted": ("in_stage_at_start", "accounts in stage"),
    "stage_conversion_champion": ("in_stage_at_start", "accounts in stage"),
    "churn_risk_coverage": ("at_risk", "accounts at risk"),
}


def _sample(k: Kpi, facts: metrics.RevenueFacts) -> tuple[int, str] | None:
    detail = k.current.detail
    if "sample" in detail:
        return int(detail["sample"]), str(detail.get("sample_of", "accounts"))
    if k.key == "logo_churn":
        before, _ = facts.churn.get(facts.month, (0, 0))
        return before, f"accounts paying in {add_months(facts.month, -1):%b %Y}"
    if k.key == "clv":
        return facts.paying, "accounts paying"
    if k.key in ("nrr", "grr"):
        return facts.base_accounts, f"accounts paying in {add_months(facts.month, -12):%b %Y}"
    if k.key == "expansion_arr":
        return facts.expansion_accounts, "accounts expanding"
    if k.key == "contraction_arr":
        return facts.contraction_accounts, "accounts contracting"
    found = SAMPLES.get(k.key)
    if found is None:
        return None
    fields, noun = found
    names = (fields,) if isinstance(fields, str) else fields
    if not all(n in detail for n in names):
        return None
    return sum(int(detail[n]) for n in names), noun


def _with_goals(
    session: Session,
    ws: int,
    kpis: list[Kpi],
    period: Period,
    previous: Period,
    policies: Policies,
    segment: str | None,
    facts: metrics.RevenueFacts,
    targets_at: dt.datetime | None,
) -> list[Kpi]:
    """Each KPI with its configured owners, its target and status, a good or bad change and its
    sample size (services.goals). ``targets_at``: the targets as they were then (a past digest
    rebuilt), from the history alone; None: the targets in force now."""
    at = targets_at or dt.datetime.max.replace(tzinfo=dt.UTC)
    targets = goals.targets_in(session, ws, at, policies if targets_at is None else None)
    out = []
    for k in kpis:
        way = goals.direction(k.key, k.unit)
        target = targets.pick(k.key, period.kind, segment)
        revenue = k.key in REVENUE_KPIS
        k = replace(
            k,
            owners=goals.owners(k.key, k.owners, policies),
            target=target,
            status=goals.status(
                k.current.value, None if target is None else target.value, way, k.unit, policies.tolerance
            ),
            sample=_sample(k, facts),
            month=period.revenue_month if revenue else None,
            previous_month=previous.revenue_month if revenue else None,
        )
        out.append(replace(k, good=None if k.monthly else goals.good(k.change, way)))
    return out


def _check_segment(session: Session, ws: int, segment: str | None) -> None:
    if segment is None:
        return
    known = segments(session, ws)
    if segment not in known:
        raise UnknownSegment(segment, known)


def scorecard(
    db: Database,
    ws: int,
    *,
    as_of: dt.date,
    period: PeriodKind,
    policies: Policies,
    segment: str | None,
    targets_at: dt.datetime | None = None,
) -> Scorecard:
    """The shared scorecard for the period of ``as_of``; raises `UnknownSegment` for a segment no
    account is in (the CLI and /scorecard alike). ``targets_at``: show the targets in force then
    (from their history), as a scorecard built at that time showed them."""
    with db.read() as session:
        _check_segment(session, ws, segment)
        return build_scorecard(
            session,
            ws,
            as_of=as_of,
            period_kind=period,
            policies=policies,
            segment=segment,
            targets_at=targets_at,
        )


@dataclass(frozen=True)
class CohortReport:
    last_month: dt.date  # the latest complete month: the cohorts are measured through it
    cohorts: list[metrics.Cohort]


def cohorts(db: Database, ws: int, *, as_of: dt.date, segment: str | None) -> CohortReport:
    """Logo and revenue retention by start quarter through the latest complete month of ``as_of``;
    raises `UnknownSegment` like `scorecard`."""
    last = latest_complete_month(as_of)
    with db.read() as session:
        _check_segment(session, ws, segment)
        return CohortReport(last, metrics.cohorts(session, ws, last, segment))


def share(
    db: Database,
    ws: int,
    *,
    channel_id: str,
    subject: str,
    as_of: dt.date,
    period: PeriodKind,
    policies: Policies,
    segment: str | None,
    now: dt.datetime,
) -> Scorecard:
    """The scorecard to post in ``channel_id``, claimed once under ``subject`` in the delivery ledger;
    raises `AlreadyShared` on a second press, a double click or a retried request."""
    with db.write() as session:
        if not claim_share(session, ws, subject=subject, channel_id=channel_id, now=now):
            raise AlreadyShared(subject)
        return build_scorecard(
            session, ws, as_of=as_of, period_kind=period, policies=policies, segment=segment
        )
