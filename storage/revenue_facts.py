"""Revenue facts kept up to date at import, as subscription-analytics tools keep MRR movements.

``mrr_movements`` holds one row per account-month whenever the account paid that month, the month
before or twelve months before: its MRR then, the month before and twelve months before, and the
month's movement (docs/metrics.md). ``revenue_months`` holds those rows summed per workspace-month.
So NRR, GRR, logo churn and the movements of a month are one row for the whole workspace, and one
index range of a month's rows for a segment or any other cut — never a re-scan of every account's
months. Every revenue import calls ``refresh`` for the accounts it staged (``storage.kinds``); only
rows whose facts changed are rewritten, and only the months they fall in are summed again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, case, delete, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from storage import metrics
from storage import models as m
from storage.bulk import insert_ignore_many, refresh_statistics
from storage.periods import add_months

SNAP = m.table(m.MrrSnapshot)
MOV = m.table(m.MrrMovement)
MONTHS = m.table(m.RevenueMonth)
CHUNK = 5_000  # accounts per read: memory stays flat however many accounts an import touches

FactRow = tuple[dt.date, int, int, int, str]  # month, mrr, prev_mrr, base_mrr, movement (cents)


def movement(mrr: int, prev: int, paid_before: bool) -> str:
    """The MRR movement of a month against the month before (docs/metrics.md)."""
    if prev == 0:
        if mrr == 0:
            return "none"
        return "reactivation" if paid_before else "new"
    if mrr == 0:
        return "churn"
    if mrr > prev:
        return "expansion"
    if mrr < prev:
        return "contraction"
    return "flat"


def account_facts(series: dict[dt.date, int]) -> list[FactRow]:
    """The fact rows of one account from its MRR by month (cents; a missing month is 0)."""
    months: set[dt.date] = set()
    for month, cents in series.items():
        if cents > 0:
            months.update((month, add_months(month, 1), add_months(month, 12)))
    rows: list[FactRow] = []
    paid_before = False
    for month in sorted(months):
        cur = series.get(month, 0)
        prev = series.get(add_months(month, -1), 0)
        base = series.get(add_months(month, -12), 0)
        rows.append((month, cur, prev, base, movement(cur, prev, paid_before)))
        # Paid before: in any month up to this one (months between rows are all 0, or the month
        # after a paying month would be a row too).
        paid_before = paid_before or cur > 0
    return rows


def _cents(col: Any) -> Any:
    return type_coerce(col, BigInteger)


# PostgreSQL advisory lock namespace of the refresh (the second key is the workspace).
REFRESH_LOCK = 0x5246  # "RF"


def refresh(session: Session, ws: int, account_ids: Any | None = None) -> int:
    """Bring the facts of ``account_ids`` (a select of ids; None: every account with revenue) in line
    with ``mrr_snapshots``; returns how many fact rows were written or removed.

    On PostgreSQL the workspace's refreshes take turns until their transactions end: under READ
    COMMITTED two revenue imports at once would each derive facts (and sum months) without the other's
    rows. The one that waited reads after the other has committed, so it sees both. SQLite runs one
    write transaction at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK, ws)))
    scope = select(SNAP.c.account_id).where(SNAP.c.workspace_id == ws)
    if account_ids is not None:
        scope = scope.where(SNAP.c.account_id.in_(account_ids))
    ids = sorted(set(session.scalars(scope.distinct())))
    if account_ids is not None:  # an account whose revenue rows are all gone keeps no facts
        kept = select(MOV.c.account_id).where(MOV.c.workspace_id == ws, MOV.c.account_id.in_(account_ids))
        ids = sorted(set(ids) | set(session.scalars(kept.distinct())))
    touched: set[dt.date] = set()
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        written += _refresh_accounts(session, ws, chunk, touched)
    refresh_statistics(session, MOV, written)
    if touched:
        refresh_months(session, ws, touched)
    return written


