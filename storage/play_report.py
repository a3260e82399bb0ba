"""What plays achieved (METRICS.md "Churn risk coverage" and "Play outcomes"), read by a few grouped
queries over the whole workspace. The definitions, with a worked example, are in docs/plays.md.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, String, and_, func, select, type_coerce
from sqlalchemy.orm import Session

from storage import models as m
from storage.lifecycle_metrics import churn_risk_coverage
from storage.periods import add_months, latest_complete_month

ZERO = Decimal("0.00")
SAVE_WINDOW_DAYS = 90  # a saved play's ARR counts if the account still pays this many days after opening
EXPANSION_WINDOW_DAYS = 90  # expansion movements credited to a play: months starting in this window


def _money(cents: int) -> Decimal:
    return m.from_cents(cents) or ZERO


def _expansion_months(opened: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The months credited to a play opened that day, each with the month before it."""
    out = []
    month = add_months(opened, 1)
    last = opened + dt.timedelta(days=EXPANSION_WINDOW_DAYS)
    while month <= last:
        out.append((month, add_months(month, -1)))
        month = add_months(month, 1)
    return out


def _day_of(raw: Any) -> dt.date:
    """The UTC day of a stored time: a naive UTC datetime (PostgreSQL) or its ISO text (SQLite)."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    return dt.date.fromisoformat(str(raw)[:10])


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


@dataclass(frozen=True)
class Coverage:
    """At-risk paying accounts as of a day, and those of them with an owned open play."""

    at_risk: int
    covered: int

    @property
    def value(self) -> float | None:
        return None if self.at_risk == 0 else self.covered / self.at_risk


def coverage(session: Session, ws: int, day: dt.date) -> Coverage:
    """Churn risk coverage as of ``day``, the scorecard's own definition
    (``storage.lifecycle_metrics.churn_risk_coverage``, docs/metrics.md), so the plays report and the
    scorecard never disagree."""
    found = churn_risk_coverage(session, ws, day)
    return Coverage(found.at_risk, found.covered)


@dataclass
class PlayOutcome:
    """One play's line of the ROI table for a period."""

    play_key: str
    opened: int = 0
    closed: int = 0
    saved: int = 0
    expanded: int = 0
    churned: int = 0
    no_action: int = 0
    arr_saved: Decimal = Decimal("0.00")
    arr_expanded: Decimal = Decimal("0.00")
    saves_pending: int = 0  # closed as saved, 90 days after opening not reached yet: not in arr_saved

    @property
    def save_rate(self) -> float | None:
        """saved ÷ (saved + churned) of the plays closed in the period; None: none of either."""
        judged = self.saved + self.churned
        return None if judged == 0 else self.saved / judged

    def to_json(self) -> dict[str, Any]:
        return {
            "play": self.play_key,
            "opened": self.opened,
            "closed": self.closed,
            "saved": self.saved,
            "expanded": self.expanded,
            "churned": self.churned,
            "no_action": self.no_action,
            "save_rate": self.save_rate,
            "arr_saved": str(self.arr_saved),
            "arr_expanded": str(self.arr_expanded),
            "saves_pending": self.saves_pending,
        }


@dataclass
class Outcomes:
    start: dt.date
    end: dt.date  # the day after the last day
    plays: dict[str, PlayOutcome] = field(default_factory=dict)

    def line(self, key: str) -> PlayOutcome:
        if key not in self.plays:
            self.plays[key] = PlayOutcome(key)
        return self.plays[key]


