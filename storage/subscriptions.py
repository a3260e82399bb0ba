"""Digest subscriptions: which channel gets the weekly scorecard, on which weekday, at what local time
in which IANA time zone, for which segment. The scheduler (issue 4) decides what is due from these
rows and the delivery ledger; the rows themselves are the truth, never pickled job state."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.models import DigestSubscription, Workspace
from storage.upsert import upsert

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_WEEKDAY = 0
DEFAULT_TIME = dt.time(9, 0)


class SubscriptionError(ValueError):
    """A subscription argument people can fix; the message says how."""


@dataclass(frozen=True)
class Schedule:
    weekday: int
    local_time: dt.time
    timezone: str | None  # None: the workspace's default time zone
    segment: str | None


def parse_weekday(word: str) -> int | None:
    w = word.lower().rstrip(".")
    for i, name in enumerate(WEEKDAYS):
        if len(w) >= 3 and name.startswith(w):
            return i
    return None


def parse_time(word: str) -> dt.time | None:
    m = re.fullmatch(r"([01]?\d|2[0-3])[:h.]([0-5]\d)", word)
    return dt.time(int(m.group(1)), int(m.group(2))) if m else None


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SubscriptionError(
            f"{name!r} is not an IANA time zone; use Area/City, e.g. Europe/Berlin"
        ) from None
    return name


def parse_schedule(words: list[str], known_segments: list[str]) -> Schedule:
    """``[WEEKDAY] [HH:MM] [Area/City] [segment]`` in any order; anything else is an error."""
    weekday, time, tz, segment = None, None, None, None
    for word in words:
        if weekday is None and (day := parse_weekday(word)) is not None:
            weekday = day
        elif time is None and (clock := parse_time(word)) is not None:
            time = clock
        elif tz is None and ("/" in word or word.upper() == "UTC"):
            tz = check_timezone("UTC" if word.upper() == "UTC" else word)
        elif segment is None and word.lower() in known_segments:
            segment = word.lower()
        else:
            segments = ", ".join(known_segments) or "none yet"
            raise SubscriptionError(
                f"I don't understand {word!r}: expected a weekday, a time like 09:00, a time zone like "
                f"Europe/Berlin, or a segment ({segments})"
            )
    return Schedule(DEFAULT_WEEKDAY if weekday is None else weekday, time or DEFAULT_TIME, tz, segment)


def subscribe(
    session: Session, ws: int, channel_id: str, schedule: Schedule, *, by: str | None, now: dt.datetime
) -> DigestSubscription:
    """Create or change the channel's subscription (one per channel); reactivates a paused one."""
    tz = schedule.timezone or session.scalar(select(Workspace.timezone).where(Workspace.id == ws)) or "UTC"
    row = {
        "workspace_id": ws,
        "channel_id": channel_id,
        "weekday": schedule.weekday,
        "local_time": schedule.local_time,
        "timezone": tz,
        "segment": schedule.segment,
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
        update=["weekday", "local_time", "timezone", "segment", "active", "problem"],
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


def describe(sub: DigestSubscription) -> str:
    """ "Mondays at 09:00 America/New_York, segment enterprise"."""
    seg = f", segment {sub.segment}" if sub.segment else ""
    paused = f" — paused: {sub.problem}" if not sub.active and sub.problem else ""
    return f"{WEEKDAYS[sub.weekday].capitalize()}s at {sub.local_time:%H:%M} {sub.timezone}{seg}{paused}"