def _refresh_accounts(session: Session, ws: int, ids: Sequence[int], touched: set[dt.date]) -> int:
    series: dict[int, dict[dt.date, int]] = {i: {} for i in ids}
    for account_id, month, cents in session.execute(
        select(SNAP.c.account_id, SNAP.c.month, _cents(SNAP.c.mrr)).where(
            SNAP.c.workspace_id == ws, SNAP.c.account_id.in_(ids)
        )
    ):
        series[account_id][month] = int(cents)
    have: dict[tuple[int, dt.date], tuple[int, FactRow]] = {}
    for row_id, account_id, month, cur, prev, base, kind in session.execute(
        select(
            MOV.c.id, MOV.c.account_id, MOV.c.month, MOV.c.mrr, MOV.c.prev_mrr, MOV.c.base_mrr, MOV.c.movement
        ).where(MOV.c.workspace_id == ws, MOV.c.account_id.in_(ids))
    ):
        have[(account_id, month)] = (row_id, (month, int(cur), int(prev), int(base), kind))
    stale: list[int] = []
    fresh: list[tuple[Any, ...]] = []
    for account_id in ids:
        for row in account_facts(series[account_id]):
            old = have.pop((account_id, row[0]), None)
            if old is not None and old[1] == row:
                continue
            if old is not None:
                stale.append(old[0])
            fresh.append((ws, account_id, *row))
            touched.add(row[0])
    for (_, month), (row_id, _) in have.items():  # rows no longer wanted
        stale.append(row_id)
        touched.add(month)
    for start in range(0, len(stale), 10_000):
        session.execute(delete(MOV).where(MOV.c.id.in_(stale[start : start + 10_000])))
    columns = ["workspace_id", "account_id", "month", "mrr", "prev_mrr", "base_mrr", "movement"]
    insert_ignore_many(session, MOV, columns, fresh, ["account_id", "month"])
    return len(stale) + len(fresh)


def sums(rows: Any) -> list[Any]:
    """The ``revenue_months`` columns as aggregates over fact rows ``rows`` (a table or subquery)."""
    c = rows.c

    def total(cond: Any, value: Any = 1) -> Any:
        return func.coalesce(func.sum(case((cond, value), else_=0)), 0)

    return [
        total(c.mrr > 0).label("paying"),
        total(c.mrr > 0, c.mrr).label("mrr_total"),
        total(c.prev_mrr > 0).label("paying_before"),
        total(c.movement == "churn").label("churned"),
        total(c.movement == "new").label("new"),
        total(c.movement == "reactivation").label("reactivation"),
        total(c.movement == "expansion", c.mrr - c.prev_mrr).label("expansion"),
        total(c.movement == "contraction", c.prev_mrr - c.mrr).label("contraction"),
        total(c.base_mrr > 0, c.base_mrr).label("nrr_base"),
        total(c.base_mrr > 0, c.mrr).label("nrr_current"),
        total(c.base_mrr > 0, case((c.mrr < c.base_mrr, c.mrr), else_=c.base_mrr)).label("grr_current"),
    ]


FACT_COLUMNS = (
    "paying",
    "mrr_total",
    "paying_before",
    "churned",
    "new",
    "reactivation",
    "expansion",
    "contraction",
    "nrr_base",
    "nrr_current",
    "grr_current",
)


def refresh_months(session: Session, ws: int, months: Iterable[dt.date]) -> None:
    """Sum ``revenue_months`` again for ``months`` from the account facts."""
    wanted = sorted(set(months))
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        session.execute(delete(MONTHS).where(MONTHS.c.workspace_id == ws, MONTHS.c.month.in_(part)))
        summed = (
            select(literal(ws), MOV.c.month, *sums(MOV))
            .where(MOV.c.workspace_id == ws, MOV.c.month.in_(part))
            .group_by(MOV.c.month)
        )
        session.execute(MONTHS.insert().from_select(["workspace_id", "month", *FACT_COLUMNS], summed))