def outcomes(session: Session, ws: int, start: dt.date, end: dt.date, as_of: dt.date) -> Outcomes:
    """Per play: opened in [start, end), closed in it and how; ARR saved (12 × MRR of the latest complete
    month when the play opened, for plays closed as saved in the period whose account still pays —
    MRR > 0 in the latest complete month at opening + 90 days — counted once that day is on or before
    ``as_of``); ARR expanded (12 × the expansion movements of the account in the months starting in
    the 90 days after opening, for every play closed in the period)."""
    result = Outcomes(start, end)
    p = m.Play
    s_utc, e_utc = _end_of(start - dt.timedelta(days=1)), _end_of(end - dt.timedelta(days=1))
    for key, n in session.execute(
        select(p.play_key, func.count())
        .where(p.workspace_id == ws, p.opened_at >= s_utc, p.opened_at < e_utc)
        .group_by(p.play_key)
    ).all():
        result.line(key).opened = int(n)
    closed_in = and_(p.workspace_id == ws, p.closed_at >= s_utc, p.closed_at < e_utc)
    for key, outcome, n in session.execute(
        select(p.play_key, p.outcome, func.count()).where(closed_in).group_by(p.play_key, p.outcome)
    ).all():
        line = result.line(key)
        line.closed += int(n)
        if outcome in ("saved", "expanded", "churned", "no_action"):
            setattr(line, outcome, getattr(line, outcome) + int(n))
    # Core rows (no ORM row bookkeeping) and MRR in integer cents (no Decimal per row): the same
    # sums, converted once per line at the end.
    conn = session.connection()
    # The opening time read raw (stored UTC) and only its day used, parsed once per distinct value.
    closed = conn.execute(
        select(p.account_id, p.play_key, type_coerce(p.opened_at, String), p.outcome).where(closed_in)
    ).all()
    if not closed:
        return result
    days: dict[Any, dt.date] = {}
    opened_days = []
    for _, _, raw, _ in closed:
        got = days.get(raw)
        if got is None:
            got = days[raw] = _day_of(raw)
        opened_days.append(got)
    first = min(add_months(latest_complete_month(d), -1) for d in opened_days)
    # The latest month read: the expansion window's last month start (the save check's month is earlier).
    last_month = max(d + dt.timedelta(days=max(SAVE_WINDOW_DAYS, EXPANSION_WINDOW_DAYS)) for d in opened_days)
    accounts = select(p.account_id).where(closed_in)
    mrr: dict[int, dict[dt.date, int]] = defaultdict(dict)
    mr = m.table(m.MrrSnapshot)
    # Months read raw and parsed once per distinct value (SQLite returns text; a dozen months here).
    parsed: dict[Any, dt.date] = {}
    for account, raw, cents in conn.execute(
        select(mr.c.account_id, type_coerce(mr.c.month, String), type_coerce(mr.c.mrr, Integer)).where(
            mr.c.workspace_id == ws,
            mr.c.month >= first,
            mr.c.month <= last_month,
            mr.c.account_id.in_(accounts),
        )
    ).all():
        month = parsed.get(raw)
        if month is None:
            month = parsed[raw] = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw)[:10])
        mrr[account][month] = int(cents)
    saved_cents: dict[str, int] = defaultdict(int)
    windows: dict[dt.date, list[tuple[dt.date, dt.date]]] = {}  # per opening day (a few hundred)
    expanded_cents: dict[str, int] = defaultdict(int)
    for (account, key, _, outcome), opened in zip(closed, opened_days, strict=True):
        line = result.line(key)
        months = mrr.get(account, {})
        if outcome == "saved":
            mark = opened + dt.timedelta(days=SAVE_WINDOW_DAYS)
            if mark > as_of:
                line.saves_pending += 1
            elif months.get(latest_complete_month(mark), 0) > 0:
                saved_cents[key] += 12 * months.get(latest_complete_month(opened), 0)
        if opened not in windows:
            windows[opened] = _expansion_months(opened)
        for month, previous in windows[opened]:
            now_c, before = months.get(month, 0), months.get(previous, 0)
            if now_c > before > 0:
                expanded_cents[key] += 12 * (now_c - before)
    for key, cents in saved_cents.items():
        result.line(key).arr_saved += _money(cents)
    for key, cents in expanded_cents.items():
        result.line(key).arr_expanded += _money(cents)
    return result
