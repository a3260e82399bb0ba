"""Which workspace a Slack request belongs to. Every query a listener makes is scoped to it.

Single-workspace mode (a bot token) serves the configured workspace and binds it to the first
Slack team that talks to it; a request from any other team is refused. OAuth mode keeps one
workspace per installed team (keyed by team id, or by enterprise id for org-wide installs).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.answer import Refusal
from storage.models import Workspace
from storage.workspaces import ensure_workspace


class ForeignTeam(Refusal):
    """A request from a Slack team this single-workspace bot is not bound to."""

    def __str__(self) -> str:
        return "This bot is not installed for your workspace."


def workspace_for_team(
    session: Session,
    *,
    team_id: str | None,
    enterprise_id: str | None,
    single_workspace: str | None,
    now: dt.datetime,
) -> int:
    key = team_id or enterprise_id
    if key is None:
        raise ForeignTeam("the request names no team")
    if single_workspace is not None:
        ws = ensure_workspace(session, single_workspace, now=now)
        bound = session.scalar(select(Workspace.slack_team_id).where(Workspace.id == ws))
        if bound is None:
            session.execute(
                update(Workspace)
                .where(Workspace.id == ws, Workspace.slack_team_id.is_(None))
                .values(slack_team_id=key, slack_enterprise_id=enterprise_id)
            )
            bound = session.scalar(select(Workspace.slack_team_id).where(Workspace.id == ws))
        if bound != key:
            raise ForeignTeam(f"this bot serves team {bound}, not {key}")
        return ws
    found = session.scalar(select(Workspace.id).where(Workspace.slack_team_id == key))
    if found is not None:
        return found
    ws = ensure_workspace(session, f"slack-{key}", now=now)
    session.execute(
        update(Workspace)
        .where(Workspace.id == ws)
        .values(slack_team_id=key, slack_enterprise_id=enterprise_id)
    )
    return ws


def disable_workspace(session: Session, ws: int, reason: str) -> None:
    """A dead token (account_inactive, token_revoked): stop this workspace's scheduled work only."""
    session.execute(update(Workspace).where(Workspace.id == ws).values(disabled_reason=reason))
