"""The scorecard cut by an account attribute: `retention-bot scorecard --by source|campaign|ae|csm|segment`
and `/scorecard by source`. One row per value: logo churn, NRR, GRR, time to value, first value on
time, accounts and early churn (accounts lost within 12 months of closed/won), small groups marked."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from storage import cuts as store
from storage.cuts import CUTS, CutBy
from storage.db import Database
from storage.periods import Period, PeriodKind

SMALL = 10  # fewer accounts than this: the row's ratios rest on too few accounts (docs/metrics.md, Display)
NONE_LABEL = "(none)"

__all__ = ["CUTS", "SMALL", "Cut", "CutBy", "CutRow", "cut"]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class CutRow:
    value: str  # the source, campaign, person's name or segment; "(none)" for accounts without one
    accounts: int
    paying: int  # accounts paying in M
    logo_churn: float | None  # month M
    nrr: float | None
    grr: float | None
    ttv_days: float | None
    ttv_accounts: int
    first_value_on_time: float | None
    first_value_due: int
    early_churn: float | None
    early_lost: int
    early_base: int

    @property
    def small(self) -> bool:
        return self.accounts < SMALL

    def to_json(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(float(v), 6)

        return {
            "value": self.value,
            "accounts": self.accounts,
            "paying": self.paying,
            "small": self.small,
            "logo_churn": r(self.logo_churn),
            "nrr": r(self.nrr),
            "grr": r(self.grr),
            "time_to_value_days": r(self.ttv_days),
            "time_to_value_accounts": self.ttv_accounts,
            "first_value_on_time": r(self.first_value_on_time),
            "first_value_due": self.first_value_due,
            "early_churn": r(self.early_churn),
            "early_churn_lost": self.early_lost,
            "early_churn_accounts": self.early_base,
        }


@dataclass(frozen=True)
class Cut:
    by: CutBy
    as_of: dt.date
    period: Period
    rows: list[CutRow]

    def to_json(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "as_of": self.as_of.isoformat(),
            "period": {
                "kind": self.period.kind,
                "start": self.period.start.isoformat(),
                "end": self.period.last_day.isoformat(),
                "label": self.period.label,
            },
            "revenue_month": self.period.revenue_month.strftime("%Y-%m"),
            "small_group_below": SMALL,
            "rows": [row.to_json() for row in self.rows],
        }


def _row(f: store.CutFacts) -> CutRow:
    rev = f.revenue
    return CutRow(
        value=NONE_LABEL if f.label is None else str(f.label),
        accounts=f.accounts,
        paying=rev.get("paying", 0),
        logo_churn=_share(rev.get("churned", 0), rev.get("paying_before", 0)),
        nrr=_share(rev.get("nrr_current", 0), rev.get("nrr_base", 0)),
        grr=_share(rev.get("grr_current", 0), rev.get("nrr_base", 0)),
        ttv_days=statistics.median(f.ttv_days) if f.ttv_days else None,
        ttv_accounts=len(f.ttv_days),
        first_value_on_time=_share(f.fv_on_time, f.fv_due),
        first_value_due=f.fv_due,
        early_churn=_share(f.early_lost, f.early_base),
        early_lost=f.early_lost,
        early_base=f.early_base,
    )


def cut(db: Database, ws: int, *, by: CutBy, as_of: dt.date, period: PeriodKind) -> Cut:
    """The scorecard cut ``by`` an attribute for the period of ``as_of``: most accounts first, accounts
    without a value last."""
    if by not in CUTS:
        raise ValueError(f"unknown cut {by!r}: use one of {', '.join(CUTS)}")
    with db.read() as session:
        return cut_in(session, ws, by=by, as_of=as_of, period=Period.latest(period, as_of))


def cut_in(session: Session, ws: int, *, by: CutBy, as_of: dt.date, period: Period) -> Cut:
    """``cut`` in the caller's transaction, for a period already chosen (the monthly digest's)."""
    facts = store.cut_facts(session, ws, by, period.revenue_month, period.start, period.end)
    rows = sorted(
        (_row(f) for f in facts if f.accounts), key=lambda r: (r.value == NONE_LABEL, -r.accounts, r.value)
    )
    return Cut(by, as_of, period, rows)
