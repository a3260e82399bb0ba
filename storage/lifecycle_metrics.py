"""The lifecycle KPIs of docs/metrics.md: onboarding time, first-value on time, stage conversion with
days in stage, and churn risk coverage. SQL only; each takes a workspace and an optional segment."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from storage import models as m
from storage import stage_dates
from storage.metrics import days_between_on
from storage.periods import latest_complete_month

ACC = m.table(m.Account)
MS = m.table(m.Milestone)
MRR = m.table(m.MrrSnapshot)
RF = m.table(m.RiskFlag)
HS = m.table(m.HealthSnapshot)
SD = m.table(m.AccountStage)
PLAY = m.table(m.Play)

# The lifecycle stages whose conversion is measured, in order (entry rules: storage/stage_dates.py).
STAGES = ("closed_won", "onboarded", "adopted", "champion")
STAGE_LABELS = {
    "closed_won": "Closed/Won",
    "onboarded": "Onboarded",
    "adopted": "Adopted",
    "champion": "Champion",
}


@dataclass(frozen=True)
class OnboardingTime:
    median_days: float | None
    accounts: int


def onboarding_time(
    session: Session, ws: int, start: dt.date, end: dt.date, segment: str | None = None
) -> OnboardingTime:
    """Median days closed/won → kickoff achieved, over accounts whose kickoff was achieved in [start, end)
    (and that have a closed/won date). Both dates as recorded, kept beside the stage dates
    (``storage.stage_dates``): one index range, counted per number of days."""
    stmt = _onboarding_statement(session.get_bind().dialect.name, segment is not None)
    params: dict[str, Any] = {"ws": ws, "start": start, "end": end, "segment": segment}
    if segment is None:
        del params["segment"]
    counted = [(int(d), int(n)) for d, n in session.execute(stmt, params).all()]
    return OnboardingTime(_median_counted(counted), sum(n for _, n in counted))


@functools.cache
def _onboarding_statement(dialect: str, segmented: bool) -> Any:
    """``onboarding_time``'s statement, bound as ws, start, end and segment."""
    days = days_between_on(dialect, SD.c.account_closed_won_on, SD.c.kickoff_on)
    q = (
        select(days, func.count())
        .where(
            SD.c.workspace_id == bindparam("ws", type_=Integer),
            SD.c.kickoff_on >= bindparam("start", type_=Date),
            SD.c.kickoff_on < bindparam("end", type_=Date),
            SD.c.account_closed_won_on.is_not(None),
        )
        .group_by(days)
    )
    if segmented:
        q = q.where(SD.c.account_id.in_(_in_segment()))
    return q


@dataclass(frozen=True)
class FirstValueOnTime:
    on_time: int
    due: int

    @property
    def value(self) -> float | None:
        return self.on_time / self.due if self.due else None


def first_value_on_time(
    session: Session, ws: int, start: dt.date, end: dt.date, segment: str | None = None
) -> FirstValueOnTime:
    """Accounts whose first-value target date fell in [start, end) and that achieved first value on or
    before it ÷ accounts whose first-value target date fell in [start, end)."""
    params: dict[str, Any] = {"ws": ws, "start": start, "end": end}
    if segment is not None:
        params["segment"] = segment
    due, met = session.execute(_first_value_statement(segment is not None), params).one()
    return FirstValueOnTime(int(met or 0), int(due or 0))


@functools.cache
def _first_value_statement(segmented: bool) -> Any:
    """``first_value_on_time``'s statement, bound as ws, start, end and segment."""
    on_time = and_(MS.c.achieved_on.is_not(None), MS.c.achieved_on <= MS.c.target_on)
    q = select(func.count(), func.count().filter(on_time)).where(
        MS.c.workspace_id == bindparam("ws", type_=Integer),
        MS.c.kind == "first_value",
        MS.c.target_on >= bindparam("start", type_=Date),
        MS.c.target_on < bindparam("end", type_=Date),
    )
    if segmented:
        q = q.where(MS.c.account_id.in_(_in_segment()))
    return q


def _in_segment() -> Any:
    """The ids of the workspace's accounts in the segment, bound as ws and segment."""
    return select(ACC.c.id).where(
        ACC.c.workspace_id == bindparam("ws", type_=Integer), ACC.c.segment == bindparam("segment")
    )


# --- stage conversion ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageStep:
    """From stage ``stage`` to the next one, over a period."""

    stage: str
    next_stage: str
    at_start: int  # accounts in ``stage`` at the period's start
    converted: int  # of those, accounts that entered ``next_stage`` (or beyond) in the period
    left: int  # accounts that left ``stage`` in the period (whenever they entered it)
    median_days: float | None  # median days in ``stage`` of those that left it in the period

    @property
    def value(self) -> float | None:
        return self.converted / self.at_start if self.at_start else None

    @property
    def label(self) -> str:
        return f"{STAGE_LABELS[self.stage]} → {STAGE_LABELS[self.next_stage]}"


