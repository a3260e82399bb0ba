"""The lifecycle KPIs of docs/metrics.md: onboarding time, first-value on time, stage conversion with
days in stage, and churn risk coverage. SQL only; each takes a workspace and an optional segment."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from storage import models as m
from storage.periods import latest_complete_month

ACC = m.table(m.Account)
MS = m.table(m.Milestone)
MRR = m.table(m.MrrSnapshot)
RF = m.table(m.RiskFlag)
HS = m.table(m.HealthSnapshot)
WIN = m.table(m.Win)
NPS = m.table(m.NpsResponse)

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
    rows = session.execute(
        select(MS.c.achieved_on, ACC.c.closed_won_on)
        .join(ACC, ACC.c.id == MS.c.account_id)
        .where(
            MS.c.workspace_id == ws,
            MS.c.kind == "kickoff",
            MS.c.achieved_on >= start,
            MS.c.achieved_on < end,
            ACC.c.closed_won_on.is_not(None),
            *_segment(segment),
        )
    ).all()
    days = [(achieved - won).days for achieved, won in rows]
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


def stage_dates(session: Session, ws: int, segment: str | None = None) -> list[list[dt.date | None]]:
    """Each account's date of entering each stage of ``STAGES`` (None: not entered, or not known), by the
    rules the account card uses to derive its stage (services.accounts.derive_stage):

    - Closed/Won: the account's closed/won date;
    - Onboarded: its kickoff milestone achieved;
    - Adopted: its first-value or adopted milestone achieved, whichever came first;
    - Champion: once Adopted, its first advocacy win (a reference, case study) or first promoter NPS
      response (9 or 10), whichever came first, on or after the day it was adopted.

    A stage reached without its own event (adopted with no kickoff date) is taken as entered on the next
    stage's date, so the dates never run backwards: a skipped stage is passed through on that day.

    Kept in ``session.info`` for the session's life: a scorecard asks for its period and the previous one."""
    key = ("lifecycle_stage_dates", ws, segment)
    if key not in session.info:
        session.info[key] = _stage_dates(session, ws, segment)
    cached: list[list[dt.date | None]] = session.info[key]
    return cached


def _stage_dates(session: Session, ws: int, segment: str | None) -> list[list[dt.date | None]]:
    fv, ad, ko = MS.alias("fv"), MS.alias("ad"), MS.alias("ko")
    rows = session.execute(
        select(ACC.c.id, ACC.c.closed_won_on, ko.c.achieved_on, fv.c.achieved_on, ad.c.achieved_on)
        .select_from(ACC)
        .outerjoin(ko, and_(ko.c.account_id == ACC.c.id, ko.c.kind == "kickoff"))
        .outerjoin(fv, and_(fv.c.account_id == ACC.c.id, fv.c.kind == "first_value"))
        .outerjoin(ad, and_(ad.c.account_id == ACC.c.id, ad.c.kind == "adopted"))
        .where(ACC.c.workspace_id == ws, *_segment(segment))
    ).all()
    # Champion events, each account's in date order: advocacy wins and promoter NPS responses.
    events: dict[int, list[dt.date]] = {}
    scope = [] if segment is None else [ACC.c.segment == segment]
    advocacy = (
        select(WIN.c.account_id, WIN.c.won_on)
        .join(ACC, ACC.c.id == WIN.c.account_id)
        .where(WIN.c.workspace_id == ws, WIN.c.kind == "advocacy", *scope)
    )
    # Only accounts with a first-value or adopted date can be champions.
    adopted_ids = select(MS.c.account_id).where(
        MS.c.workspace_id == ws, MS.c.kind.in_(("first_value", "adopted")), MS.c.achieved_on.is_not(None)
    )
    promoters = (
        select(NPS.c.account_id, NPS.c.responded_at)
        .join(ACC, ACC.c.id == NPS.c.account_id)
        .where(
            NPS.c.workspace_id == ws,
            NPS.c.score >= PROMOTER,
            NPS.c.account_id.in_(adopted_ids),
            *scope,
        )
    )
    for account_id, day in session.execute(advocacy).all():
        events.setdefault(account_id, []).append(day)
    for account_id, at in session.execute(promoters).all():
        events.setdefault(account_id, []).append(at.date() if isinstance(at, dt.datetime) else at)
    out = []
    for account_id, won, kickoff, first_value, adopted_on in rows:
        if first_value is not None and (adopted_on is None or first_value <= adopted_on):
            adopted = first_value
        else:
            adopted = adopted_on
        champion = None
        if adopted is not None and account_id in events:
            champion = min((d for d in events[account_id] if d >= adopted), default=None)
        # Never later than the next stage's date (Champion is never before Adopted, by construction).
        onboarded = kickoff if kickoff is not None and (adopted is None or kickoff <= adopted) else adopted
        closed_won = won if won is not None and (onboarded is None or won <= onboarded) else onboarded
        out.append([closed_won, onboarded, adopted, champion])
    return out


def stage_conversion(
    session: Session, ws: int, start: dt.date, end: dt.date, segment: str | None = None
) -> list[StageStep]:
    """For each adjacent pair of ``STAGES``: accounts in stage s at ``start`` (entered s before it, not yet
    s+1) that entered s+1 in [start, end) ÷ accounts in s at ``start``; and the median days spent in s
    by the accounts that left s in [start, end)."""
    accounts = stage_dates(session, ws, segment)
    steps = []
    for i in range(len(STAGES) - 1):
        at_start = converted = 0
        days: list[int] = []
        for dates in accounts:
            entered, left = dates[i], dates[i + 1]
            if entered is not None and entered < start and (left is None or left >= start):
                at_start += 1
                if left is not None and left < end:
                    converted += 1
            if entered is not None and left is not None and start <= left < end:
                days.append((left - entered).days)
        steps.append(StageStep(STAGES[i], STAGES[i + 1], at_start, converted, len(days), _median(days)))
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
    """Selects of the account ids that had an open play with an owner on ``day``; an account in any of
    them is covered. Until plays exist, a risk flag open that day with an owner counts as a play; the
    plays table adds one more select here (its plays open that day with an owner)."""
    flags_with_owner = select(RF.c.account_id).where(
        RF.c.workspace_id == ws, _open_flag(day), RF.c.owner_id.is_not(None)
    )
    return [flags_with_owner]


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
