"""Each account's lifecycle stage entry dates, kept up to date at every write, as revenue facts are.

``account_stages`` holds one row per account: the day it entered Closed/Won, Onboarded, Adopted and
Champion (None: not entered, or not known), by the rules of docs/metrics.md ("When an account enters a
lifecycle stage"):

- Closed/Won: the account's closed/won date;
- Onboarded: its kickoff milestone achieved;
- Adopted: its first-value or adopted milestone achieved, whichever came first;
- Champion: once Adopted, its first advocacy win (a reference, case study) or first promoter NPS
  response (9 or 10), whichever came first, on or after the day it was adopted.

A stage reached without its own event (adopted with no kickoff date) is taken as entered on the next
stage's date, so the dates never run backwards: a non-null date implies every earlier stage's date is
non-null and no later.

The inputs are ``accounts.closed_won_on``, the kickoff, first_value and adopted milestones, advocacy
wins and promoter NPS responses. Every write of them calls ``refresh`` for the accounts it touched: the
imports of those kinds (``storage.kinds``: file import, ingest, warehouse sync, demo data) and
``storage.wins.record_win``. So stage conversion is a few indexed counts per period instead of
deriving every account's dates again (three joins of milestones per account, and the champions),
and onboarding time one index range (the recorded closed/won and kickoff dates are kept beside them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from storage import models as m
from storage.upsert import dialect_insert

ACC = m.table(m.Account)
MS = m.table(m.Milestone)
WIN = m.table(m.Win)
NPS = m.table(m.NpsResponse)
STAGES_T = m.table(m.AccountStage)

PROMOTER = 9  # an NPS response of 9 or 10 (as the account card's promoter)
CHAMPION_WIN_KINDS = ("advocacy",)  # the wins that make an adopted account a champion
STAGE_MILESTONES = ("kickoff", "first_value", "adopted")  # the milestones that mark a stage
COLUMNS = ("closed_won_on", "onboarded_on", "adopted_on", "champion_on")  # the stages' entry dates
# Kept beside them for onboarding time (closed/won → kickoff, docs/metrics.md): the account's own
# closed/won date and its kickoff milestone's achieved date, as recorded (None: not recorded).
RECORDED = ("account_closed_won_on", "kickoff_on")
KEPT = (*COLUMNS, *RECORDED)


def _least(a: Any, b: Any) -> Any:
    """The earlier of two dates, either of which may be NULL."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


def _day(session: Session, when: Any) -> Any:
    """The UTC day of a stored time, as a date, on both databases."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(when, type_=Date)  # 'YYYY-MM-DD', the text SQLAlchemy stores a date as
    return cast(when, Date)


def entry_dates(session: Session, ws: int, account_ids: Any | None = None) -> Any:
    """A select of (account_id, workspace_id, closed_won_on, onboarded_on, adopted_on, champion_on,
    account_closed_won_on, kickoff_on) for the workspace's accounts (or those of ``account_ids``, a
    select of ids or a list), derived from the inputs by the rules above."""
    fv, ad, ko = MS.alias("fv"), MS.alias("ad"), MS.alias("ko")
    adopted = _least(fv.c.achieved_on, ad.c.achieved_on)
    onboarded = _least(ko.c.achieved_on, adopted)
    closed_won = _least(ACC.c.closed_won_on, onboarded)
    # Each correlated to the account: one index seek per adopted account (few have such events). A
    # response's time compares with a date as that day's midnight on both databases.
    first_win = (
        select(func.min(WIN.c.won_on))
        .where(
            WIN.c.account_id == ACC.c.id,
            WIN.c.kind.in_(CHAMPION_WIN_KINDS),
            WIN.c.won_on >= adopted,
        )
        .correlate(ACC, fv, ad)
        .scalar_subquery()
    )
    first_promoter = (
        select(_day(session, func.min(NPS.c.responded_at)))
        .where(NPS.c.account_id == ACC.c.id, NPS.c.score >= PROMOTER, NPS.c.responded_at >= adopted)
        .correlate(ACC, fv, ad)
        .scalar_subquery()
    )
    champion = case((adopted.is_(None), None), else_=_least(first_win, first_promoter))
    joined = (
        ACC.outerjoin(ko, and_(ko.c.account_id == ACC.c.id, ko.c.kind == "kickoff"))
        .outerjoin(fv, and_(fv.c.account_id == ACC.c.id, fv.c.kind == "first_value"))
        .outerjoin(ad, and_(ad.c.account_id == ACC.c.id, ad.c.kind == "adopted"))
    )
    q = select(
        ACC.c.id,
        literal(ws).label("workspace_id"),
        closed_won.label("closed_won_on"),
        onboarded.label("onboarded_on"),
        adopted.label("adopted_on"),
        champion.label("champion_on"),
        ACC.c.closed_won_on.label("account_closed_won_on"),
        ko.c.achieved_on.label("kickoff_on"),
    ).select_from(joined)
    q = q.where(ACC.c.workspace_id == ws)
    if account_ids is not None:
        q = q.where(ACC.c.id.in_(account_ids))
    return q


# PostgreSQL advisory lock namespace of the refresh (the second key is the workspace).
REFRESH_LOCK = 0x5354  # "ST"


def refresh(session: Session, ws: int, account_ids: Any | None = None) -> None:
    """Bring the kept stage dates of ``account_ids`` (a select of ids or a list; None: every account of
    the workspace) in line with their inputs. Only rows whose dates changed are written.

    On PostgreSQL the workspace's refreshes take turns until their transactions end: under READ
    COMMITTED two imports at once (a kickoff and a first value of the same account) would each write
    dates derived without the other's rows. The one that waited derives them after the other has
    committed, so it sees both. SQLite runs one write transaction at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK, ws)))
    if isinstance(account_ids, list | tuple | set):
        ids = sorted(set(account_ids))
        for start in range(0, len(ids), 5_000):
            _refresh(session, ws, ids[start : start + 5_000])
        return
    _refresh(session, ws, account_ids)


def _refresh(session: Session, ws: int, account_ids: Any | None) -> None:
    if isinstance(account_ids, list) and not account_ids:
        return
    ins = dialect_insert(session, STAGES_T)
    changed = or_(*[STAGES_T.c[c].is_distinct_from(ins.excluded[c]) for c in KEPT])
    stmt = ins.from_select(["account_id", "workspace_id", *KEPT], entry_dates(session, ws, account_ids))
    stmt = stmt.on_conflict_do_update(
        index_elements=["account_id"], set_={c: ins.excluded[c] for c in KEPT}, where=changed
    )
    session.execute(stmt)
