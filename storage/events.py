"""Slack events handled once: Slack retries an event it thinks was not received."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from storage.models import ProcessedEvent
from storage.upsert import insert_ignore


def claim_event(session: Session, event_id: str, team_id: str | None, now: dt.datetime) -> bool:
    """Record the event ``event_id``; False when it was recorded already (a Slack retry)."""
    row = {"event_id": event_id, "team_id": team_id, "received_at": now}
    return bool(insert_ignore(session, ProcessedEvent, [row], ["event_id"]))
