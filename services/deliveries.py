"""The delivery ledger as an operator sees it: recent messages the bot posted on its own, and sending
a failed or uncertain one again (``retention-bot deliveries``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from storage import deliveries as store
from storage.db import Database


@dataclass(frozen=True)
class DeliveryLine:
    id: int
    kind: str
    subject: str
    channel_id: str
    state: str
    attempts: int
    slack_ts: str | None
    last_error: str | None
    updated_at: dt.datetime


def recent(
    db: Database, ws: int, *, limit: int = 50, states: Sequence[str] | None = None
) -> list[DeliveryLine]:
    """Newest first."""
    with db.read() as session:
        return [
            DeliveryLine(
                r.id,
                r.kind,
                r.subject,
                r.channel_id,
                r.state,
                r.attempts,
                r.slack_ts,
                r.last_error,
                r.updated_at,
            )
            for r in store.recent(session, ws, limit=limit, states=states)
        ]


def state_of(db: Database, ws: int, delivery_id: int) -> str | None:
    """The state of the workspace's delivery (None: it has no delivery of that id)."""
    with db.read() as session:
        return store.state_of(session, ws, delivery_id)


def retry(db: Database, ws: int, delivery_id: int, now: dt.datetime) -> bool:
    """Queue a failed or uncertain message again; False when it is neither (or not this workspace's)."""
    with db.write() as session:
        return store.retry(session, ws, delivery_id, now) is not None
