"""Cuts of the scorecard by an account attribute (source, campaign, AE, CSM, segment): per value, the
month's revenue facts (from the facts kept at import), time to value, first value on time, early
churn and the number of accounts. SQL only; the KPIs are worked out in ``services.cuts``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from storage import models as m
from storage import revenue_facts
from storage.periods import add_months

CutBy = Literal["source", "campaign", "ae", "csm", "segment"]
CUTS: tuple[CutBy, ...] = ("source", "campaign", "ae", "csm", "segment")

ACC = m.table(m.Account)
PEOPLE = m.table(m.Person)
MS = m.table(m.Milestone)
MOV = m.table(m.MrrMovement)


@dataclass
class CutFacts:
    """What one value of the cut holds (``key`` None: accounts without a value)."""

    key: Any
    label: str | None
    accounts: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # month M's facts (FACT_COLUMNS), cents
    ttv_days: list[int] = field(default_factory=list)  # closed/won → first value, reached in the period
    fv_due: int = 0
    fv_on_time: int = 0
    early_base: int = 0  # accounts whose first 12 months after closed/won ended by the end of M
    early_lost: int = 0  # of those, lost (a churn movement) within the 12 months


def _group_column(by: CutBy) -> Any:
    return ACC.c[{"ae": "ae_id", "csm": "csm_id"}.get(by, by)]


def one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def add_facts(into: dict[str, int], mrr: int, prev: int, base: int, movement: str) -> None:
    """Add one account-month fact row to the month's sums (as ``revenue_facts.sums`` adds them in SQL)."""
    if not into:
        into.update(dict.fromkeys(revenue_facts.FACT_COLUMNS, 0))
    if mrr > 0:
        into["paying"] += 1
        into["mrr_total"] += mrr
    if prev > 0:
        into["paying_before"] += 1
    if movement in ("churn", "new", "reactivation"):
        into["churned" if movement == "churn" else movement] += 1
    elif movement == "expansion":
        into["expansion"] += mrr - prev
    elif movement == "contraction":
        into["contraction"] += prev - mrr
    if base > 0:
        into["nrr_base"] += base
        into["nrr_current"] += mrr
        into["grr_current"] += min(mrr, base)


def cut_facts(
    session: Session, ws: int, by: CutBy, month: dt.date, start: dt.date, end: dt.date
) -> list[CutFacts]:
    """One ``CutFacts`` per value of ``by`` among the workspace's accounts; revenue facts of ``month``
    (M), time to value and first value on time over [``start``, ``end``).

    One pass over the accounts (their group, closed/won date) and one over the month's fact rows (the
    covering index), summed here by group: a join and a GROUP BY over every account cost more."""
    group = _group_column(by)
    rows: dict[Any, CutFacts] = {}
    group_of: dict[int, Any] = {}
    won_on: dict[int, dt.date] = {}

    def row(key: Any) -> CutFacts:
        if key not in rows:
            rows[key] = CutFacts(key, key)
        return rows[key]

    for account_id, key, won in session.execute(
        select(ACC.c.id, group, ACC.c.closed_won_on).where(ACC.c.workspace_id == ws)
    ).all():
        group_of[account_id] = key
        row(key).accounts += 1
        if won is not None:
            won_on[account_id] = won
    if by in ("ae", "csm"):
        ids = [k for k in rows if k is not None]
        names = (
            dict(session.execute(select(PEOPLE.c.id, PEOPLE.c.name).where(PEOPLE.c.id.in_(ids))).all())
            if ids
            else {}
        )
        for key, facts in rows.items():
            facts.label = None if key is None else names.get(key, f"person {key}")

    for account_id, mrr, prev, base, movement in session.execute(
        select(MOV.c.account_id, MOV.c.mrr, MOV.c.prev_mrr, MOV.c.base_mrr, MOV.c.movement).where(
            MOV.c.workspace_id == ws, MOV.c.month == month
        )
    ).all():
        add_facts(row(group_of.get(account_id)).revenue, int(mrr), int(prev), int(base), movement)

    for key, achieved, won in session.execute(
        select(group, MS.c.achieved_on, ACC.c.closed_won_on)
        .join(ACC, ACC.c.id == MS.c.account_id)
        .where(
            MS.c.workspace_id == ws,
            MS.c.kind == "first_value",
            MS.c.achieved_on >= start,
            MS.c.achieved_on < end,
            ACC.c.closed_won_on.is_not(None),
        )
    ).all():
        row(key).ttv_days.append((achieved - won).days)

    on_time = and_(MS.c.achieved_on.is_not(None), MS.c.achieved_on <= MS.c.target_on)
    for key, due, met in session.execute(
        select(group, func.count(), func.count().filter(on_time))
        .join(ACC, ACC.c.id == MS.c.account_id)
        .where(
            MS.c.workspace_id == ws,
            MS.c.kind == "first_value",
            MS.c.target_on >= start,
            MS.c.target_on < end,
        )
        .group_by(group)
    ).all():
        row(key).fv_due, row(key).fv_on_time = int(due), int(met or 0)

    # Early churn: accounts lost (a churn movement: paying → 0) within 12 months of closed/won, over the
    # accounts whose 12 months have ended by the end of M.
    month_end = add_months(month, 1)
    churns: dict[int, list[dt.date]] = defaultdict(list)
    for account_id, churn_month in revenue_facts.churn_months(session, ws, month):
        churns[account_id].append(churn_month)
    # one_year_after(won) < month_end ⇔ won < month_end one year earlier (month_end is a 1st).
    complete_before = month_end.replace(year=month_end.year - 1)
    for account_id, won in won_on.items():
        if won >= complete_before:
            continue
        facts = rows[group_of[account_id]]
        facts.early_base += 1
        lost = churns.get(account_id)
        if lost and any(won < day <= one_year_after(won) for day in lost):
            facts.early_lost += 1
    return list(rows.values())