def stage_conversion(
    session: Session, ws: int, start: dt.date, end: dt.date, segment: str | None = None
) -> list[StageStep]:
    """For each adjacent pair of ``STAGES``: accounts in stage s at ``start`` (entered s before it, not yet
    s+1) that entered s+1 in [start, end) ÷ accounts in s at ``start``; and the median days spent in s
    by the accounts that left s in [start, end)."""
    return stage_conversions(session, ws, [(start, end)], segment)[0]


def stage_conversions(
    session: Session, ws: int, spans: Sequence[tuple[dt.date, dt.date]], segment: str | None = None
) -> list[list[StageStep]]:
    """``stage_conversion`` of each [start, end) of ``spans`` (a scorecard's period and the one before),
    read together.

    Each account's stage entry dates are kept up to date at every write (``storage.stage_dates``, where
    the rules are). They never run backwards (entering s+1 implies having entered s, no later), so the
    accounts in s at a start are those that entered s before it less those that entered s+1 before it:
    per stage one indexed count before the earliest start, and a short range up to each later start.
    The accounts that entered a stage in a period are counted by their days in the stage before, and
    the database keeps of those counts only the conversions, the total and the one or two rows where
    the median falls (a running sum over the days) — never one row per account, nor per day.
    Both statements are built once per shape (``_stage_counts``, ``_stage_spread``); a call binds."""
    if not spans:
        return []
    dialect = session.get_bind().dialect.name
    starts = sorted({start for start, _ in spans})
    params: dict[str, Any] = {"ws": ws, **{f"s{k}": s for k, s in enumerate(starts)}}
    for j, (start, end) in enumerate(spans):
        params[f"start{j}"], params[f"end{j}"] = start, end
    if segment is not None:
        params["segment"] = segment
    n_dates = len(stage_dates.COLUMNS)
    counts = session.execute(_stage_counts(segment is not None, len(starts)), params).one()
    row = [int(n or 0) for n in counts]
    base = row[:n_dates]
    before = {
        s: [base[k] + (row[j * n_dates + k] if j else 0) for k in range(n_dates)]
        for j, s in enumerate(starts)
    }
    # Per (period, stage): the rows (days, first index, index after) around the median, with the total
    # that left the stage and the conversions.
    around: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    totals: dict[tuple[int, int], tuple[int, int]] = {}
    stmt = _stage_spread(dialect, segment is not None, len(spans))
    for j, i, days_in, first, upto, total, conv in session.execute(stmt, params).all():
        around.setdefault((int(j), int(i)), []).append((int(days_in), int(first), int(upto)))
        totals[(int(j), int(i))] = (int(total), int(conv or 0))
    out = []
    for j, (start, _) in enumerate(spans):
        counts_at = before[start]
        steps = []
        for i in (1, 2, 3):
            left, converted = totals.get((j, i), (0, 0))
            steps.append(
                StageStep(
                    STAGES[i - 1],
                    STAGES[i],
                    counts_at[i - 1] - counts_at[i],
                    converted,
                    left,
                    _median_around(around.get((j, i), []), left),
                )
            )
        out.append(steps)
    return out


def _stage_scope(segmented: bool) -> list[Any]:
    scope = [SD.c.workspace_id == bindparam("ws", type_=Integer)]
    if segmented:
        scope.append(SD.c.account_id.in_(_in_segment()))
    return scope


@functools.cache
def _stage_counts(segmented: bool, n_starts: int) -> Any:
    """Per distinct start s0 < s1 < …: for each stage date, the accounts that entered it before s0,
    then those that entered it in [s0, sk) — bound as ws, segment, s0, s1, …"""
    dates = [SD.c[c] for c in stage_dates.COLUMNS]
    scope = _stage_scope(segmented)
    starts = [bindparam(f"s{k}", type_=Date) for k in range(n_starts)]
    first = starts[0]
    counts = [
        select(func.count()).where(*scope, d < first if k == 0 else and_(d >= first, d < s)).scalar_subquery()
        for k, s in enumerate(starts)
        for d in dates
    ]
    return select(*counts)


