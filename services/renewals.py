"""Renewals coming up: the accounts renewing in the next N days with their ARR, risk tier
(``services.risk``), health, open plays and owners — worst first — for ``/renewals`` and
``retention-bot renewals``.

ARR is twelve times the MRR of the latest complete month (as ``/health`` shows it), or of the latest
month before it that has a snapshot. Worst first: by risk tier (high, medium, low), then health score
(lowest first; no score after the scored ones of its tier), then ARR (largest first), then the
renewal date (soonest first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from services import risk
from services.errors import Refusal
from services.policies import Policies
from storage import renewals as store
from storage.db import Database
from storage.periods import latest_complete_month

MAX_DAYS = 730
TIER_ORDER = {"high": 0, "medium": 1, "low": 2}


class BadWindow(Refusal):
    """The number of days is not one the list can show."""


@dataclass(frozen=True)
class RenewalPlay:
    play_id: int
    key: str
    title: str
    state: str
    due_at: dt.datetime | None
    owner: str | None
    owner_slack: str | None


@dataclass(frozen=True)
class Renewal:
    account_id: int
    external_id: str
    name: str
    segment: str | None
    renewal_on: dt.date
    days_left: int
    arr: Decimal | None
    tier: str
    score: float | None
    band: str | None
    csm: str | None
    csm_slack: str | None
    ae: str | None
    ae_slack: str | None
    plays: list[RenewalPlay] = field(default_factory=list)


@dataclass(frozen=True)
class Renewals:
    today: dt.date
    days: int
    rows: list[Renewal]

    @property
    def arr_total(self) -> Decimal:
        return sum((r.arr for r in self.rows if r.arr is not None), Decimal(0))

    def arr_at(self, tier: str) -> Decimal:
        return sum((r.arr for r in self.rows if r.arr is not None and r.tier == tier), Decimal(0))


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise BadWindow(f"days must be between 1 and {MAX_DAYS}, not {days}")
    return days


def worst_first(r: Renewal) -> tuple[int, int, float, Decimal, dt.date, int]:
    return (
        TIER_ORDER.get(r.tier, 3),
        r.score is None,
        r.score if r.score is not None else 0.0,
        -(r.arr or Decimal(0)),
        r.renewal_on,
        r.account_id,
    )


def upcoming(db: Database, ws: int, *, days: int, today: dt.date, policies: Policies) -> Renewals:
    """The accounts renewing from ``today`` to ``today + days`` (inclusive), worst first."""
    check_days(days)
    with db.read() as session:
        month = latest_complete_month(today)  # ARR as /health shows it: the latest complete month
        rows = store.renewing(session, ws, today, today + dt.timedelta(days=days), month)
        ids = [r.account_id for r in rows]
        tiers = risk.risk_tiers(session, ws, today, policies, ids) if ids else {}
        open_plays = store.open_plays(session, ws, ids) if ids else []
    by_account: dict[int, list[RenewalPlay]] = {}
    for p in open_plays:
        play = policies.play(p.play_key)
        by_account.setdefault(p.account_id, []).append(
            RenewalPlay(
                p.play_id,
                p.play_key,
                play.title if play else p.play_key,
                p.state,
                p.due_at,
                p.owner,
                p.owner_slack,
            )
        )
    out = [
        Renewal(
            account_id=r.account_id,
            external_id=r.external_id,
            name=r.name,
            segment=r.segment,
            renewal_on=r.renewal_on,
            days_left=(r.renewal_on - today).days,
            arr=r.mrr * 12 if r.mrr is not None else None,
            tier=tiers.get(r.account_id, "low"),
            score=r.score,
            band=r.band,
            csm=r.csm,
            csm_slack=r.csm_slack,
            ae=r.ae,
            ae_slack=r.ae_slack,
            plays=by_account.get(r.account_id, []),
        )
        for r in rows
    ]
    out.sort(key=worst_first)
    return Renewals(today, days, out)
