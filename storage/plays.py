"""Plays and their history: inserts that cannot make a second open play, state changes, lists.

Every function takes the workspace id and filters on it. The rules (who may, what a trigger means)
are in ``services.plays`` and ``storage.play_triggers``; this module only reads and writes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, literal, select, update
from sqlalchemy.orm import Session, aliased

from storage import models as m

OPEN_STATES = ("open", "accepted", "snoozed")


@dataclass(frozen=True)
class NewPlay:
    """A play to open: the columns of its row (``state`` open, ``open_key`` = ``play_key``)."""

    account_id: int
    play_key: str
    owner_id: int | None
    owner_role: str
    owner_channel: str | None
    due_at: dt.datetime | None
    signal: dict[str, Any] | None
    source: str = "signal"
    opened_by_id: int | None = None
    external_id: str | None = None
    note: str | None = None


def insert_plays(session: Session, ws: int, plays: Sequence[NewPlay], now: dt.datetime) -> list[int]:
    """Open the plays whose (account, play) has no play that is not closed; return the new ids.

    The unique key (workspace, account, open_key) is the claim: two workers inserting the same play
    at once make one row, the other insert does nothing. An "opened" event is written for each."""
    if not plays:
        return []
    ids = _insert_rows(session, ws, plays, now)
    if ids and session.get_bind().dialect.name != "postgresql":  # PostgreSQL: in the same statement
        # The "opened" events, set-based from the rows just written (a parameter set per event cost
        # more than the query).
        p, e = m.table(m.Play), m.table(m.PlayEvent)
        new_rows = (
            select(p.c.workspace_id, p.c.id, literal("opened"), p.c.opened_at, p.c.opened_by_id)
            .where(
                p.c.workspace_id == ws,
                p.c.id.between(min(ids), max(ids)),
                p.c.opened_at == now,
                p.c.source != "import",
                ~exists().where(e.c.play_id == p.c.id),
            )
            .order_by(p.c.id)
        )
        session.connection().execute(
            e.insert().from_select(["workspace_id", "play_id", "kind", "at", "actor_id"], new_rows)
        )
    return ids


# The columns an opened play writes, in the order of the multi-row VALUES below.
_COLUMNS = (
    "workspace_id",
    "account_id",
    "play_key",
    "open_key",
    "state",
    "owner_id",
    "owner_role",
    "owner_channel",
    "opened_at",
    "opened_by_id",
    "due_at",
    "signal",
    "source",
    "external_id",
    "note",
)
_CHUNK = 1000  # rows per statement: 15,000 parameters (SQLite allows 32,766, PostgreSQL 65,535)


_PG_CHUNK = 10_000


def _values(ws: int, p: NewPlay, now: dt.datetime) -> tuple[Any, ...]:
    """A new play's values in the order of ``_COLUMNS``."""
    return (
        ws,
        p.account_id,
        p.play_key,
        p.play_key,
        "open",
        p.owner_id,
        p.owner_role,
        p.owner_channel,
        now,
        p.opened_by_id,
        p.due_at,
        p.signal,
        p.source,
        p.external_id,
        p.note,
    )