@functools.cache
def _stage_spread(dialect: str, segmented: bool, n_spans: int) -> Any:
    """Per span j (bound as start<j>, end<j>) and stage step i: the accounts that entered stage i in
    the span, counted by their days in stage i-1 — of which those in stage i-1 at the span's start —
    reduced by the database to the rows where the median falls: (j, i, days, first index, index after,
    total, converted), indexes 0-based in the order of the days."""
    dates = [SD.c[c] for c in stage_dates.COLUMNS]
    scope = _stage_scope(segmented)
    parts = []
    for j in range(n_spans):
        start, end = bindparam(f"start{j}", type_=Date), bindparam(f"end{j}", type_=Date)
        for i in (1, 2, 3):
            entered, left = dates[i - 1], dates[i]
            days = days_between_on(dialect, entered, left)
            parts.append(
                select(
                    literal(j).label("j"),
                    literal(i).label("i"),
                    days.label("days"),
                    func.count().label("n"),
                    func.count().filter(entered < start).label("n_in"),
                )
                .where(*scope, left >= start, left < end)
                .group_by(days)
            )
    grouped = union_all(*parts).subquery("grouped")
    key = (grouped.c.j, grouped.c.i)
    ranked = select(
        grouped.c.j,
        grouped.c.i,
        grouped.c.days,
        grouped.c.n,
        func.sum(grouped.c.n).over(partition_by=key, order_by=grouped.c.days).label("upto"),
        func.sum(grouped.c.n).over(partition_by=key).label("total"),
        func.sum(grouped.c.n_in).over(partition_by=key).label("conv"),
    ).subquery("ranked")
    first = ranked.c.upto - ranked.c.n
    # The row holds indexes [first, upto); the median's are (total-1)//2 and total//2: integers only
    # (a sum is numeric on PostgreSQL, where / would not truncate).
    return select(
        ranked.c.j, ranked.c.i, ranked.c.days, first, ranked.c.upto, ranked.c.total, ranked.c.conv
    ).where(2 * first <= ranked.c.total, 2 * (ranked.c.upto - 1) >= ranked.c.total - 2)


