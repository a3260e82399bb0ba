"""The lifecycle KPIs of docs/metrics.md: onboarding time, first-value on time, stage conversion with
days in stage, and churn risk coverage. SQL only; each takes a workspace and an optional segment."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Date, Integer, and_, case, func, null, or_, select, type_coerce, union_all
from sqlalchemy.orm import Session

from storage import models as m
from storage.metrics import days_from_closed_won
from storage.periods import latest_complete_month

ACC = m.table(m.Account)
MS = m.table(m.Milestone)
MRR = m.table(m.MrrSnapshot)
RF = m.table(m.RiskFlag)
HS = m.table(m.HealthSnapshot)
WIN = m.table(m.Win)
NPS = m.table(m.NpsResponse)
PLAY = m.table(m.Play)

# The lifecycle stages whose conversion is measured, in order, and the event that marks entering each.
STAGES = ("closed_won", "onboarded", "adopted", "champion")
STAGE_LABELS = {
    "closed_won": "Closed/Won",
    "onboarded": "Onboarded",
    "adopted": "Adopted",
    "champion": "Champion",
}


def _segment(segment: str | None) -> list[Any]:
    return [] if segment is None else [ACC.c.segment == segment]


def _median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class OnboardingTime:
    median_days: float | None
    accounts: int


def onboarding_time(
    session: Session, ws: int, start: dt.date, end: dt.date, segment: str | None = None
) -> OnboardingTime:
    """Median days closed/won → kickoff achieved, over accounts whose kickoff was achieved in [start, end)."""
    days = days_from_closed_won(session, ws, "kickoff", start, end, segment)
    return OnboardingTime(_median(days), len(days))


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
    on_time = and_(MS.c.achieved_on.is_not(None), MS.c.achieved_on <= MS.c.target_on)
    due, met = session.execute(
        select(func.count(), func.count().filter(on_time))
        .select_from(MS.join(ACC, ACC.c.id == MS.c.account_id))
        .where(
            MS.c.workspace_id == ws,
            MS.c.kind == "first_value",
            MS.c.target_on >= start,
            MS.c.target_on < end,
            *_segment(segment),
        )
    ).one()
    return FirstValueOnTime(int(met or 0), int(due or 0))


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


PROMOTER = 9  # an NPS response of 9 or 10 (as the account card's promoter)


def _least(a: Any, b: Any) -> Any:
    """The earlier of two dates, either of which may be NULL."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


def _entry_dates(base: Any = ACC) -> tuple[Any, Any, Any, Any]:
    """(FROM clause, Closed/Won, Onboarded, Adopted entry-date expressions) per account of ``base`` (the
    accounts table, or a join that has it); see ``stage_conversion`` for the rules."""
    fv, ad, ko = MS.alias("fv"), MS.alias("ad"), MS.alias("ko")
    adopted = _least(fv.c.achieved_on, ad.c.achieved_on)
    onboarded = _least(ko.c.achieved_on, adopted)
    closed_won = _least(ACC.c.closed_won_on, onboarded)
    joined = (
        base.outerjoin(ko, and_(ko.c.account_id == ACC.c.id, ko.c.kind == "kickoff"))
        .outerjoin(fv, and_(fv.c.account_id == ACC.c.id, fv.c.kind == "first_value"))
        .outerjoin(ad, and_(ad.c.account_id == ACC.c.id, ad.c.kind == "adopted"))
    )
    return joined, closed_won, onboarded, adopted


