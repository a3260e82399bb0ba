"""The numbers behind the digest's charts and the health sparkline, computed from stored data and
returned as plain data (``digests.charts`` draws them; nothing here knows about images).

- NRR and GRR for each of the 12 months up to the digest's revenue month (the scorecard's M), each
  over its own trailing 12 months, exactly as the scorecard defines them (docs/metrics.md).
- Accounts by health band at the end of each of the last 12 weeks: the latest snapshot day of each
  week (a week without a snapshot has no bar).
- Logo retention by start quarter (the cohort table of ``retention-bot cohorts``), the latest 12 cohorts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from storage import charts as store
from storage import metrics
from storage.db import Database
from storage.periods import Period, add_months

MONTHS = 12
WEEKS = 12
COHORTS = 12
BANDS = ("green", "yellow", "red")
SPARK_DAYS = 90


@dataclass(frozen=True)
class RetentionMonth:
    month: dt.date
    nrr: float | None  # None: nobody was paying 12 months before
    grr: float | None


@dataclass(frozen=True)
class BandWeek:
    week_end: dt.date  # the week's last day (a Sunday)
    day: dt.date | None  # the snapshot day counted, None when the week has none
    counts: dict[str, int]  # band → accounts


@dataclass(frozen=True)
class CohortRow:
    quarter: str
    size: int
    logo: list[float]  # share of the cohort still paying at the end of quarter 0, 1, 2, …


@dataclass(frozen=True)
class ChartFacts:
    """Everything the digest's charts show; JSON-safe through ``to_json`` / ``from_json`` so the
    delivery ledger can carry it and a retry draws exactly the same pictures."""

    period: str  # "2026-W47": names the files
    label: str  # the digest's period label
    months: list[RetentionMonth]
    weeks: list[BandWeek]
    cohorts: list[CohortRow]
    nrr_target: float | None = None
    grr_target: float | None = None

    @property
    def has_retention(self) -> bool:
        return any(p.nrr is not None or p.grr is not None for p in self.months)

    @property
    def has_bands(self) -> bool:
        return any(w.day is not None for w in self.weeks)

    @property
    def has_cohorts(self) -> bool:
        return any(c.logo for c in self.cohorts)

    @property
    def empty(self) -> bool:
        return not (self.has_retention or self.has_bands or self.has_cohorts)

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "label": self.label,
            "months": [[p.month.isoformat(), p.nrr, p.grr] for p in self.months],
            "weeks": [
                [w.week_end.isoformat(), None if w.day is None else w.day.isoformat(), w.counts]
                for w in self.weeks
            ],
            "cohorts": [[c.quarter, c.size, c.logo] for c in self.cohorts],
            "nrr_target": self.nrr_target,
            "grr_target": self.grr_target,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChartFacts:
        return cls(
            period=str(data["period"]),
            label=str(data["label"]),
            months=[RetentionMonth(dt.date.fromisoformat(m), n, g) for m, n, g in data["months"]],
            weeks=[
                BandWeek(
                    dt.date.fromisoformat(end),
                    None if day is None else dt.date.fromisoformat(day),
                    {str(k): int(v) for k, v in counts.items()},
                )
                for end, day, counts in data["weeks"]
            ],
            cohorts=[CohortRow(str(q), int(s), [float(x) for x in logo]) for q, s, logo in data["cohorts"]],
            nrr_target=data.get("nrr_target"),
            grr_target=data.get("grr_target"),
        )


def period_key(as_of: dt.date) -> str:
    iso = Period.latest("week", as_of).start.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _retention(session: Session, ws: int, last_month: dt.date, segment: str | None) -> list[RetentionMonth]:
    months = [add_months(last_month, -k) for k in range(MONTHS - 1, -1, -1)]
    if not metrics.has_revenue(session, ws):
        return [RetentionMonth(mo, None, None) for mo in months]
    facts = metrics.revenue_facts(session, ws, months, {}, segment)
    return [
        RetentionMonth(
            mo,
            metrics.share(facts[mo].nrr_current, facts[mo].nrr_base),
            metrics.share(facts[mo].grr_current, facts[mo].nrr_base),
        )
        for mo in months
    ]


def _bands(session: Session, ws: int, last_day: dt.date, segment: str | None) -> list[BandWeek]:
    first = last_day - dt.timedelta(days=7 * WEEKS - 1)
    by_day = store.band_counts(session, ws, first, last_day, segment)
    weeks = []
    for k in range(WEEKS - 1, -1, -1):
        end = last_day - dt.timedelta(days=7 * k)
        days = [d for d in by_day if end - dt.timedelta(days=7) < d <= end]
        day = max(days) if days else None
        counts = {band: by_day[day].get(band, 0) for band in BANDS} if day else dict.fromkeys(BANDS, 0)
        weeks.append(BandWeek(end, day, counts))
    return weeks


def chart_facts_in(
    session: Session,
    ws: int,
    *,
    as_of: dt.date,
    segment: str | None = None,
    nrr_target: float | None = None,
    grr_target: float | None = None,
) -> ChartFacts:
    """The charts' numbers for the digest of ``as_of`` (the week before it, like the digest), in the
    caller's transaction. Targets (fractions, 1.1 = 110%) draw a dashed line when given."""
    period = Period.latest("week", as_of)
    last_month = period.revenue_month
    cohorts = [c for c in metrics.cohorts(session, ws, last_month, segment) if c.points][-COHORTS:]
    return ChartFacts(
        period=period_key(as_of),
        label=period.label,
        months=_retention(session, ws, last_month, segment),
        weeks=_bands(session, ws, period.last_day, segment),
        # (a cohort that started in the current quarter has no quarter end yet: nothing to show)
        cohorts=[CohortRow(c.quarter, c.size, [p.logo for p in c.points]) for c in cohorts],
        nrr_target=nrr_target,
        grr_target=grr_target,
    )


def chart_facts(
    db: Database,
    ws: int,
    *,
    as_of: dt.date,
    segment: str | None = None,
    nrr_target: float | None = None,
    grr_target: float | None = None,
) -> ChartFacts:
    """``chart_facts_in`` in its own read transaction."""
    with db.read() as session:
        return chart_facts_in(
            session, ws, as_of=as_of, segment=segment, nrr_target=nrr_target, grr_target=grr_target
        )


def health_history_in(
    session: Session, ws: int, account_id: int, *, today: dt.date, days: int = SPARK_DAYS
) -> list[float | None]:
    """One account's stored health score for each of the last ``days`` days up to ``today`` (oldest
    first), None on days without a snapshot."""
    first = today - dt.timedelta(days=days - 1)
    scores = store.score_history(session, ws, account_id, first, today)
    return [scores.get(first + dt.timedelta(days=k)) for k in range(days)]


def health_histories_in(
    session: Session, ws: int, external_ids: list[str], *, today: dt.date | None, days: int = SPARK_DAYS
) -> dict[str, list[float | None]]:
    """``health_history_in`` for several accounts (by CRM id) in one query; {} without ``today``."""
    if today is None or not external_ids:
        return {}
    first = today - dt.timedelta(days=days - 1)
    scores = store.score_histories(session, ws, external_ids, first, today)
    return {
        ext: [scores.get(ext, {}).get(first + dt.timedelta(days=k)) for k in range(days)]
        for ext in external_ids
    }
