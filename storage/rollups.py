"""What a manager's daily roll-up reads: the managers (people with reports and a Slack id) and the SLA
breaches recorded for their direct reports' handoffs in a window of time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from storage import models as m


@dataclass(frozen=True)
class Manager:
    id: int
    name: str
    slack_user_id: str
    timezone: str


@dataclass(frozen=True)
class TeamBreach:
    handoff_id: int
    manager_id: int
    external_id: str
    account: str
    kind: str
    owner: str
    owner_slack: str | None
    due: dt.datetime | None
    breached_at: dt.datetime
    completed_at: dt.datetime | None
    acknowledged_at: dt.datetime | None


def managers(session: Session, ws: int) -> list[Manager]:
    """The workspace's people who manage someone and can be sent a DM, by id."""
    report = aliased(m.Person)
    p = m.Person
    rows = session.execute(
        select(p.id, p.name, p.slack_user_id, p.timezone)
        .where(
            p.workspace_id == ws,
            p.slack_user_id.is_not(None),
            exists().where(report.manager_id == p.id, report.workspace_id == ws),
        )
        .order_by(p.id)
    )
    return [Manager(r.id, r.name, r.slack_user_id, r.timezone or "UTC") for r in rows]


def last_days(session: Session, ws: int, kind: str) -> dict[int, dt.date]:
    """The day of each manager's latest roll-up in the delivery ledger (subjects "<manager id>:<day>")."""
    out: dict[int, dt.date] = {}
    for subject in session.scalars(
        select(m.Delivery.subject).where(m.Delivery.workspace_id == ws, m.Delivery.kind == kind)
    ):
        manager, _, day = subject.partition(":")
        try:
            key, when = int(manager), dt.date.fromisoformat(day)
        except ValueError:
            continue
        if key not in out or when > out[key]:
            out[key] = when
    return out


def team_breaches(
    session: Session, ws: int, manager_ids: Sequence[int], since: dt.datetime, until: dt.datetime
) -> list[TeamBreach]:
    """The breaches recorded in [since, until) on handoffs owned by a direct report of one of
    ``manager_ids``, oldest first."""
    if not manager_ids:
        return []
    h, e, owner = m.Handoff, m.SlaEvent, aliased(m.Person)
    out: list[TeamBreach] = []
    ids = sorted(set(manager_ids))
    for chunk in range(0, len(ids), 5000):
        rows = session.execute(
            select(
                h.id.label("handoff_id"),
                owner.manager_id.label("manager_id"),
                h.external_id.label("external_id"),
                m.Account.name.label("account"),
                h.kind.label("kind"),
                owner.name.label("owner"),
                owner.slack_user_id.label("owner_slack"),
                h.effective_due_at.label("due"),
                e.occurred_at.label("breached_at"),
                h.completed_at.label("completed_at"),
                h.acknowledged_at.label("acknowledged_at"),
            )
            .join(h, h.id == e.handoff_id)
            .join(m.Account, m.Account.id == h.account_id)
            .join(owner, owner.id == h.owner_id)
            .where(
                e.workspace_id == ws,
                e.kind == "breach",
                e.occurred_at >= since,
                e.occurred_at < until,
                owner.manager_id.in_(ids[chunk : chunk + 5000]),
            )
            .order_by(e.occurred_at, h.id)
        )
        out += [TeamBreach(**row._mapping) for row in rows]
    return out


@dataclass(frozen=True)
class TeamOverduePlay:
    play_id: int
    manager_id: int
    play_key: str
    account: str
    owner: str
    owner_slack: str | None
    due: dt.datetime
    state: str


def team_overdue_plays(
    session: Session, ws: int, manager_ids: Sequence[int], now: dt.datetime
) -> list[TeamOverduePlay]:
    """The plays past their due time at ``now`` — open or accepted, not snoozed or closed — owned by
    a direct report of one of ``manager_ids``, the most overdue first."""
    if not manager_ids:
        return []
    p, owner = m.Play, aliased(m.Person)
    ids = sorted(set(manager_ids))
    out: list[TeamOverduePlay] = []
    for chunk in range(0, len(ids), 5000):
        rows = session.execute(
            select(
                p.id.label("play_id"),
                owner.manager_id.label("manager_id"),
                p.play_key.label("play_key"),
                m.Account.name.label("account"),
                owner.name.label("owner"),
                owner.slack_user_id.label("owner_slack"),
                p.due_at.label("due"),
                p.state.label("state"),
            )
            .join(m.Account, m.Account.id == p.account_id)
            .join(owner, owner.id == p.owner_id)
            .where(
                p.workspace_id == ws,
                p.state.in_(("open", "accepted")),
                p.due_at < now,
                owner.manager_id.in_(ids[chunk : chunk + 5000]),
            )
            .order_by(p.due_at, p.id)
        )
        out += [TeamOverduePlay(**row._mapping) for row in rows]
    return out
