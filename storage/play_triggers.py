"""The play triggers: each a rule over stored data as of a day, answered for every account of the
workspace by one grouped query (docs/plays.md, "Triggers"). Each returns the accounts it fires for
with the values that made it fire (recorded on the play as its signal).

"As of day D" means the data up to the end of D (UTC). Accounts whose stage is ``churned`` never fire.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from storage import models as m
from storage.periods import latest_complete_month

SNAPSHOT_DAYS = 7  # the risk tier reads the latest health snapshot of the 7 days ending on D (D−6 … D)


@dataclass(frozen=True)
class Fired:
    account_id: int
    values: dict[str, Any]


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _live(ws: int, segments: Sequence[str]) -> list[Any]:
    conds: list[Any] = [
        m.Account.workspace_id == ws,
        or_(m.Account.stage.is_(None), m.Account.stage != "churned"),
    ]
    if segments:
        conds.append(m.Account.segment.in_(list(segments)))
    return conds


def health_drop(
    session: Session, ws: int, day: dt.date, segments: Sequence[str], *, points: float, days: int, red: bool
) -> list[Fired]:
    """The snapshot of D is red (when ``red``), or its score is ``points`` or more below the snapshot
    of D − ``days``. Accounts without a snapshot on D do not fire."""
    now, then = aliased(m.HealthSnapshot), aliased(m.HealthSnapshot)
    dropped = and_(then.score.is_not(None), then.score - now.score >= points)
    cond = or_(now.band == "red", dropped) if red else dropped
    rows = session.execute(
        select(now.account_id, now.score, now.band, then.score, then.band)
        .join(m.Account, m.Account.id == now.account_id)
        .outerjoin(
            then,
            and_(
                then.account_id == now.account_id,
                then.workspace_id == ws,
                then.day == day - dt.timedelta(days=days),
            ),
        )
        .where(now.workspace_id == ws, now.day == day, cond, *_live(ws, segments))
    ).all()
    return [
        Fired(
            a,
            {
                "score": round(s, 1),
                "band": b,
                "score_then": None if st is None else round(st, 1),
                "band_then": bt,
                "days": days,
            },
        )
        for a, s, b, st, bt in rows
    ]


def usage_drop(
    session: Session,
    ws: int,
    day: dt.date,
    segments: Sequence[str],
    *,
    pct: float,
    window_days: int,
    baseline_days: int,
    min_baseline_days: int,
) -> list[Fired]:
    """Every one of the ``window_days`` days ending D has a usage row, and the highest of them is more
    than ``pct`` % below the baseline: the mean daily active users of the ``baseline_days`` days before
    the window, over the days that have a row (at least ``min_baseline_days`` of them, mean > 0).

    Read from the rows' running totals (storage/usage_rollup.py), not by summing every row: an
    account fires only with rows on D and on the window's first day W, and then

    - the window has ``rows_upto(D) − rows_upto(W) + 1`` rows (all its days ⇔ ``window_days``), and
      ``users_upto(D) − users_upto(W) + users(W)`` active users;
    - the baseline's count and sum are the totals just before W less those of the account's last row
      before the baseline's first day (none: 0) — one index seek.

    The highest of the window is at least its mean, its first day and D; only the accounts that the
    baseline threshold would still let through on those read the window's rows for the exact highest
    (a few per cent of them)."""
    w_start = day - dt.timedelta(days=window_days - 1)
    b_start = w_start - dt.timedelta(days=baseline_days)
    d, w, b, x, p = (m.table(m.UsageDaily).alias(n) for n in ("on_d", "on_w", "base", "before", "peak"))
    if session.get_bind().dialect.name == "postgresql":
        # One LATERAL index scan per account (a third of the time of a max() subplan and a join there).
        base: Any = (
            select(x.c.rows_upto, x.c.users_upto)
            .where(x.c.account_id == d.c.account_id, x.c.day < b_start)
            .order_by(x.c.day.desc())
            .limit(1)
            .lateral("base")
        )
        b_on: Any = literal(True)
    else:  # SQLite has no LATERAL: the day of that row (one seek), then the row by its key
        last_before = (
            select(func.max(x.c.day))
            .where(x.c.account_id == d.c.account_id, x.c.day < b_start)
            .scalar_subquery()
        )
        base, b_on = b, and_(b.c.account_id == d.c.account_id, b.c.day == last_before)
    b = base
    w_n = d.c.rows_upto - w.c.rows_upto + 1
    w_sum = d.c.users_upto - w.c.users_upto + w.c.active_users
    b_n = w.c.rows_upto - 1 - func.coalesce(b.c.rows_upto, 0)
    b_sum = w.c.users_upto - w.c.active_users - func.coalesce(b.c.users_upto, 0)
    limit = b_sum * (100.0 - pct)  # max(window) < mean(baseline) × (1 − pct/100), without division
    peak = (
        select(func.max(p.c.active_users))
        .where(p.c.account_id == d.c.account_id, p.c.day >= w_start, p.c.day <= day)
        .scalar_subquery()
    )
    rows = session.execute(
        select(d.c.account_id, w_sum, b_n, b_sum, peak)
        .join(w, and_(w.c.account_id == d.c.account_id, w.c.workspace_id == ws, w.c.day == w_start))
        .outerjoin(b, b_on)
        .join(m.Account, m.Account.id == d.c.account_id)
        .where(
            d.c.workspace_id == ws,
            d.c.day == day,
            w_n == window_days,
            b_n >= min_baseline_days,
            b_sum > 0,
            # necessary: the highest is at least D's, W's and the window's mean
            d.c.active_users * 100.0 * b_n < limit,
            w.c.active_users * 100.0 * b_n < limit,
            w_sum * 100.0 * b_n < limit * window_days,
            *_live(ws, segments),
        )
    ).all()
    out = []
    for a, wsum, bn, bsum, wmax in rows:
        if not wmax * 100.0 * bn < bsum * (100.0 - pct):
            continue
        base = float(bsum) / float(bn)
        mean = float(wsum) / float(window_days)
        out.append(
            Fired(
                a,
                {
                    "baseline_mean": round(base, 2),
                    "window_mean": round(mean, 2),
                    "window_peak": int(wmax),
                    "pct_down": round(100 * (1 - mean / base), 1),
                    "window_days": window_days,
                    "baseline_days": baseline_days,
                },
            )
        )
    return out


def ticket_spike(
    session: Session,
    ws: int,
    day: dt.date,
    segments: Sequence[str],
    *,
    count: int,
    days: int,
    priorities: Sequence[str],
) -> list[Fired]:
    """``count`` or more tickets of these priorities opened in the ``days`` days ending D."""
    t = m.Ticket
    n = func.count()
    grouped = (
        select(t.account_id, n.label("n"))
        .where(
            t.workspace_id == ws,
            t.priority.in_(list(priorities)),
            t.opened_at >= _start(day - dt.timedelta(days=days - 1)),
            t.opened_at < _start(day + dt.timedelta(days=1)),
        )
        .group_by(t.account_id)
        .having(n >= count)
        .subquery()
    )
    rows = session.execute(
        select(grouped.c.account_id, grouped.c.n)
        .join(m.Account, m.Account.id == grouped.c.account_id)
        .where(*_live(ws, segments))
    ).all()
    return [Fired(a, {"tickets": int(k), "days": days, "priorities": list(priorities)}) for a, k in rows]


def nps_detractor(
    session: Session, ws: int, day: dt.date, segments: Sequence[str], *, max_score: int, days: int
) -> list[Fired]:
    """A response scored ``max_score`` or lower in the ``days`` days ending D (the lowest is recorded)."""
    r = m.NpsResponse
    grouped = (
        select(
            r.account_id,
            func.min(r.score).label("score"),
            func.count().label("n"),
            func.max(r.responded_at).label("at"),
        )
        .where(
            r.workspace_id == ws,
            r.score <= max_score,
            r.responded_at >= _start(day - dt.timedelta(days=days - 1)),
            r.responded_at < _start(day + dt.timedelta(days=1)),
        )
        .group_by(r.account_id)
        .subquery()
    )
    rows = session.execute(
        select(grouped.c.account_id, grouped.c.score, grouped.c.n, grouped.c.at)
        .join(m.Account, m.Account.id == grouped.c.account_id)
        .where(*_live(ws, segments))
    ).all()
    return [
        Fired(a, {"lowest_score": int(s), "detractor_responses": int(k), "latest_at": _iso(at), "days": days})
        for a, s, k, at in rows
    ]


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return value.isoformat()


def _paying(ws: int, day: dt.date) -> Any:
    """Accounts with MRR > 0 in the latest complete month at D (METRICS.md's M)."""
    return select(m.MrrSnapshot.account_id).where(
        m.MrrSnapshot.workspace_id == ws,
        m.MrrSnapshot.month == latest_complete_month(day),
        m.MrrSnapshot.mrr > 0,
    )


def no_exec_touchpoint(
    session: Session,
    ws: int,
    day: dt.date,
    segments: Sequence[str],
    *,
    days: int,
    kinds: Sequence[str],
    sponsored_only: bool = True,
) -> list[Fired]:
    """A paying account (MRR > 0 in the latest complete month), won at least ``days`` days before D (or
    with no won date), with an executive sponsor (when ``sponsored_only``), and no touchpoint of these
    kinds in the ``days`` days ending D."""
    tp = m.Touchpoint
    last = (
        select(tp.account_id, func.max(tp.occurred_at).label("last"))
        .where(
            tp.workspace_id == ws,
            tp.kind.in_(list(kinds)),
            tp.occurred_at < _start(day + dt.timedelta(days=1)),
        )
        .group_by(tp.account_id)
        .subquery()
    )
    cutoff = _start(day - dt.timedelta(days=days - 1))
    rows = session.execute(
        select(m.Account.id, last.c.last)
        .outerjoin(last, last.c.account_id == m.Account.id)
        .where(
            *_live(ws, segments),
            m.Account.id.in_(_paying(ws, day)),
            or_(m.Account.closed_won_on.is_(None), m.Account.closed_won_on <= day - dt.timedelta(days=days)),
            or_(last.c.last.is_(None), last.c.last < cutoff),
            m.Account.exec_sponsor_id.is_not(None) if sponsored_only else literal(True),
        )
    ).all()
    return [Fired(a, {"last_exec_touchpoint": _iso(t), "days": days, "kinds": list(kinds)}) for a, t in rows]


def _latest_band(ws: int, day: dt.date, account_ids: Any | None = None) -> Any:
    """Per account (of ``account_ids``, a select of ids, when given), the band of its latest snapshot
    of the SNAPSHOT_DAYS days ending on D (D−6 … D)."""
    h = m.HealthSnapshot
    conds = [h.workspace_id == ws, h.day <= day, h.day > day - dt.timedelta(days=SNAPSHOT_DAYS)]
    if account_ids is not None:
        conds.append(h.account_id.in_(account_ids))
    latest = (
        select(h.account_id, func.max(h.day).label("day")).where(*conds).group_by(h.account_id).subquery()
    )
    return (
        select(h.account_id, h.band)
        .join(latest, and_(latest.c.account_id == h.account_id, latest.c.day == h.day))
        .where(h.workspace_id == ws)
        .subquery()
    )


def _open_flag(ws: int, day: dt.date) -> Any:
    """A risk flag of the (workspace's) account open on ``day``. Correlated by the account alone: its
    flags are the workspace's, and naming the workspace too let SQLite without statistics seek the
    workspace's flags (every one, per account: 6.6 s at 50,000 accounts) instead of the account's."""
    f = m.RiskFlag
    return exists().where(
        f.account_id == m.Account.id,
        f.flagged_on <= day,
        or_(f.resolved_on.is_(None), f.resolved_on > day),
    )


def _open_save_play(ws: int, save_keys: Sequence[str]) -> Any:
    p = m.Play
    if not save_keys:
        return literal(False)
    return exists().where(
        p.workspace_id == ws,
        p.account_id == m.Account.id,
        p.open_key.is_not(None),
        p.play_key.in_(list(save_keys)),
    )


def risk_facts(
    session: Session,
    ws: int,
    day: dt.date,
    save_keys: Sequence[str],
    account_ids: Sequence[int] | None = None,
) -> dict[int, tuple[str | None, bool, bool]]:
    """Per account: (band of the latest snapshot, a risk flag open at D, a save play open now)."""
    band = _latest_band(ws, day)
    stmt = (
        select(m.Account.id, band.c.band, _open_flag(ws, day), _open_save_play(ws, save_keys))
        .outerjoin(band, band.c.account_id == m.Account.id)
        .where(m.Account.workspace_id == ws)
    )
    if account_ids is not None:
        stmt = stmt.where(m.Account.id.in_(list(account_ids)))
    return {a: (b, bool(f), bool(s)) for a, b, f, s in session.execute(stmt).all()}


def renewal_at_risk(
    session: Session,
    ws: int,
    day: dt.date,
    segments: Sequence[str],
    *,
    days_out: Sequence[int],
    window_days: int,
    min_tier: str,
    save_keys: Sequence[str],
) -> list[Fired]:
    """The renewal date is ``k`` days out or fewer for a mark k of ``days_out``, crossed at most
    ``window_days`` days ago (k − window_days < days to renewal ≤ k), and the risk tier (services.risk)
    is at least ``min_tier``: high = red band or an open risk flag; medium adds yellow or an open
    save play."""
    marks = sorted(set(days_out))
    in_window = or_(
        *[
            and_(
                m.Account.renewal_on <= day + dt.timedelta(days=k),
                m.Account.renewal_on > day + dt.timedelta(days=k - window_days),
            )
            for k in marks
        ]
    )
    # Only the accounts at a renewal mark read their band (a few per cent of them, not every account).
    due = select(m.Account.id).where(*_live(ws, segments), m.Account.renewal_on > day, in_window)
    band = _latest_band(ws, day, due)
    flag = _open_flag(ws, day)
    save = _open_save_play(ws, save_keys)
    high = or_(band.c.band == "red", flag)
    medium = or_(high, band.c.band == "yellow", save)
    rows = session.execute(
        select(m.Account.id, m.Account.renewal_on, band.c.band, flag, save)
        .outerjoin(band, band.c.account_id == m.Account.id)
        .where(
            *_live(ws, segments),
            m.Account.renewal_on > day,
            in_window,
            high if min_tier == "high" else medium,
        )
    ).all()
    out = []
    for a, renewal_on, b, f, s in rows:
        left = (renewal_on - day).days
        mark = min(k for k in marks if k >= left and left > k - window_days)
        tier = "high" if (b == "red" or f) else "medium"
        out.append(
            Fired(
                a,
                {
                    "renewal_on": renewal_on.isoformat(),
                    "days_out": left,
                    "mark": mark,
                    "tier": tier,
                    "band": b,
                    "open_risk_flag": bool(f),
                    "open_save_play": bool(s),
                },
            )
        )
    return out


def first_value(
    session: Session, ws: int, day: dt.date, segments: Sequence[str], *, days: int
) -> list[Fired]:
    """The first_value milestone was achieved in the ``days`` days ending D."""
    ms = m.Milestone
    rows = session.execute(
        select(ms.account_id, ms.achieved_on, ms.target_on)
        .join(m.Account, m.Account.id == ms.account_id)
        .where(
            ms.workspace_id == ws,
            ms.kind == "first_value",
            ms.achieved_on <= day,
            ms.achieved_on > day - dt.timedelta(days=days),
            *_live(ws, segments),
        )
    ).all()
    return [
        Fired(a, {"achieved_on": _iso(ach), "target_on": tgt.isoformat() if tgt else None})
        for a, ach, tgt in rows
    ]


def seats_full(
    session: Session, ws: int, day: dt.date, segments: Sequence[str], *, pct: float, days: int
) -> list[Fired]:
    """The peak daily active users of the ``days`` days ending D is at least ``pct`` % of the licensed
    seats (the most seats reported in those days; accounts without seat data do not fire)."""
    u = m.UsageDaily
    peak, seats = func.max(u.active_users), func.max(u.licensed_seats)
    grouped = (
        select(u.account_id, peak.label("peak"), seats.label("seats"))
        .where(u.workspace_id == ws, u.day > day - dt.timedelta(days=days), u.day <= day)
        .group_by(u.account_id)
        .having(seats > 0, peak * 100.0 >= seats * pct)
        .subquery()
    )
    rows = session.execute(
        select(grouped.c.account_id, grouped.c.peak, grouped.c.seats)
        .join(m.Account, m.Account.id == grouped.c.account_id)
        .where(*_live(ws, segments))
    ).all()
    return [
        Fired(
            a, {"peak_active_users": int(p), "seats": int(s), "pct_used": round(100 * p / s, 1), "days": days}
        )
        for a, p, s in rows
    ]


def blocked(session: Session, ws: int, closed_since: dict[str, dt.datetime]) -> dict[str, set[int]]:
    """Per play key, the accounts where it may not open now: one is not closed, or one closed after
    ``closed_since[key]`` (its cooldown). One query for every key."""
    p = m.Play
    out: dict[str, set[int]] = {key: set() for key in closed_since}
    if not closed_since:
        return out
    earliest = min(closed_since.values())
    rows = session.execute(
        select(p.account_id, p.play_key, p.closed_at).where(
            p.workspace_id == ws,
            p.play_key.in_(list(closed_since)),
            or_(p.open_key.is_not(None), p.closed_at > earliest),
        )
    ).all()
    for account, key, closed_at in rows:
        if closed_at is None or closed_at > closed_since[key]:
            out[key].add(account)
    return out


def owners(session: Session, ws: int, account_ids: Sequence[int], column: Any) -> dict[int, int | None]:
    """The person in an owner role column (``m.Account.csm_id`` …) of each account."""
    out: dict[int, int | None] = {}
    ids = list(account_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        out.update(
            session.execute(
                select(m.Account.id, column).where(m.Account.workspace_id == ws, m.Account.id.in_(chunk))
            ).all()
        )
    return out


def owners_by_role(session: Session, ws: int, columns: dict[str, Any]) -> dict[str, dict[int, int | None]]:
    """Per owner role (``{"csm": m.Account.csm_id, …}``), the person of every account of the
    workspace: one query for all roles, for an evaluation that opens thousands of plays (an IN list
    per play costs more than reading the workspace's accounts once)."""
    roles = list(columns)
    rows = (
        session.connection()
        .execute(select(m.Account.id, *[columns[r] for r in roles]).where(m.Account.workspace_id == ws))
        .all()
    )
    if not rows:
        return {role: {} for role in roles}
    ids, *people = zip(*rows, strict=True)  # one column per role: dicts built by zip, not per cell
    return {role: dict(zip(ids, people[i], strict=True)) for i, role in enumerate(roles)}