def _insert_rows(session: Session, ws: int, plays: Sequence[NewPlay], now: dt.datetime) -> list[int]:
    """One multi-row ``INSERT … ON CONFLICT (workspace, account, open_key) DO NOTHING RETURNING id``
    per 1,000 plays, the values bound through each column's own type (so they are stored exactly as
    the ORM stores them) but without SQLAlchemy's per-row statement bookkeeping, which cost more than
    the database's work at 20,000 plays."""
    conn = session.connection()
    dialect = conn.dialect
    table = m.table(m.Play)
    procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in _COLUMNS]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    row_marks = "(" + ", ".join([mark] * len(_COLUMNS)) + ")"
    # Only the columns whose type converts values (times, JSON on this database) go through it;
    # repeated values (the opening time, a due time per time zone) are converted once.
    converting = [i for i, proc in enumerate(procs) if proc is not None]
    cache: dict[tuple[int, Any], Any] = {}
    head = f"INSERT INTO {table.name} ({', '.join(_COLUMNS)})"
    tail = "ON CONFLICT (workspace_id, account_id, open_key) DO NOTHING RETURNING id"

    def bound(i: int, value: Any) -> Any:
        proc = procs[i]
        if value is None or proc is None:
            return value
        if isinstance(value, dict):  # the signal: one per play
            return proc(value)
        key = (i, value)
        if key not in cache:
            cache[key] = proc(value)
        return cache[key]

    ids: list[int] = []
    if dialect.name == "postgresql":
        # One JSON document of row objects per chunk, expanded by json_to_recordset with each column's
        # own type: a single parameter that Python's C encoder writes, where a typed array per column
        # (unnest) spent more in psycopg quoting every element of every array than PostgreSQL spent
        # inserting the rows. Times go as the naive UTC the column stores (its bind processor's value).
        types = ", ".join(f"{c} {table.c[c].type.compile(dialect=dialect)}" for c in _COLUMNS)
        names = ", ".join(_COLUMNS)
        recordset = f"json_to_recordset(%s::json) AS r({types})"
        # The "opened" events are written by the same statement from the rows it inserted (a second
        # statement finding them again cost a quarter of the insert).
        inserted = " ".join(
            (head, "SELECT", names, "FROM", recordset, tail, ", opened_at, opened_by_id, source")
        )
        events = (
            "INSERT INTO play_events (workspace_id, play_id, kind, at, actor_id) "
            "SELECT %s, id, 'opened', opened_at, opened_by_id FROM ins WHERE source != 'import'"
        )
        sql = " ".join(("WITH ins AS (", inserted, "), ev AS (", events, ") SELECT id FROM ins"))
        times = [i for i, c in enumerate(_COLUMNS) if isinstance(table.c[c].type, m.UTCDateTime)]
        to_naive = {i: procs[i] for i in times}
        iso: dict[Any, Any] = {None: None}
        for start in range(0, len(plays), _PG_CHUNK):
            docs = []
            for p in plays[start : start + _PG_CHUNK]:
                row = list(_values(ws, p, now))
                for i in times:
                    if row[i] not in iso:
                        proc = to_naive[i]
                        iso[row[i]] = (proc(row[i]) if proc else row[i]).isoformat()
                    row[i] = iso[row[i]]
                docs.append(dict(zip(_COLUMNS, row, strict=True)))
            ids.extend(int(r[0]) for r in conn.exec_driver_sql(sql, (json.dumps(docs), ws)).all())
        return sorted(ids)
    for start in range(0, len(plays), _CHUNK):
        chunk = plays[start : start + _CHUNK]
        params: list[Any] = []
        for p in chunk:
            values = _values(ws, p, now)
            row = list(values)
            for i in converting:
                row[i] = bound(i, row[i])
            params.extend(row)
        # Only constants and placeholders in the text; every value is a bound parameter.
        values_sql = ", ".join([row_marks] * len(chunk))
        sql = f"{head} VALUES {values_sql} {tail}"
        ids.extend(int(r[0]) for r in conn.exec_driver_sql(sql, tuple(params)).all())
    return sorted(ids)


