"""Running totals of usage, kept on each ``usage_daily`` row: ``rows_upto`` (how many usage rows the
account has from its first day up to and including this one) and ``users_upto`` (their active users
summed). The count and the sum of any span of days are then the difference of two rows' totals, so
the usage_drop trigger reads a handful of rows per account instead of summing ~100 days of rows for
every account (storage/play_triggers.usage_drop).

Every writer of usage rows calls ``serialise`` before writing them and ``refresh`` after, in its
transaction: the usage import (so ingest and demo
data) through ``storage.kinds``, migration 0014 for the rows before it, the bench dataset and the test
helpers. A row written without it holds 0, which no rolled-up row holds (it counts itself).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select, true, update
from sqlalchemy.orm import Session

from storage import models as m
from storage.bulk import rows_written

U = m.table(m.UsageDaily)


LOCK_CLASS = 14_001  # pg_advisory_xact_lock(LOCK_CLASS, workspace): usage writes of a workspace


def serialise(session: Session, ws: int) -> None:
    """Make this transaction the workspace's only usage writer until it ends (PostgreSQL; SQLite has
    one writer at a time already). Call it before writing usage rows: under READ COMMITTED two batches
    writing days of the same account at once would each total the rows without the other's, and the
    later days would keep a wrong total."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOCK_CLASS, ws)))


def refresh(session: Session, ws: int, since: Any | None = None) -> int:
    """Bring the running totals in line with the rows; returns how many rows were rewritten.

    ``since``: a select of (account_id, day) pairs — each named account's rows from that day on are
    recomputed (the earliest day per account counts), on top of the totals of its row just before it,
    which that day cannot have changed. None: every row of the workspace."""
    u = U
    if since is None:
        w: dict[str, Any] = {"partition_by": u.c.account_id, "order_by": u.c.day}
        totals = (
            select(
                u.c.id,
                func.count().over(**w).label("n"),
                func.sum(u.c.active_users).over(**w).label("s"),
            )
            .where(u.c.workspace_id == ws)
            .subquery("totals")
        )
    else:
        pairs = since.subquery("since")
        acc, day = pairs.c[0], pairs.c[1]
        start = select(acc.label("account_id"), func.min(day).label("d0")).group_by(acc).subquery("start")
        x, b = u.alias("before_day"), u.alias("base")
        w = {"partition_by": start.c.account_id, "order_by": x.c.day}
        if session.get_bind().dialect.name == "postgresql":
            # LATERAL: index scans per account. Joined on ``day >= d0`` PostgreSQL cannot estimate, it
            # read the whole table three times (1.2 s of a 2 s day's ingest at 50,000 accounts).
            rows: Any = (
                select(x.c.id, x.c.day, x.c.active_users)
                .where(x.c.account_id == start.c.account_id, x.c.day >= start.c.d0)
                .offset(0)  # kept a subquery (not pulled up into a join): an index scan per account
                .lateral("rows")
            )
            base: Any = (
                select(b.c.rows_upto, b.c.users_upto)
                .where(b.c.account_id == start.c.account_id, b.c.day < start.c.d0)
                .order_by(b.c.day.desc())
                .limit(1)
                .lateral("base")
            )
            w = {"partition_by": start.c.account_id, "order_by": rows.c.day}
            totals = (
                select(
                    rows.c.id,
                    (func.coalesce(base.c.rows_upto, 0) + func.count().over(**w)).label("n"),
                    (func.coalesce(base.c.users_upto, 0) + func.sum(rows.c.active_users).over(**w)).label(
                        "s"
                    ),
                )
                .select_from(start)
                .join(rows, true())
                .outerjoin(base, true())
                .subquery("totals")
            )
            return _write(session, ws, totals)
        prev_day = (
            select(func.max(x.c.day))
            .where(x.c.account_id == start.c.account_id, x.c.day < start.c.d0)
            .scalar_subquery()
        )
        w = {"partition_by": u.c.account_id, "order_by": u.c.day}
        totals = (
            select(
                u.c.id,
                (func.coalesce(b.c.rows_upto, 0) + func.count().over(**w)).label("n"),
                (func.coalesce(b.c.users_upto, 0) + func.sum(u.c.active_users).over(**w)).label("s"),
            )
            .select_from(start)
            .join(u, and_(u.c.account_id == start.c.account_id, u.c.day >= start.c.d0))
            .outerjoin(b, and_(b.c.account_id == start.c.account_id, b.c.day == prev_day))
            .where(u.c.workspace_id == ws)
            .subquery("totals")
        )
    return _write(session, ws, totals)


def _write(session: Session, ws: int, totals: Any) -> int:
    u = U
    stmt = (
        update(u)
        .where(
            u.c.id == totals.c.id,
            u.c.workspace_id == ws,
            or_(u.c.rows_upto != totals.c.n, u.c.users_upto != totals.c.s),
        )
        .values(rows_upto=totals.c.n, users_upto=totals.c.s)
    )
    return rows_written(session, stmt)
