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


def cut_facts(
    session: Session, ws: int, by: CutBy, month: dt.date, start: dt.date, end: dt.date
) -> list[CutFacts]:
    """One ``CutFacts`` per value of ``by`` among the workspace's accounts; revenue facts of ``month``
    (M), time to value and first value on time over [``start``, ``end``).

    Everything is summed per group in the database; only the churned accounts' dates come back."""
    group = _group_column(by)
    rows: dict[Any, CutFacts] = {}

    def row(key: Any) -> CutFacts:
        if key not in rows:
            rows[key] = CutFacts(key, key)
        return rows[key]

    # Early churn counts accounts whose 12 months after closed/won ended by the end of M: one year after
    # closed/won is before the 1st of M+1 ⇔ closed/won is before that 1st one year earlier.
    month_end = add_months(month, 1)
    complete_before = month_end.replace(year=month_end.year - 1)
    matured = ACC.c.closed_won_on < complete_before
    for key, n, base in session.execute(
        select(group, func.count(), func.count().filter(matured))
        .where(ACC.c.workspace_id == ws)
        .group_by(group)
    ).all():
        facts = row(key)
        facts.accounts, facts.early_base = int(n), int(base or 0)
    if by in ("ae", "csm"):
        ids = [k for k in rows if k is not None]
        names = (
            dict(session.execute(select(PEOPLE.c.id, PEOPLE.c.name).where(PEOPLE.c.id.in_(ids))).all())
            if ids
            else {}
        )
        for key, facts in rows.items():
            facts.label = None if key is None else names.get(key, f"person {key}")

    # The month's facts summed per group in the database (the covering index, joined to accounts).
    joined = MOV.join(ACC, ACC.c.id == MOV.c.account_id)
    for key, *sums in session.execute(
        select(group, *revenue_facts.sums(MOV))
        .select_from(joined)
        .where(MOV.c.workspace_id == ws, MOV.c.month == month)
        .group_by(group)
    ).all():
        row(key).revenue = {n: int(v or 0) for n, v in zip(revenue_facts.FACT_COLUMNS, sums, strict=True)}

    # Lost within 12 months: a churn movement after closed/won and at most a year after it, of the
    # matured accounts (the churn index, then each account's closed/won date).
    lost_early: dict[Any, set[int]] = defaultdict(set)
    for key, account_id, won, lost in session.execute(
        select(group, ACC.c.id, ACC.c.closed_won_on, MOV.c.month)
        .select_from(joined)
        .where(MOV.c.workspace_id == ws, MOV.c.movement == "churn", MOV.c.month <= month, matured)
    ).all():
        if won < lost <= one_year_after(won):
            lost_early[key].add(account_id)
    for key, lost_ids in lost_early.items():
        row(key).early_lost = len(lost_ids)

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

    return list(rows.values())