def champions(session: Session, ws: int, segment: str | None = None) -> dict[int, tuple[dt.date, dt.date]]:
    """Adopted accounts that became champions: account id → (adopted, champion) dates. Champion: the first
    advocacy win or promoter NPS response (9 or 10) on or after the day the account was adopted. Few
    accounts have such events, so they are matched here; kept in ``session.info`` for the session."""
    key = ("lifecycle_champions", ws, segment)
    if key in session.info:
        cached: dict[int, tuple[dt.date, dt.date]] = session.info[key]
        return cached
    scope = [ACC.c.workspace_id == ws, *_segment(segment)]
    # Driven by the events (few), then each one's account and milestones; only events on or after
    # adoption (a response's time compares with a date as that day's midnight on both databases).
    wins = WIN.join(ACC, ACC.c.id == WIN.c.account_id)
    joined, _, _, adopted = _entry_dates(wins)
    advocacy = (
        select(ACC.c.id, adopted, WIN.c.won_on)
        .select_from(joined)
        .where(WIN.c.workspace_id == ws, WIN.c.kind == "advocacy")
    )
    responses = NPS.join(ACC, ACC.c.id == NPS.c.account_id)
    joined, _, _, adopted_too = _entry_dates(responses)
    promoters = (
        select(ACC.c.id, adopted_too, NPS.c.responded_at)
        .select_from(joined)
        .where(NPS.c.workspace_id == ws, NPS.c.score >= PROMOTER)
    )
    out: dict[int, tuple[dt.date, dt.date]] = {}
    for query, at, since in ((advocacy, WIN.c.won_on, adopted), (promoters, NPS.c.responded_at, adopted_too)):
        for account_id, adopted_on, when in session.execute(query.where(*scope, at >= since)).all():
            day = when.date() if isinstance(when, dt.datetime) else when
            if day < adopted_on:  # the same day's response, read back as a day: still on or after
                continue
            known = out.get(account_id)
            if known is None or day < known[1]:
                out[account_id] = (adopted_on, day)
    session.info[key] = out
    return out


def stage_conversion(
    session: Session, ws: int, start: dt.date, end: dt.date, segment: str | None = None
) -> list[StageStep]:
    """For each adjacent pair of ``STAGES``: accounts in stage s at ``start`` (entered s before it, not yet
    s+1) that entered s+1 in [start, end) ÷ accounts in s at ``start``; and the median days spent in s
    by the accounts that left s in [start, end).

    Each account's date of entering each stage of ``STAGES`` (None: not entered, or not known), by the
    rules the account card uses to derive its stage (services.accounts.derive_stage):

    - Closed/Won: the account's closed/won date;
    - Onboarded: its kickoff milestone achieved;
    - Adopted: its first-value or adopted milestone achieved, whichever came first;
    - Champion: once Adopted, its first advocacy win (a reference, case study) or first promoter NPS
      response (9 or 10), whichever came first, on or after the day it was adopted.

    A stage reached without its own event (adopted with no kickoff date) is taken as entered on the next
    stage's date, so the dates never run backwards: a skipped stage is passed through on that day.

    Closed/Won, Onboarded and Adopted are counted in the database (one statement); only the accounts
    that left a stage in the period come back, for the medians; champions are matched in ``champions``."""
    joined, e0_expr, e1_expr, e2_expr = _entry_dates()
    scope = [ACC.c.workspace_id == ws, *_segment(segment)]
    # Each account's three dates computed once (a materialised CTE), then counted.
    dates = (
        select(e0_expr.label("e0"), e1_expr.label("e1"), e2_expr.label("e2"))
        .select_from(joined)
        .where(*scope)
        .cte("stage_dates")
        .prefix_with("MATERIALIZED")
    )
    e0, e1, e2 = dates.c.e0, dates.c.e1, dates.c.e2
    counts: list[Any] = []
    for entered, left in ((e0, e1), (e1, e2)):
        counts.append(func.count().filter(and_(entered < start, or_(left.is_(None), left >= start))))
        counts.append(func.count().filter(and_(entered < start, left >= start, left < end)))
    counts.append(func.count().filter(e2 < start))
    # One statement, so the dates are materialised once: the counts row (no dates), then the accounts
    # that left a stage in the period (no counts), for the medians.
    none_date, none_count = null().cast(Date), null().cast(Integer)
    summary = select(*[c.label(f"c{i}") for i, c in enumerate(counts)], none_date, none_date, none_date)
    moved = or_(and_(e1 >= start, e1 < end), and_(e2 >= start, e2 < end))
    detail = select(*[none_count] * len(counts), e0, e1, e2).where(moved)
    rows = session.execute(union_all(summary.select_from(dates), detail)).all()
    totals = next([int(v or 0) for v in row[: len(counts)]] for row in rows if row[0] is not None)
    days: list[list[int]] = [[], [], []]
    for row in rows:
        if row[0] is not None:
            continue
        won, onboarded, adopted = row[len(counts) :]
        for i, (entered, left) in enumerate(((won, onboarded), (onboarded, adopted))):
            if left is not None and entered is not None and start <= left < end:
                days[i].append((left - entered).days)
    adopted_before = totals[4]
    champ_at_start = champ_converted = 0
    for adopted_on, champion in champions(session, ws, segment).values():
        if adopted_on < start and champion < start:
            champ_at_start += 1  # a champion already: not in Adopted at the start
        elif adopted_on < start and champion < end:
            champ_converted += 1
        if start <= champion < end:
            days[2].append((champion - adopted_on).days)
    steps = [
        StageStep(STAGES[0], STAGES[1], totals[0], totals[1], len(days[0]), _median(days[0])),
        StageStep(STAGES[1], STAGES[2], totals[2], totals[3], len(days[1]), _median(days[1])),
        StageStep(
            STAGES[2],
            STAGES[3],
            adopted_before - champ_at_start,
            champ_converted,
            len(days[2]),
            _median(days[2]),
        ),
    ]
    return steps


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


