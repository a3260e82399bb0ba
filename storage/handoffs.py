"""Handoffs and their SLA events: the SQL behind opening, pausing, snoozing, acknowledging and finishing
a handoff, the sweep's reads and bulk writes, and the lists people ask for. The rules are in
``services.sla`` and ``services.handoffs``.

The reads that answer a person take the workspace id and filter on it; the sweep's work on every
workspace at once (its rows carry their workspace).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage import models as m
from storage.bulk import insert_ignore_many, update_many
from storage.models import table
from storage.sla_clock import Pause
from storage.upsert import insert_ignore


@dataclass(frozen=True)
class OpenHandoffRow:
    account: str
    external_id: str
    kind: str
    route: str
    owner: str | None
    due_at: dt.datetime
    paused: bool


def _listed(*columns: Any) -> Any:
    """Handoffs as lists show them: the account's name first, then ``columns``; the owner (``m.Person``)
    outer-joined, since a handoff may have none."""
    h = m.Handoff
    return (
        select(m.Account.name, *columns)
        .join(m.Account, m.Account.id == h.account_id)
        .outerjoin(m.Person, m.Person.id == h.owner_id)
    )


def open_handoffs(
    session: Session,
    ws: int,
    *,
    owner_ids: list[int] | None = None,
    account_id: int | None = None,
    limit: int = 200,
) -> list[OpenHandoffRow]:
    """Open handoffs, the most overdue first (paused ones last)."""
    h = m.Handoff
    q = _listed(
        h.external_id, h.kind, h.from_team, h.to_team, m.Person.name, h.effective_due_at, h.paused_since
    ).where(h.workspace_id == ws, h.completed_at.is_(None))
    if owner_ids is not None:
        q = q.where(h.owner_id.in_(owner_ids))
    if account_id is not None:
        q = q.where(h.account_id == account_id)
    q = q.order_by(h.paused_since.is_not(None), h.effective_due_at).limit(limit)
    return [
        OpenHandoffRow(acc, ext, kind, f"{src}→{dst}", owner, due, paused is not None)
        for acc, ext, kind, src, dst, owner, due, paused in session.execute(q)
    ]


def handoff_by_external_id(session: Session, ws: int, external_id: str) -> m.Handoff | None:
    return session.scalars(
        select(m.Handoff).where(m.Handoff.workspace_id == ws, m.Handoff.external_id == external_id)
    ).first()


# --- one handoff --------------------------------------------------------------------------------------


def insert_handoff(session: Session, row: dict[str, Any]) -> m.Handoff | None:
    """Insert a handoff row; None when one with its external id exists already (a retried request)."""
    if not insert_ignore(session, m.Handoff, [row], ["workspace_id", "external_id"]):
        return None
    return session.scalars(
        select(m.Handoff).where(
            m.Handoff.workspace_id == row["workspace_id"], m.Handoff.external_id == row["external_id"]
        )
    ).one()


def handoff_in(session: Session, ws: int, handoff_id: int) -> m.Handoff | None:
    """A handoff by its row id, only if it is in this workspace."""
    handoff = session.get(m.Handoff, handoff_id)
    return handoff if handoff is not None and handoff.workspace_id == ws else None


def account_segment(session: Session, account_id: int) -> str | None:
    return session.scalar(select(m.Account.segment).where(m.Account.id == account_id))


def account_name(session: Session, account_id: int) -> str | None:
    return session.scalar(select(m.Account.name).where(m.Account.id == account_id))


def owner_timezone(session: Session, person_id: int | None) -> str | None:
    return session.scalar(select(m.Person.timezone).where(m.Person.id == person_id))


def pauses_of(session: Session, handoff_id: int) -> list[Pause]:
    return [
        (p.started_at, p.ended_at)
        for p in session.scalars(select(m.HandoffPause).where(m.HandoffPause.handoff_id == handoff_id))
    ]


def add_pause(
    session: Session,
    handoff: m.Handoff,
    *,
    started_at: dt.datetime,
    reason: str,
    by: int | None,
    ended_at: dt.datetime | None = None,
) -> None:
    session.add(
        m.HandoffPause(
            workspace_id=handoff.workspace_id,
            handoff_id=handoff.id,
            started_at=started_at,
            ended_at=ended_at,
            reason=reason,
            by_person_id=by,
        )
    )


def end_open_pause(session: Session, handoff_id: int, now: dt.datetime) -> None:
    session.execute(
        update(m.HandoffPause)
        .where(m.HandoffPause.handoff_id == handoff_id, m.HandoffPause.ended_at.is_(None))
        .values(ended_at=now)
    )


def paused_hours(session: Session, handoff_id: int, reason_prefix: str, now: dt.datetime) -> float:
    """Hours of the handoff's pauses whose reason starts with ``reason_prefix`` (an open one: until now)."""
    return sum(
        ((p.ended_at or now) - p.started_at).total_seconds() / 3600
        for p in session.scalars(
            select(m.HandoffPause).where(
                m.HandoffPause.handoff_id == handoff_id, m.HandoffPause.reason.startswith(reason_prefix)
            )
        )
    )