def play_in(session: Session, ws: int, play_id: int, *, lock: bool = False) -> m.Play | None:
    """The play, locked against concurrent changes (``FOR UPDATE`` on PostgreSQL; SQLite's write
    transactions hold the database lock already)."""
    stmt = select(m.Play).where(m.Play.workspace_id == ws, m.Play.id == play_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def not_closed(session: Session, ws: int, account_id: int, play_key: str) -> m.Play | None:
    return session.scalars(
        select(m.Play).where(
            m.Play.workspace_id == ws, m.Play.account_id == account_id, m.Play.open_key == play_key
        )
    ).first()


def last_closed_at(session: Session, ws: int, account_id: int, play_key: str) -> dt.datetime | None:
    return session.scalar(
        select(func.max(m.Play.closed_at)).where(
            m.Play.workspace_id == ws, m.Play.account_id == account_id, m.Play.play_key == play_key
        )
    )


def add_event(
    session: Session,
    ws: int,
    play_id: int,
    kind: str,
    at: dt.datetime,
    actor_id: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        m.PlayEvent(workspace_id=ws, play_id=play_id, kind=kind, at=at, actor_id=actor_id, detail=detail)
    )
    session.flush()


@dataclass(frozen=True)
class PlayEventRow:
    kind: str
    at: dt.datetime
    actor_name: str | None
    actor_slack: str | None
    detail: dict[str, Any] | None


def events_of(session: Session, ws: int, play_id: int) -> list[PlayEventRow]:
    rows = session.execute(
        select(m.PlayEvent.kind, m.PlayEvent.at, m.Person.name, m.Person.slack_user_id, m.PlayEvent.detail)
        .outerjoin(m.Person, m.Person.id == m.PlayEvent.actor_id)
        .where(m.PlayEvent.workspace_id == ws, m.PlayEvent.play_id == play_id)
        .order_by(m.PlayEvent.at, m.PlayEvent.id)
    ).all()
    return [PlayEventRow(*r) for r in rows]


def wake_snoozed(session: Session, ws: int, now: dt.datetime) -> int:
    """Snoozed plays whose time has come are back: accepted if someone had accepted them, else open."""
    woke = 0
    for state, accepted in (("accepted", True), ("open", False)):
        cond = m.Play.accepted_at.is_not(None) if accepted else m.Play.accepted_at.is_(None)
        result = session.execute(
            update(m.Play)
            .where(m.Play.workspace_id == ws, m.Play.state == "snoozed", m.Play.snoozed_until <= now, cond)
            .values(state=state, snoozed_until=None)
        )
        woke += int(getattr(result, "rowcount", 0) or 0)
    return woke


@dataclass(frozen=True)
class PlayRow:
    """A play with what a list shows of it."""

    id: int
    play_key: str
    state: str
    account_id: int
    account_external_id: str
    account_name: str
    owner_id: int | None
    owner_name: str | None
    owner_slack: str | None
    owner_role: str
    owner_channel: str | None
    opened_at: dt.datetime
    due_at: dt.datetime | None
    accepted_at: dt.datetime | None
    snoozed_until: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: str | None
    note: str | None
    signal: dict[str, Any] | None
    source: str
    external_id: str | None


def _listed() -> Any:
    owner = aliased(m.Person)
    return (
        select(
            m.Play.id,
            m.Play.play_key,
            m.Play.state,
            m.Play.account_id,
            m.Account.external_id,
            m.Account.name,
            m.Play.owner_id,
            owner.name,
            owner.slack_user_id,
            m.Play.owner_role,
            m.Play.owner_channel,
            m.Play.opened_at,
            m.Play.due_at,
            m.Play.accepted_at,
            m.Play.snoozed_until,
            m.Play.closed_at,
            m.Play.outcome,
            m.Play.note,
            m.Play.signal,
            m.Play.source,
            m.Play.external_id,
        )
        .join(m.Account, m.Account.id == m.Play.account_id)
        .outerjoin(owner, owner.id == m.Play.owner_id)
    )


def plays_by_ids(session: Session, ws: int, ids: Sequence[int]) -> list[PlayRow]:
    if not ids:
        return []
    rows = session.execute(
        _listed().where(m.Play.workspace_id == ws, m.Play.id.in_(list(ids))).order_by(m.Play.id)
    ).all()
    return [PlayRow(*r) for r in rows]


def list_plays(
    session: Session,
    ws: int,
    *,
    owner_ids: Sequence[int] | None = None,
    account_id: int | None = None,
    open_only: bool = True,
    limit: int = 200,
) -> list[PlayRow]:
    """Plays of these owners or of this account, the ones due first first (open ones only unless
    ``open_only`` is False; then the latest closed follow the open ones)."""
    conds: list[Any] = [m.Play.workspace_id == ws]
    if owner_ids is not None:
        conds.append(m.Play.owner_id.in_(list(owner_ids)))
    if account_id is not None:
        conds.append(m.Play.account_id == account_id)
    if open_only:
        conds.append(m.Play.state.in_(OPEN_STATES))
    stmt = (
        _listed()
        .where(and_(*conds))
        .order_by(
            (m.Play.state == "closed").asc(),
            m.Play.due_at.is_(None).asc(),
            m.Play.due_at.asc(),
            m.Play.closed_at.desc(),
            m.Play.id,
        )
        .limit(limit)
    )
    return [PlayRow(*r) for r in session.execute(stmt).all()]


def team_of(session: Session, ws: int, manager_id: int) -> list[int]:
    """The manager and everyone below them (any depth)."""
    found = {manager_id}
    frontier = [manager_id]
    while frontier:
        below = session.scalars(
            select(m.Person.id).where(m.Person.workspace_id == ws, m.Person.manager_id.in_(frontier))
        ).all()
        frontier = [p for p in below if p not in found]
        found.update(frontier)
    return sorted(found)


ROLE_COLUMNS = {
    "csm": m.Account.csm_id,
    "ae": m.Account.ae_id,
    "support_lead": m.Account.support_lead_id,
    "exec_sponsor": m.Account.exec_sponsor_id,
}
ROLE_TEAMS = {"ae": "sales", "csm": "cs", "support_lead": "support", "exec_sponsor": "leadership"}


def role_person(session: Session, ws: int, account_id: int, role: str) -> int | None:
    return session.scalar(
        select(ROLE_COLUMNS[role]).where(m.Account.workspace_id == ws, m.Account.id == account_id)
    )


def team_managers(session: Session, ws: int) -> dict[str, int]:
    """Per owner role, the manager of that role's team: the person most of the team's people report
    to (ties: the lowest id). Roles whose team has no manager are left out."""
    counts = session.execute(
        select(m.Person.team, m.Person.manager_id, func.count())
        .where(m.Person.workspace_id == ws, m.Person.manager_id.is_not(None))
        .group_by(m.Person.team, m.Person.manager_id)
    ).all()
    best: dict[str, tuple[int, int]] = {}
    for team, manager, n in counts:
        if manager is None:
            continue
        if team not in best or (-n, manager) < (-best[team][1], best[team][0]):
            best[team] = (manager, n)
    return {role: best[team][0] for role, team in ROLE_TEAMS.items() if team in best}


def person_timezones(session: Session, ws: int) -> dict[int, str]:
    rows = session.execute(select(m.Person.id, m.Person.timezone).where(m.Person.workspace_id == ws)).all()
    return {pid: tz for pid, tz in rows}


def overdue_plays(session: Session, ws: int, now: dt.datetime, limit: int = 5000) -> list[PlayRow]:
    """Plays not closed whose due time has passed (snoozed ones too: snoozing does not move the due
    time), the most overdue first."""
    stmt = (
        _listed()
        .where(m.Play.workspace_id == ws, m.Play.state.in_(OPEN_STATES), m.Play.due_at < now)
        .order_by(m.Play.due_at, m.Play.id)
        .limit(limit)
    )
    return [PlayRow(*r) for r in session.execute(stmt).all()]