def month_facts(
    session: Session, ws: int, months: Iterable[dt.date], accounts: Any | None = None
) -> dict[dt.date, dict[str, int]]:
    """The facts of each of ``months`` (absent month: all zero): from ``revenue_months`` for the whole
    workspace, summed from the account facts of ``accounts`` (a select of account ids) otherwise."""
    wanted = sorted(set(months))
    if accounts is None:
        rows = session.execute(
            select(MONTHS.c.month, *[MONTHS.c[name] for name in FACT_COLUMNS]).where(
                MONTHS.c.workspace_id == ws, MONTHS.c.month.in_(wanted)
            )
        ).all()
    else:
        rows = session.execute(
            select(MOV.c.month, *sums(MOV))
            .where(MOV.c.workspace_id == ws, MOV.c.month.in_(wanted), MOV.c.account_id.in_(accounts))
            .group_by(MOV.c.month)
        ).all()
    out = {mo: dict.fromkeys(FACT_COLUMNS, 0) for mo in wanted}
    for row in rows:
        out[row[0]] = {name: int(value or 0) for name, value in zip(FACT_COLUMNS, row[1:], strict=True)}
    return out


def movers(session: Session, ws: int, months: list[dt.date], accounts: Any | None = None) -> dict[str, int]:
    """How many accounts had an expansion, and how many a contraction, in any of ``months`` (the
    samples of expansion and contraction ARR), through the movement index."""
    if not months:
        return {}
    q = select(MOV.c.movement, func.count(func.distinct(MOV.c.account_id))).where(
        MOV.c.workspace_id == ws,
        MOV.c.movement.in_(("expansion", "contraction")),
        MOV.c.month.in_(sorted(set(months))),
    )
    if accounts is not None:
        q = q.where(MOV.c.account_id.in_(accounts))
    return {kind: int(n) for kind, n in session.execute(q.group_by(MOV.c.movement))}


def churn_months(session: Session, ws: int, until: dt.date) -> Any:
    """(account_id, month) of every churn movement up to ``until``, through the movement index."""
    return session.execute(
        select(MOV.c.account_id, MOV.c.month).where(
            MOV.c.workspace_id == ws, MOV.c.movement == "churn", MOV.c.month <= until
        )
    ).all()


def has_facts(session: Session, ws: int) -> bool:
    return session.scalar(select(MONTHS.c.id).where(MONTHS.c.workspace_id == ws).limit(1)) is not None


def kpi_facts(
    session: Session,
    ws: int,
    months_m: list[dt.date],
    flow_months: dict[dt.date, list[dt.date]],
    segment: str | None = None,
) -> dict[dt.date, metrics.RevenueFacts]:
    """The same aggregates as ``storage.metrics.revenue_facts`` (the scan of every account's months),
    read from the kept facts: a row per month for the whole workspace, a month's account rows for a
    segment."""
    accounts = None
    if segment is not None:
        acc = m.table(m.Account)
        accounts = select(acc.c.id).where(acc.c.workspace_id == ws, acc.c.segment == segment)
    needed: set[dt.date] = set()
    for mm in months_m:
        needed.update(add_months(mm, -k) for k in range(0, 7))
        needed.add(add_months(mm, -12))  # its payers are NRR's and GRR's accounts (the sample)
        needed.update(flow_months.get(mm, []))
    facts = month_facts(session, ws, needed, accounts)
    out: dict[dt.date, metrics.RevenueFacts] = {}
    for mm in months_m:
        f = facts[mm]
        moved = movers(session, ws, flow_months.get(mm, []), accounts)
        result = metrics.RevenueFacts(
            mm,
            f["nrr_base"],
            f["nrr_current"],
            f["grr_current"],
            mrr_total=f["mrr_total"],
            paying=f["paying"],
            base_accounts=facts[add_months(mm, -12)]["paying"],
            expansion_accounts=moved.get("expansion", 0),
            contraction_accounts=moved.get("contraction", 0),
        )
        for k in range(0, 7):
            mo = add_months(mm, -k)
            result.churn[mo] = (facts[mo]["paying_before"], facts[mo]["churned"])
        for mo in flow_months.get(mm, []):
            result.expansion[mo] = facts[mo]["expansion"]
            result.contraction[mo] = facts[mo]["contraction"]
        out[mm] = result
    return out
