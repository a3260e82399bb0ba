"""Workspaces (tenants): every other query is scoped to the id these functions return."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, true, update
from sqlalchemy.orm import Session

from storage.models import Base, Workspace
from storage.upsert import insert_ignore


def ensure_workspace(session: Session, slug: str, *, now: dt.datetime, timezone: str = "UTC") -> int:
    """The id of the workspace ``slug``, created if it does not exist yet (safe under concurrency)."""
    found = session.scalar(select(Workspace.id).where(Workspace.slug == slug))
    if found is not None:
        return found
    insert_ignore(
        session, Workspace, [{"slug": slug, "name": slug, "timezone": timezone, "created_at": now}], ["slug"]
    )
    return session.scalars(select(Workspace.id).where(Workspace.slug == slug)).one()


def find_workspace(session: Session, slug: str) -> int | None:
    return session.scalar(select(Workspace.id).where(Workspace.slug == slug))


def team_of(session: Session, ws: int) -> str | None:
    """The Slack team the workspace is bound to, if any."""
    return session.scalar(select(Workspace.slack_team_id).where(Workspace.id == ws))


def bind_team(session: Session, ws: int, *, team_id: str, enterprise_id: str | None) -> None:
    """Bind the workspace to a Slack team, unless it already is bound (the first team wins)."""
    session.execute(
        update(Workspace)
        .where(Workspace.id == ws, Workspace.slack_team_id.is_(None))
        .values(slack_team_id=team_id, slack_enterprise_id=enterprise_id)
    )


def set_team(session: Session, ws: int, *, team_id: str, enterprise_id: str | None) -> None:
    session.execute(
        update(Workspace)
        .where(Workspace.id == ws)
        .values(slack_team_id=team_id, slack_enterprise_id=enterprise_id)
    )


def bind_enterprise(session: Session, ws: int, enterprise_id: str) -> None:
    """Bind the workspace to an Enterprise Grid org, unless it already is bound."""
    session.execute(
        update(Workspace)
        .where(Workspace.id == ws, Workspace.slack_enterprise_id.is_(None))
        .values(slack_enterprise_id=enterprise_id)
    )


def workspace_of_team(session: Session, team_id: str) -> int | None:
    return session.scalar(select(Workspace.id).where(Workspace.slack_team_id == team_id))


def slack_slugs(session: Session) -> list[str]:
    """The slugs of the workspaces bound to a Slack team or org, by slug."""
    return list(
        session.scalars(
            select(Workspace.slug)
            .where(or_(Workspace.slack_team_id.is_not(None), Workspace.slack_enterprise_id.is_not(None)))
            .order_by(Workspace.slug)
        )
    )


def enabled_ids(session: Session) -> list[int]:
    """The workspaces whose scheduled work runs (none disabled by a dead token), by id."""
    return list(
        session.scalars(
            select(Workspace.id).where(Workspace.disabled_reason.is_(None)).order_by(Workspace.id)
        )
    )


def slack_installation(session: Session, ws: int) -> tuple[str | None, str | None] | None:
    """The workspace's Slack (team id, enterprise id); None when there is no such workspace."""
    row = session.execute(
        select(Workspace.slack_team_id, Workspace.slack_enterprise_id).where(Workspace.id == ws)
    ).first()
    return None if row is None else (row[0], row[1])


def set_disabled(session: Session, ws: int, reason: str) -> None:
    """Stop this workspace's scheduled work (``reason`` says why)."""
    session.execute(update(Workspace).where(Workspace.id == ws).values(disabled_reason=reason))


def installed_org_wide(session: Session, enterprise_id: str) -> bool:
    """Whether the app is installed org-wide in the Enterprise Grid org ``enterprise_id``: the
    installation store holds its org-level bot (no team). Bolt authorises such a request with that
    bot, so the request belongs to the org, whichever of the org's teams it comes from."""
    bots = Base.metadata.tables["slack_bots"]
    found = session.execute(
        select(bots.c.id)
        .where(
            bots.c.enterprise_id == enterprise_id,
            bots.c.team_id.is_(None),
            bots.c.is_enterprise_install == true(),
        )
        .limit(1)
    ).first()
    return found is not None


def wins_channel(session: Session, ws: int) -> str | None:
    """The channel where the workspace's shared wins get a shout-out; None: shout-outs are off."""
    return session.scalar(select(Workspace.wins_channel_id).where(Workspace.id == ws))


def set_wins_channel(session: Session, ws: int, channel_id: str | None) -> None:
    session.execute(update(Workspace).where(Workspace.id == ws).values(wins_channel_id=channel_id))
