"""Digest subscriptions: which channel gets the weekly scorecard, on which weekday, at what local time
in which IANA time zone, for which segment. The scheduler (issue 4) decides what is due from these
rows and the delivery ledger; the rows themselves are the truth, never pickled job state. Reading a
schedule people typed is ``services.subscriptions``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.models import DigestSubscription, Workspace
from storage.upsert import upsert


@dataclass(frozen=True)
class Schedule:
    """A subscription's when and what (``services.subscriptions.parse_schedule`` reads one)."""

    weekday: int
    local_time: dt.time
    timezone: str | None  # None: the workspace's default time zone
    segment: str | None
    cadence: str = "week"  # week | month | quarter (the first weekday of the month or quarter)
    team: str | None = None  # the digest leads with this team's part


def subscribe(
    session: Session, ws: int, channel_id: str, schedule: Schedule, *, by: str | None, now: dt.datetime
) -> DigestSubscription:
    """Create or change the channel's subscription (one per channel); reactivates a paused one."""
    tz = schedule.timezone or session.scalar(select(Workspace.timezone).where(Workspace.id == ws)) or "UTC"
    # Columns, not the entity: an entity loaded here would be returned stale after the upsert below.
    before = session.execute(
        select(
            DigestSubscription.cadence,
            DigestSubscription.weekday,
            DigestSubscription.local_time,
            DigestSubscription.timezone,
        ).where(DigestSubscription.workspace_id == ws, DigestSubscription.channel_id == channel_id)
    ).first()
    # A changed schedule starts at its next occurrence, as a new one does (``created_at`` is what the
    # scheduler's "no catch-up" rule compares against): a weekly digest made quarterly in November must
    # not post the quarter that ended in September.
    same_schedule = before is not None and (
        tuple(before) == (schedule.cadence, schedule.weekday, schedule.local_time, tz)
    )
    row = {
        "workspace_id": ws,
        "channel_id": channel_id,
        "weekday": schedule.weekday,
        "local_time": schedule.local_time,
        "timezone": tz,
        "segment": schedule.segment,
        "cadence": schedule.cadence,
        "team": schedule.team,
        "active": True,
        "problem": None,
        "created_by": by,
        "created_at": now,
    }
    upsert(
        session,
        DigestSubscription,
        [row],
        ["workspace_id", "channel_id"],
        update=["weekday", "local_time", "timezone", "segment", "cadence", "team", "active", "problem"]
        + ([] if same_schedule else ["created_at"]),
    )
    return session.scalars(
        select(DigestSubscription).where(
            DigestSubscription.workspace_id == ws, DigestSubscription.channel_id == channel_id
        )
    ).one()


def subscriptions(session: Session, ws: int) -> list[DigestSubscription]:
    return list(
        session.scalars(
            select(DigestSubscription)
            .where(DigestSubscription.workspace_id == ws)
            .order_by(
                DigestSubscription.weekday, DigestSubscription.local_time, DigestSubscription.channel_id
            )
        )
    )


def active_in_enabled_workspaces(session: Session) -> list[DigestSubscription]:
    """Every active subscription of a workspace whose scheduled work runs, by id."""
    return list(
        session.scalars(
            select(DigestSubscription)
            .join(Workspace, Workspace.id == DigestSubscription.workspace_id)
            .where(DigestSubscription.active.is_(True), Workspace.disabled_reason.is_(None))
            .order_by(DigestSubscription.id)
        )
    )


def unsubscribe(session: Session, ws: int, channel_id: str) -> bool:
    result = session.execute(
        delete(DigestSubscription).where(
            DigestSubscription.workspace_id == ws, DigestSubscription.channel_id == channel_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def pause(session: Session, ws: int, channel_id: str, problem: str) -> None:
    """Stop a channel's digest because it cannot be delivered; ``subscribe`` again resumes it."""
    session.execute(
        update(DigestSubscription)
        .where(DigestSubscription.workspace_id == ws, DigestSubscription.channel_id == channel_id)
        .values(active=False, problem=problem)
    )
