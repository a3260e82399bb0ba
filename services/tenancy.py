"""Which workspace a Slack request belongs to. Every query a listener makes is scoped to it.

Single-workspace mode (a bot token) serves the configured workspace and binds it to the first
Slack team that talks to it; a request from any other team is refused. OAuth mode keeps one
workspace per installed team (keyed by team id), and one per Enterprise Grid org installed org-wide
(keyed by enterprise id: every team of the org sees the same data).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from services.errors import ConfigError, Refusal
from storage.db import Database
from storage.workspaces import (
    bind_enterprise,
    bind_team,
    ensure_workspace,
    installed_org_wide,
    set_disabled,
    set_team,
    slack_slugs,
    team_of,
    workspace_of_team,
)


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
        bound = team_of(session, ws)
        if bound is None:
            bind_team(session, ws, team_id=key, enterprise_id=enterprise_id)
            bound = team_of(session, ws)
        if bound != key:
            raise ForeignTeam(f"this bot serves team {bound}, not {key}")
        return ws
    if enterprise_id is not None and installed_org_wide(session, enterprise_id):
        return _org_workspace(session, enterprise_id, now=now)
    found = workspace_of_team(session, key)
    if found is not None:
        return found
    ws = ensure_workspace(session, f"slack-{key}", now=now)
    set_team(session, ws, team_id=key, enterprise_id=enterprise_id)
    return ws


def _org_workspace(session: Session, enterprise_id: str, *, now: dt.datetime) -> int:
    """The org's one workspace: slug ``slack-<ENTERPRISE_ID>``, no team of its own."""
    ws = ensure_workspace(session, f"slack-{enterprise_id}", now=now)
    bind_enterprise(session, ws, enterprise_id)
    return ws


# The slug OAuth mode gives a Slack workspace: its team id, or its enterprise id for an org-wide install.
SLACK_SLUG = re.compile(r"^slack-[TE][A-Z0-9]+$")


def configured_workspace(workspace: str, *, oauth: bool, session: Session | None = None) -> str:
    """The slug of the workspace the CLI and the ingest API read and write: RETENTION_BOT_WORKSPACE.

    With one bot token it is also the workspace Slack requests use (bound to the first team). In OAuth
    mode Slack requests use ``slack-<TEAM_ID>`` (``slack-<ENTERPRISE_ID>`` for an org-wide install),
    so any other name would be data no Slack user can see: the setting must name one of those (the
    error lists the workspaces installed so far when a ``session`` is given)."""
    if not oauth or SLACK_SLUG.match(workspace):
        return workspace
    installed = []
    if session is not None:
        installed = slack_slugs(session)
    raise ConfigError(
        f"setting RETENTION_BOT_WORKSPACE: {workspace!r} is no Slack workspace; in OAuth mode "
        "name the one to read and write: slack-<TEAM_ID>, or slack-<ENTERPRISE_ID> for an org-wide install"
        + (f" (installed: {', '.join(installed)})" if installed else "")
    )


def disable_workspace(session: Session, ws: int, reason: str) -> None:
    """A dead token (account_inactive, token_revoked): stop this workspace's scheduled work only."""
    set_disabled(session, ws, reason)


def disable_workspace_now(db: Database, ws: int, reason: str) -> None:
    """`disable_workspace` in its own transaction (a listener's dead token)."""
    with db.write() as session:
        set_disabled(session, ws, reason)