def _median_around(rows: list[tuple[int, int, int]], n: int) -> float | None:
    """The median of ``n`` values given the rows (value, first index, index after) that hold the
    middle ones (indexes in ascending order of value) — as ``_median_counted``."""
    if not n:
        return None

    def nth(index: int) -> int:
        for value, first, after in rows:
            if first <= index < after:
                return value
        raise IndexError(index)

    if n % 2:
        return nth(n // 2)
    return (nth(n // 2 - 1) + nth(n // 2)) / 2


def _median_counted(counted: list[tuple[int, int]]) -> float | None:
    """``statistics.median`` of the values ``counted`` gives as (value, how many times) pairs."""
    n = sum(k for _, k in counted)
    if not n:
        return None
    ordered = sorted(counted)

    def nth(index: int) -> int:
        for value, k in ordered:
            if index < k:
                return value
            index -= k
        raise IndexError(index)

    if n % 2:
        return nth(n // 2)
    return (nth(n // 2 - 1) + nth(n // 2)) / 2


# --- churn risk coverage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskCoverage:
    covered: int
    at_risk: int
    red: int  # at-risk accounts in the red health band
    flagged: int  # at-risk accounts with an open risk flag

    @property
    def value(self) -> float | None:
        return self.covered / self.at_risk if self.at_risk else None


def _open_flag(day: Any) -> Any:
    """A risk flag open on ``day``: raised by then and not resolved by then."""
    return and_(RF.c.flagged_on <= day, or_(RF.c.outcome == "open", RF.c.resolved_on > day))


def _open_play(ws: Any, end: Any, account: Any) -> Any:
    """Whether ``account`` had an open play of the bot with an owner at ``end``, the midnight after the
    day (docs/plays.md: opened by a signal, by hand or imported). An index seek by account. (A risk
    flag open that day with an owner counts as a play too — the save play a CRM runs, imported as a risk
    flag, docs/import.md — and ``churn_risk_coverage`` reads that from the open flags it has already
    read.)"""
    return exists(select(PLAY.c.account_id)).where(
        PLAY.c.account_id == account,
        PLAY.c.workspace_id == ws,
        PLAY.c.owner_id.is_not(None),
        PLAY.c.opened_at < end,
        or_(PLAY.c.closed_at.is_(None), PLAY.c.closed_at >= end),
    )


# Rendered into the statement, not bound: the partial index of red scores is used only when the query
# names the same literal (SQLite cannot match a bound parameter against an index's WHERE).
RED: Any = literal_column("'red'")


def churn_risk_coverage(session: Session, ws: int, day: dt.date, segment: str | None = None) -> RiskCoverage:
    """At-risk paying accounts (red band on their latest health score, or an open risk flag) on ``day``
    that have an open play with an owner ÷ at-risk paying accounts. Paying: MRR > 0 in the latest month
    complete on ``day`` (as adoption and the health index); the latest score is on or before ``day``,
    within 90 days (as the health index).

    Driven by the few candidates, never by every paying account: an account whose latest score is red
    has a red score in the window (the partial index of red scores: its latest red day), and its latest
    score is red when it has no score after that day; a flagged one has an open flag. Then, for the
    accounts at risk only: whether they pay and whether they have an open play with an owner — index
    seeks by account. The statement is built once (``_coverage_statement``); a call binds its values."""
    params: dict[str, Any] = {
        "ws": ws,
        "day": day,
        "since": day - dt.timedelta(days=90),
        "month": latest_complete_month(day + dt.timedelta(days=1)),
        "end": dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
    }
    if segment is not None:
        params["segment"] = segment
    stmt = _coverage_statement(segment is not None)
    total, covered_n, red_n, flagged_n = (int(v or 0) for v in session.execute(stmt, params).one())
    return RiskCoverage(covered_n, total, red_n, flagged_n)


@functools.cache
def _coverage_statement(segmented: bool) -> Any:
    """``churn_risk_coverage``'s statement, with its values as bound parameters: ws, day, since (90
    days before), month (the latest complete one), end (midnight after ``day``), and segment."""
    ws = bindparam("ws", type_=Integer)
    day, since, month = (bindparam(name, type_=Date) for name in ("day", "since", "month"))
    red_days = (
        select(
            HS.c.account_id,
            func.max(HS.c.day).label("red_day"),
            literal(0).label("flag"),
            literal(0).label("owned"),
        )
        .where(HS.c.workspace_id == ws, HS.c.band == RED, HS.c.day > since, HS.c.day <= day)
        .group_by(HS.c.account_id)
    )
    # An open flag with an owner is itself an owned play (see _open_play): read with the flags.
    flags = select(
        RF.c.account_id,
        null().cast(Date).label("red_day"),
        literal(1).label("flag"),
        case((RF.c.owner_id.is_not(None), 1), else_=0).label("owned"),
    ).where(RF.c.workspace_id == ws, _open_flag(day))
    both = union_all(red_days, flags).subquery("signals")
    candidates = (
        select(
            both.c.account_id,
            func.max(both.c.red_day).label("red_day"),
            func.max(both.c.flag).label("flag"),
            func.max(both.c.owned).label("owned"),
        )
        .group_by(both.c.account_id)
        .subquery("candidates")
    )
    account = candidates.c.account_id
    later = HS.alias("later")
    # Red on the workspace's latest snapshot day in the window: nothing later to look for (most are).
    last_day = (
        select(func.max(later.c.day))
        .where(later.c.workspace_id == ws, later.c.day > since, later.c.day <= day)
        .scalar_subquery()
    )
    nothing_later = ~exists(select(later.c.day)).where(
        later.c.account_id == account, later.c.day > candidates.c.red_day, later.c.day <= day
    )
    red_flag = case(
        (candidates.c.red_day.is_(None), 0),
        (candidates.c.red_day == last_day, 1),
        (nothing_later, 1),
        else_=0,
    )
    scope = [account.in_(_in_segment())] if segmented else []
    # Paying: joined (at most one row: one snapshot per account and month) on the workspace's month
    # index, which holds the MRR — an index-only seek per candidate (an EXISTS took the account's
    # unique index on SQLite, then the table row for the MRR). Joined before the red test, so the seek
    # for a later score is made for paying candidates only.
    paying = and_(
        MRR.c.workspace_id == ws,
        MRR.c.month == month,
        MRR.c.account_id == account,
        type_coerce(MRR.c.mrr, BigInteger) > 0,
    )
    at_risk = (
        select(
            red_flag.label("red"),
            candidates.c.flag.label("flagged"),
            candidates.c.owned.label("owned"),
            account.label("account_id"),
        )
        .select_from(candidates.join(MRR, paying))
        .where(*scope)
        # Materialised: each candidate's red test (a seek for a later score) runs once, not once per
        # use of ``red`` below (a flattened subquery repeats the expression).
        .cte("at_risk")
        .prefix_with("MATERIALIZED")
    )
    covered = case(
        (at_risk.c.owned == 1, 1),
        (_open_play(ws, bindparam("end"), at_risk.c.account_id), 1),
        else_=0,
    )
    return select(
        func.count(),
        func.coalesce(func.sum(covered), 0),
        func.coalesce(func.sum(at_risk.c.red), 0),
        func.coalesce(func.sum(at_risk.c.flagged), 0),
    ).where(or_(at_risk.c.red == 1, at_risk.c.flagged == 1))
