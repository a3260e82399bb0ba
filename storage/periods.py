"""Calendar arithmetic for metrics: months, and the week / month / quarter periods of a scorecard.

A scorecard period is the latest *complete* period before the as-of date: on Monday 2026-11-23 the
week is 2026-11-16 … 2026-11-22, the month October 2026 and the quarter 2026-Q3.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

PeriodKind = Literal["week", "month", "quarter"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("week", "month", "quarter")


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def latest_complete_month(as_of: dt.date) -> dt.date:
    """M in docs/metrics.md: the latest complete calendar month at ``as_of`` (2026-11-23 → 2026-10-01)."""
    return add_months(as_of.replace(day=1), -1)


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, ((day.month - 1) // 3) * 3 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: dt.date  # first day
    end: dt.date  # the day after the last day
    # The date the period was chosen at: a week's revenue month is the latest complete at it.
    as_of: dt.date | None = field(default=None, compare=False)

    @classmethod
    def latest(cls, kind: PeriodKind, as_of: dt.date) -> Period:
        if kind == "week":
            end = as_of - dt.timedelta(days=as_of.weekday())
            return cls(kind, end - dt.timedelta(days=7), end, as_of)
        if kind == "month":
            end = as_of.replace(day=1)
            return cls(kind, add_months(end, -1), end)
        end = quarter_start(as_of)
        return cls(kind, add_months(end, -3), end)

    def previous(self) -> Period:
        if self.kind == "week" and self.as_of is not None:
            # The scorecard of a week before: its revenue month is the one it showed then.
            return Period.latest(self.kind, self.as_of - dt.timedelta(days=7))
        return Period.latest(self.kind, self.start)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def revenue_month(self) -> dt.date:
        """M for the period's revenue KPIs: for a month or a quarter, the latest month complete when
        the period ends; for a week, the latest complete month at the as-of date, the same month as
        the month scorecard of that date (on Tuesday 2026-12-01 both say November, though the week
        reported, Nov 23–29, ended before November did)."""
        if self.kind == "week" and self.as_of is not None:
            return latest_complete_month(self.as_of)
        return latest_complete_month(self.end)

    @property
    def flow_months(self) -> list[dt.date]:
        """The months whose expansion and contraction the period adds up. Revenue is monthly, so a
        week reports the latest complete month."""
        if self.kind == "quarter":
            return [add_months(self.start, k) for k in range(3)]
        return [self.revenue_month]

    @property
    def start_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), dt.UTC)

    @property
    def end_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(), dt.UTC)

    @property
    def label(self) -> str:
        if self.kind == "week":
            iso = self.start.isocalendar()
            return f"week {iso.week} of {iso.year} ({self.start:%b %d} – {self.last_day:%b %d})"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
