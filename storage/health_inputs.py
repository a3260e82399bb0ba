"""The health score's inputs (docs/metrics.md, "Health score"), read by grouped SQL for one account
or all accounts at once, and the stored daily snapshots. The score itself is computed from these
inputs in ``services.health``: this module only reads and writes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from storage import models as m
from storage.importer import ANALYZE_AFTER
from storage.periods import add_months, latest_complete_month
from storage.upsert import upsert

TREND_DAYS = 30
HIGH_PRIORITIES = ("high", "urgent")
WEIGHTY_TOUCHPOINTS = ("qbr", "ebr", "exec_meeting")


@dataclass
class HealthInputs:
    """What the score is computed from, for one account at one date."""

    mean_dau: float | None = None
    seats: int | None = None
    features_used: int = 0
    features_total: int = 0  # distinct features seen in the workspace in the window
    has_usage: bool = False
    tickets_tracked: bool = False  # the workspace has ticket data at all
    open_high: int = 0
    open_other: int = 0
    csat: float | None = None
    touchpoints_tracked: bool = False
    touch_weight: float = 0.0
    nps: float | None = None
    mrr_now: int = 0  # cents, month M
    mrr_before: int = 0  # cents, month M-3
    open_risk: bool = False


# --- inputs from the database ----------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _p(name: str, type_: Any = None) -> Any:
    return bindparam(name, type_=type_ if type_ is not None else Date())


def one_of(col: Any, values: tuple[str, ...]) -> Any:
    """``col IN (values)`` for a fixed tuple, as ``=`` tests: an ``IN`` list is expanded into the SQL
    on every execution (SQLAlchemy's "post-compile" step), which the /health hot path pays for."""
    return or_(*(col == literal(v) for v in values))


@functools.cache
def _statements(scoped: bool) -> dict[str, Any]:
    """The input queries, built once with bound parameters (``ws``, dates and, when ``scoped``, one
    ``account_id``): a single account's health is on the /health hot path, where building the same
    expressions again on every call would cost more than running them."""

    def scope(col: Any, ws_col: Any) -> list[Any]:
        conds = [ws_col == bindparam("ws")]
        if scoped:
            conds.append(col == bindparam("account_id"))
        return conds

    acc, u, fc, f = (
        m.Account.__table__,
        m.UsageDaily.__table__,
        m.FeatureCatalogue.__table__,
        m.FeatureUsage.__table__,
    )
    t, tp, n = m.Ticket.__table__, m.Touchpoint.__table__, m.NpsResponse.__table__
    mr, rf = m.MrrSnapshot.__table__, m.RiskFlag.__table__
    next_day, since_89 = _p("next_day", m.UTCDateTime()), _p("since_89", m.UTCDateTime())
    window = [*scope(u.c.account_id, u.c.workspace_id), u.c.day > _p("d28"), u.c.day <= _p("as_of")]
    seat_day = (
        select(u.c.account_id, func.max(u.c.day).label("day"))
        .where(*window, u.c.licensed_seats > 0)
        .group_by(u.c.account_id)
        .subquery()
    )
    is_open = and_(t.c.opened_at < next_day, (t.c.closed_at.is_(None)) | (t.c.closed_at >= next_day))
    high = one_of(t.c.priority, HIGH_PRIORITIES)
    recent = and_(t.c.closed_at >= since_89, t.c.closed_at < next_day)
    cents = type_coerce(mr.c.mrr, BigInteger)
    month, before = _p("month"), _p("before")
    return {
        # The accounts scored: customers on the day — won by then (or with no closed/won date), not
        # churned (an imported stage "churned", or paid before the day's month and not in it, as the
        # account card derives the stage). One account asked for by id is always read: its card shows
        # what it would score.
        "accounts": select(acc.c.id).where(
            *scope(acc.c.id, acc.c.workspace_id),
            *(
                []
                if scoped
                else [
                    or_(acc.c.closed_won_on.is_(None), acc.c.closed_won_on <= _p("as_of")),
                    or_(acc.c.stage.is_(None), acc.c.stage != "churned"),
                    or_(
                        ~exists().where(mr.c.account_id == acc.c.id, mr.c.month < month, cents > 0),
                        exists().where(mr.c.account_id == acc.c.id, mr.c.month == month, cents > 0),
                    ),
                ]
            ),
        ),
        "usage": select(u.c.account_id, func.avg(u.c.active_users).label("dau"))
        .where(*window)
        .group_by(u.c.account_id),
        "seats": select(u.c.account_id, u.c.licensed_seats.label("seats")).join(
            seat_day, and_(seat_day.c.account_id == u.c.account_id, seat_day.c.day == u.c.day)
        ),
        "features_total": select(func.count()).where(
            fc.c.workspace_id == bindparam("ws"), fc.c.first_seen <= _p("as_of"), fc.c.last_seen > _p("d28")
        ),
        "features": select(f.c.account_id, func.count(func.distinct(f.c.feature)).label("used"))
        .where(
            *scope(f.c.account_id, f.c.workspace_id),
            f.c.day > _p("d28"),
            f.c.day <= _p("as_of"),
            f.c.active_users > 0,
        )
        .group_by(f.c.account_id),
        "tickets_tracked": select(t.c.id).where(t.c.workspace_id == bindparam("ws")).limit(1),
        "tickets": select(
            t.c.account_id,
            func.sum(case((and_(is_open, high), 1), else_=0)).label("high"),
            func.sum(case((and_(is_open, not_(high)), 1), else_=0)).label("other"),
            func.avg(case((recent, t.c.csat), else_=None)).label("csat"),
        )
        .where(
            *scope(t.c.account_id, t.c.workspace_id),
            t.c.opened_at < next_day,
            (t.c.closed_at.is_(None)) | (t.c.closed_at >= since_89),
        )
        .group_by(t.c.account_id),
        "touch_tracked": select(tp.c.id).where(tp.c.workspace_id == bindparam("ws")).limit(1),
        "touch": select(
            tp.c.account_id,
            func.sum(case((one_of(tp.c.kind, WEIGHTY_TOUCHPOINTS), 2), else_=1)).label("weight"),
        )
        .where(
            *scope(tp.c.account_id, tp.c.workspace_id),
            tp.c.occurred_at >= since_89,
            tp.c.occurred_at < next_day,
        )
        .group_by(tp.c.account_id),
        "nps": select(n.c.account_id, func.avg(n.c.score).label("nps"))
        .where(
            *scope(n.c.account_id, n.c.workspace_id),
            n.c.responded_at >= _p("since_179", m.UTCDateTime()),
            n.c.responded_at < next_day,
        )
        .group_by(n.c.account_id),
        "mrr": select(
            mr.c.account_id,
            func.sum(case((mr.c.month == month, cents), else_=0)).label("now_cents"),
            func.sum(case((mr.c.month == before, cents), else_=0)).label("before_cents"),
        )
        .where(*scope(mr.c.account_id, mr.c.workspace_id), mr.c.month.in_([month, before]))
        .group_by(mr.c.account_id),
        "risk": select(rf.c.account_id)
        .distinct()
        .where(
            *scope(rf.c.account_id, rf.c.workspace_id),
            rf.c.flagged_on <= _p("as_of"),
            (rf.c.resolved_on.is_(None)) | (rf.c.resolved_on > _p("as_of")),
        ),
    }


# Each grouped query's value columns, named as in `_joined()`'s row: the one mapping from SQL
# results to `HealthInputs` (`_from_row`) reads both the joined row and the grouped results.
COLUMNS: dict[str, tuple[str, ...]] = {
    "usage": ("dau",),
    "seats": ("seats",),
    "features": ("used",),
    "tickets": ("high", "other", "csat"),
    "touch": ("weight",),
    "nps": ("nps",),
    "mrr": ("now_cents", "before_cents"),
    "risk": ("risk",),
}
WORKSPACE_WIDE = ("features_total", "tickets_tracked", "touch_tracked")  # one value for every account
GROUPED = tuple(COLUMNS)


@functools.cache
def _joined() -> Any:
    """The same inputs for the account ``account_id`` in one statement: each grouped query of
    `_statements(True)` joined to its account row, the workspace-wide facts as scalar subqueries.
    One round trip instead of twelve on the /health hot path; the definitions stay the ones above."""
    q, acc = _statements(True), m.Account.__table__
    sub = {name: q[name].subquery(name) for name in GROUPED}
    joined: Any = acc
    for part in sub.values():
        joined = joined.outerjoin(part, part.c.account_id == acc.c.id)
    columns = [q[name].scalar_subquery().label(name) for name in WORKSPACE_WIDE]
    for name, keys in COLUMNS.items():
        part = sub[name]
        columns += [part.c.account_id.label(k) if name == "risk" else part.c[k] for k in keys]
    return (
        select(acc.c.id, *columns)
        .select_from(joined)
        .where(acc.c.workspace_id == bindparam("ws"), acc.c.id == bindparam("account_id"))
    )


@functools.cache
def _with_snapshot() -> Any:
    """`_joined()` plus the account's stored snapshot of day ``then_day`` (the trend's other end)."""
    hs, acc = m.HealthSnapshot.__table__, m.Account.__table__
    stored = select(hs.c.components).where(
        hs.c.workspace_id == bindparam("ws"), hs.c.account_id == acc.c.id, hs.c.day == _p("then_day")
    )
    return _joined().add_columns(stored.scalar_subquery().label("then_components"))


def _params(ws: int, as_of: dt.date) -> dict[str, Any]:
    month = latest_complete_month(as_of + dt.timedelta(days=1))
    return {
        "ws": ws,
        "as_of": as_of,
        "d28": as_of - dt.timedelta(days=28),
        "next_day": _day_start(as_of + dt.timedelta(days=1)),
        "since_89": _day_start(as_of - dt.timedelta(days=89)),
        "since_179": _day_start(as_of - dt.timedelta(days=179)),
        "month": month,
        "before": add_months(month, -3),
    }


def _from_row(row: Mapping[Any, Any]) -> HealthInputs:
    """The inputs from one account's values, keyed like a row of `_joined()`."""
    inp = HealthInputs()
    if row["dau"] is not None:
        inp.mean_dau, inp.has_usage = float(row["dau"]), True
    if row["seats"] is not None:
        inp.seats = int(row["seats"])
    if row["features_total"]:
        inp.features_total, inp.features_used = int(row["features_total"]), int(row["used"] or 0)
    if row["tickets_tracked"] is not None:
        inp.tickets_tracked = True
        inp.open_high, inp.open_other = int(row["high"] or 0), int(row["other"] or 0)
        inp.csat = None if row["csat"] is None else float(row["csat"])
    if row["touch_tracked"] is not None:
        inp.touchpoints_tracked, inp.touch_weight = True, float(row["weight"] or 0)
    if row["nps"] is not None:
        inp.nps = float(row["nps"])
    inp.mrr_now, inp.mrr_before = int(row["now_cents"] or 0), int(row["before_cents"] or 0)
    inp.open_risk = row["risk"] is not None
    return inp


def gather_inputs(
    session: Session | Connection, ws: int, as_of: dt.date, account_id: int | None = None
) -> dict[int, HealthInputs]:
    """Health inputs at the end of ``as_of`` for one account (if None: every customer of ``ws`` that day,
    won by then and not churned).

    One account is read in one joined statement; the whole workspace query by query (grouped scans
    the planner can hash, where the joined form would build every aggregate first), each account's
    values collected into one row keyed like the joined statement's."""
    params = _params(ws, as_of)
    if account_id is not None:
        params["account_id"] = account_id
        return {row.id: _from_row(row._mapping) for row in session.execute(_joined(), params)}
    q = _statements(False)
    ids = list(session.scalars(q["accounts"], params))
    if not ids:
        return {}
    shared = {name: session.scalar(q[name], params) for name in WORKSPACE_WIDE}
    empty = {**dict.fromkeys(c for cols in COLUMNS.values() for c in cols), **shared}
    rows: dict[int, dict[str, Any]] = {aid: dict(empty) for aid in ids}
    skipped = {  # a query whose values the inputs would not read: not run
        "features": not shared["features_total"],
        "tickets": shared["tickets_tracked"] is None,
        "touch": shared["touch_tracked"] is None,
    }
    for name, columns in COLUMNS.items():
        if skipped.get(name):
            continue
        for aid, *values in session.execute(q[name], params):
            row = rows.get(aid)
            if row is not None:  # (not a customer that day: not scored)
                row.update(zip(columns, values if name != "risk" else [aid], strict=True))
    return {aid: _from_row(row) for aid, row in rows.items()}


def stored_components(
    conn: Session | Connection, ws: int, account_id: int, as_of: dt.date, then_day: dt.date
) -> tuple[HealthInputs, dict[str, float] | None]:
    """One account's inputs at ``as_of`` and, in the same round trip, the components stored in its
    snapshot of ``then_day`` (None when the snapshot job did not run that day)."""
    params = {**_params(ws, as_of), "account_id": account_id, "then_day": then_day}
    row = conn.execute(_with_snapshot(), params).one()
    stored = row.then_components
    return _from_row(row._mapping), None if stored is None else {k: float(v) for k, v in stored.items()}


def write_snapshots(session: Session, rows: list[dict[str, Any]]) -> None:
    """Upsert the day's snapshot rows (one per account and day); ANALYZE after a large batch."""
    for start in range(0, len(rows), 5_000):
        upsert(session, m.HealthSnapshot, rows[start : start + 5_000], ["account_id", "day"])
    if len(rows) >= ANALYZE_AFTER:
        session.execute(text("ANALYZE health_snapshots"))  # the scorecard's plans need today's row counts


def movers(
    session: Session, ws: int, day: dt.date, limit: int = 5, then_day: dt.date | None = None
) -> list[tuple[int, float, float]]:
    """Accounts whose snapshot score moved most between ``then_day`` (default 30 days earlier) and
    ``day``: (account id, now, then)."""
    then_day = then_day or day - dt.timedelta(days=TREND_DAYS)
    snap, old = m.HealthSnapshot.__table__, m.HealthSnapshot.__table__.alias("old")
    rows = session.execute(
        select(snap.c.account_id, snap.c.score, old.c.score)
        .join(old, and_(old.c.account_id == snap.c.account_id, old.c.day == then_day))
        .where(snap.c.workspace_id == ws, snap.c.day == day)
        .order_by(func.abs(snap.c.score - old.c.score).desc(), snap.c.account_id)
        .limit(limit)
    ).all()
    return [(aid, now, then) for aid, now, then in rows]


def latest_snapshot_days(session: Session, ws: int, as_of: dt.date) -> tuple[dt.date, dt.date] | None:
    """The latest snapshot day on or before ``as_of`` and the latest at least `TREND_DAYS` older
    (snapshot days need not be exactly 30 apart); None when there are not two such days."""
    snap = m.HealthSnapshot
    day = session.scalar(select(func.max(snap.day)).where(snap.workspace_id == ws, snap.day <= as_of))
    if day is None:
        return None
    then_day = session.scalar(
        select(func.max(snap.day)).where(
            snap.workspace_id == ws, snap.day <= day - dt.timedelta(days=TREND_DAYS)
        )
    )
    return None if then_day is None else (day, then_day)


def components_of(
    session: Session, ids: list[int], days: list[dt.date]
) -> dict[tuple[int, dt.date], dict[str, float]]:
    """The stored components of the accounts ``ids`` on ``days``, by (account id, day)."""
    snap = m.HealthSnapshot
    rows = session.execute(
        select(snap.account_id, snap.day, snap.components).where(snap.account_id.in_(ids), snap.day.in_(days))
    )
    return {(aid, day): comps for aid, day, comps in rows}


def account_names(session: Session, ids: list[int]) -> dict[int, str]:
    """The names of the accounts ``ids``."""
    rows = session.execute(select(m.Account.id, m.Account.name).where(m.Account.id.in_(ids))).all()
    return {aid: name for aid, name in rows}
