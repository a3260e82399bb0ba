"""What `retention-bot doctor` reads from the database: the workspace's people, channels and the
worker's last run (the checks themselves, and Slack's side, are ``bot/doctor.py``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from services import subscriptions
from storage import identities, workspaces
from storage import models as m
from storage.db import Database
from storage.job_runs import last_run


@dataclass(frozen=True)
class SetupFacts:
    workspace: int | None  # None: the CLI's workspace has no data yet
    people: int = 0
    unlinked: list[str] | None = None  # e-mails of people without a Slack id
    accounts: int = 0
    # (channel id, what the bot posts there, why its digest is paused or None)
    channels: tuple[tuple[str, str, str | None], ...] = ()
    last_job: tuple[str, dt.datetime] | None = None


def setup_facts(db: Database, slug: str) -> SetupFacts:
    with db.read() as session:
        ws = workspaces.find_workspace(session, slug)
        if ws is None:
            return SetupFacts(None)
        people, _ = identities.count_people(session, ws)
        unlinked = identities.unlinked_emails(session, ws)
        accounts = session.scalar(select(func.count()).where(m.Account.workspace_id == ws)) or 0
        wins_channel = workspaces.wins_channel(session, ws)
        job = last_run(session, ws)
    channels: list[tuple[str, str, str | None]] = [
        (s.channel_id, "weekly digest", None if s.active else (s.problem or "paused"))
        for s in subscriptions.subscriptions(db, ws)
    ]
    if wins_channel:
        channels.append((wins_channel, "win shout-outs", None))
    return SetupFacts(ws, people, unlinked, int(accounts), tuple(dict.fromkeys(channels)), job)