def count_events(session: Session, handoff_id: int, kind: str) -> int:
    n = session.scalar(
        select(func.count()).where(m.SlaEvent.handoff_id == handoff_id, m.SlaEvent.kind == kind)
    )
    return int(n or 0)


def insert_event(
    session: Session,
    handoff: m.Handoff,
    kind: str,
    step: int,
    actor: int | None,
    now: dt.datetime,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Record an SLA event once (unique per handoff, kind and step); False if it was recorded before."""
    return bool(
        insert_ignore(
            session,
            m.SlaEvent,
            [
                {
                    "workspace_id": handoff.workspace_id,
                    "handoff_id": handoff.id,
                    "kind": kind,
                    "step": step,
                    "occurred_at": now,
                    "actor_id": actor,
                    "detail": detail,
                }
            ],
            ["handoff_id", "kind", "step"],
        )
    )


@dataclass(frozen=True)
class ActionEvent:
    """Something a person did to a handoff, as a redrawn ping shows it."""

    kind: str  # ack, done, snooze
    actor_slack: str | None
    at: dt.datetime
    detail: dict[str, Any] | None


def action_events(session: Session, handoff_id: int) -> list[ActionEvent]:
    """The acknowledgements, completions and snoozes of a handoff, in order."""
    rows = session.execute(
        select(m.SlaEvent.kind, m.Person.slack_user_id, m.SlaEvent.occurred_at, m.SlaEvent.detail)
        .outerjoin(m.Person, m.Person.id == m.SlaEvent.actor_id)
        .where(m.SlaEvent.handoff_id == handoff_id, m.SlaEvent.kind.in_(("ack", "done", "snooze")))
        .order_by(m.SlaEvent.occurred_at, m.SlaEvent.id)
    ).all()
    return [ActionEvent(kind, actor, at, detail) for kind, actor, at, detail in rows]


# --- the sweep ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PingFacts:
    handoff_id: int
    workspace_id: int
    external_id: str
    account: str
    kind: str
    from_team: str
    to_team: str
    due: dt.datetime
    owner: str | None  # name
    owner_slack: str | None
    manager_slack: str | None
    managers_manager_slack: str | None


@dataclass(frozen=True)
class DueHandoff(PingFacts):
    """A handoff the sweep must look at: its ping facts and its SLA state."""

    sla_stage: int
    warn_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    segment: str | None


def _facts_select(*extra: Any) -> Any:
    """A handoff with what its pings say and whom they may go to: owner, manager, manager's manager;
    each column labelled with its ``PingFacts`` field."""
    h, owner = m.Handoff, aliased(m.Person)
    manager, boss = aliased(m.Person), aliased(m.Person)
    return (
        select(
            h.id.label("handoff_id"),
            h.workspace_id.label("workspace_id"),
            h.external_id.label("external_id"),
            m.Account.name.label("account"),
            h.kind.label("kind"),
            h.from_team.label("from_team"),
            h.to_team.label("to_team"),
            h.effective_due_at.label("due"),
            owner.name.label("owner"),
            owner.slack_user_id.label("owner_slack"),
            manager.slack_user_id.label("manager_slack"),
            boss.slack_user_id.label("managers_manager_slack"),
            *extra,
        )
        .join(m.Account, m.Account.id == h.account_id)
        .outerjoin(owner, owner.id == h.owner_id)
        .outerjoin(manager, manager.id == owner.manager_id)
        .outerjoin(boss, boss.id == manager.manager_id)
    )


def ping_facts(session: Session, handoff_ids: Sequence[int]) -> dict[int, PingFacts]:
    """What a ping says and whom it may go to, for the given handoffs."""
    ids = list(handoff_ids)
    out: dict[int, PingFacts] = {}
    for chunk in range(0, len(ids), 5000):
        for row in session.execute(_facts_select().where(m.Handoff.id.in_(ids[chunk : chunk + 5000]))):
            facts = PingFacts(**row._mapping)
            out[facts.handoff_id] = facts
    return out


def due_for_sweep(session: Session, now: dt.datetime, limit: int) -> list[DueHandoff]:
    """The open, unpaused handoffs whose next check has come, the earliest first (an index)."""
    h = m.Handoff
    rows = session.execute(
        _facts_select(
            h.sla_stage.label("sla_stage"),
            h.warn_at.label("warn_at"),
            h.acknowledged_at.label("acknowledged_at"),
            m.Account.segment.label("segment"),
        )
        .where(h.next_check_at <= now, h.completed_at.is_(None), h.paused_since.is_(None))
        .order_by(h.next_check_at)
        .limit(limit)
    )
    return [DueHandoff(**row._mapping) for row in rows]


def insert_events(
    session: Session, rows: Sequence[tuple[int, int, str, int, dt.datetime]]
) -> set[tuple[int, str, int]]:
    """Insert (workspace, handoff, kind, step, occurred_at) events, skipping recorded ones; the
    (handoff, kind, step) keys this call inserted."""
    return set(
        insert_ignore_many(
            session,
            table(m.SlaEvent),
            ("workspace_id", "handoff_id", "kind", "step", "occurred_at"),
            list(rows),
            ("handoff_id", "kind", "step"),
            returning=("handoff_id", "kind", "step"),
        )
    )


def set_stages(session: Session, changes: Sequence[tuple[int, int, dt.datetime | None]]) -> None:
    """Set (handoff id, SLA stage, next check) for many handoffs."""
    update_many(session, table(m.Handoff), "id", ("sla_stage", "next_check_at"), list(changes))


def still_open(session: Session, handoff_ids: Sequence[int]) -> set[int]:
    """Those of the handoffs neither done nor acknowledged."""
    ids = list(handoff_ids)
    out: set[int] = set()
    for chunk in range(0, len(ids), 5000):
        out.update(
            session.scalars(
                select(m.Handoff.id).where(
                    m.Handoff.id.in_(ids[chunk : chunk + 5000]),
                    m.Handoff.completed_at.is_(None),
                    m.Handoff.acknowledged_at.is_(None),
                )
            )
        )
    return out


def closed_won_without_handoff(
    session: Session, ws: int, kind: str, since: dt.date, until: dt.date
) -> list[m.Account]:
    """Accounts closed/won between ``since`` and ``until`` that have no handoff of ``kind``."""
    has = select(m.Handoff.account_id).where(m.Handoff.workspace_id == ws, m.Handoff.kind == kind)
    return list(
        session.scalars(
            select(m.Account).where(
                m.Account.workspace_id == ws,
                m.Account.closed_won_on >= since,
                m.Account.closed_won_on <= until,
                m.Account.id.not_in(has),
            )
        ).all()
    )


def add_milestone_target(session: Session, ws: int, account_id: int, kind: str, target_on: dt.date) -> None:
    """A milestone's target date, unless the account has that milestone already."""
    insert_ignore(
        session,
        m.Milestone,
        [{"workspace_id": ws, "account_id": account_id, "kind": kind, "target_on": target_on}],
        ["account_id", "kind"],
    )


@dataclass(frozen=True)
class LateHandoff:
    account: str
    kind: str
    from_team: str
    to_team: str
    owner: str | None
    due_at: dt.datetime
    completed_at: dt.datetime | None  # None: still open


def late_handoffs(
    session: Session, ws: int, start: dt.datetime, end: dt.datetime, limit: int = 200
) -> list[LateHandoff]:
    """Handoffs due in [start, end) and not done in time (done late, or still open), not paused;
    soonest due first."""
    handoff = m.Handoff
    rows = session.execute(
        _listed(
            handoff.kind,
            handoff.from_team,
            handoff.to_team,
            m.Person.name,
            handoff.effective_due_at,
            handoff.completed_at,
        )
        .where(
            handoff.workspace_id == ws,
            handoff.paused_since.is_(None),
            handoff.effective_due_at >= start,
            handoff.effective_due_at < end,
            or_(
                handoff.completed_at.is_(None),
                and_(handoff.completed_at.is_not(None), handoff.completed_at > handoff.effective_due_at),
            ),
        )
        .order_by(handoff.effective_due_at)
        .limit(limit)
    ).all()
    return [LateHandoff(*row) for row in rows]