def _open_flag(day: dt.date) -> Any:
    """A risk flag open on ``day``: raised by then and not resolved by then."""
    return and_(RF.c.flagged_on <= day, or_(RF.c.outcome == "open", RF.c.resolved_on > day))


def open_plays(ws: int, day: dt.date) -> list[Any]:
    """Selects of the account ids that had an open play with an owner at the end of ``day``; an account
    in any of them is covered: a play of the bot (docs/plays.md: opened by a signal, by hand or
    imported), or a risk flag open that day with an owner — the save play a CRM runs, imported as a
    risk flag (docs/import.md)."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    plays = select(PLAY.c.account_id).where(
        PLAY.c.workspace_id == ws,
        PLAY.c.owner_id.is_not(None),
        PLAY.c.opened_at < end,
        or_(PLAY.c.closed_at.is_(None), PLAY.c.closed_at >= end),
    )
    flags_with_owner = select(RF.c.account_id).where(
        RF.c.workspace_id == ws, _open_flag(day), RF.c.owner_id.is_not(None)
    )
    return [plays, flags_with_owner]


def churn_risk_coverage(session: Session, ws: int, day: dt.date, segment: str | None = None) -> RiskCoverage:
    """At-risk paying accounts (red band on their latest health score, or an open risk flag) on ``day``
    that have an open play with an owner ÷ at-risk paying accounts. Paying: MRR > 0 in the latest month
    complete on ``day`` (as adoption and the health index); the latest score is on or before ``day``,
    within 90 days (as the health index: most accounts' latest score is on the latest snapshot day, a
    join; the others fall back to a backwards seek)."""
    month = latest_complete_month(day + dt.timedelta(days=1))
    since = day - dt.timedelta(days=90)
    last_day = session.scalar(
        select(func.max(HS.c.day)).where(HS.c.workspace_id == ws, HS.c.day <= day, HS.c.day > since)
    )
    on_last_day = HS.alias("on_last_day")
    fallback = (
        select(HS.c.band)
        .where(HS.c.account_id == MRR.c.account_id, HS.c.day <= day, HS.c.day > since)
        .order_by(HS.c.day.desc())
        .limit(1)
        .correlate(MRR)
        .scalar_subquery()
    )
    band = func.coalesce(on_last_day.c.band, fallback, "")
    flagged_ids = select(RF.c.account_id).where(RF.c.workspace_id == ws, _open_flag(day))
    account = MRR.c.account_id
    red, flagged = band == "red", account.in_(flagged_ids)
    covered = or_(*[account.in_(ids) for ids in open_plays(ws, day)])
    scope = (
        []
        if segment is None
        else [account.in_(select(ACC.c.id).where(ACC.c.workspace_id == ws, ACC.c.segment == segment))]
    )
    at_risk = (
        select(
            case((red, 1), else_=0).label("red"),
            case((flagged, 1), else_=0).label("flagged"),
            case((covered, 1), else_=0).label("covered"),
        )
        .select_from(MRR)
        .outerjoin(on_last_day, and_(on_last_day.c.account_id == account, on_last_day.c.day == last_day))
        .where(MRR.c.workspace_id == ws, MRR.c.month == month, type_coerce(MRR.c.mrr, BigInteger) > 0, *scope)
        .subquery("at_risk")
    )
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(at_risk.c.covered), 0),
            func.coalesce(func.sum(at_risk.c.red), 0),
            func.coalesce(func.sum(at_risk.c.flagged), 0),
        ).where(or_(at_risk.c.red == 1, at_risk.c.flagged == 1))
    ).one()
    total, covered_n, red_n, flagged_n = (int(v or 0) for v in row)
    return RiskCoverage(covered_n, total, red_n, flagged_n)
