"""What is due: each subscription's latest scheduled occurrence, and claiming its digest once.

Pure time logic first: ``latest_occurrence`` finds the most recent weekday-at-local-time in the
subscription's IANA time zone at or before ``now`` — DST-correct because the local wall time is
converted through ``zoneinfo`` for that very date (09:00 New York is 13:00 UTC in summer, 14:00 in
winter). After downtime only the latest occurrence is due, never a burst of missed weeks.

Exactly once: a digest is claimed by inserting its delivery-ledger row, whose unique key
(workspace, "digest", "CHANNEL:period") lets one replica win and every other one see it is taken.
The row carries the rendered message (and its thread reply), so a retry posts exactly what was built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from digests.digest import DigestMessage
from storage import deliveries, subscriptions
from storage.periods import PeriodKind, add_months, quarter_start

DIGEST = "digest"


def latest_occurrence(weekday: int, local_time: dt.time, timezone: str, now: dt.datetime) -> dt.datetime:
    """The latest ``weekday`` (0 = Monday) at ``local_time`` in ``timezone`` at or before ``now`` (aware,
    any zone), in UTC. zoneinfo resolves the wall time for that very date, so DST is right; a wall time
    inside a spring-forward gap (02:30 when clocks jump to 03:00) lands an hour later (03:30), and one that
    happens twice in the autumn is its first occurrence, as cron does."""
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    days_back = (local_now.weekday() - weekday) % 7
    for back in (days_back, days_back + 7):
        candidate = dt.datetime.combine(local_now.date() - dt.timedelta(days=back), local_time, tzinfo=zone)
        if candidate <= now:
            return candidate.astimezone(dt.UTC)
    raise AssertionError("unreachable: an occurrence a week earlier is always in the past")


def first_weekday(day: dt.date) -> dt.date:
    """``day`` or the first Monday-to-Friday after it."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def latest_period_start(
    cadence: PeriodKind, local_time: dt.time, timezone: str, now: dt.datetime
) -> dt.datetime:
    """A monthly or quarterly digest's latest occurrence at or before ``now``, in UTC: the first weekday
    (Monday to Friday) of the month or quarter at ``local_time`` in ``timezone`` (DST as in
    ``latest_occurrence``)."""
    zone = ZoneInfo(timezone)
    local_today = now.astimezone(zone).date()
    start = local_today.replace(day=1) if cadence == "month" else quarter_start(local_today)
    step = 1 if cadence == "month" else 3
    for back in (0, 1):
        day = first_weekday(add_months(start, -step * back))
        candidate = dt.datetime.combine(day, local_time, tzinfo=zone)
        if candidate <= now:
            return candidate.astimezone(dt.UTC)
    raise AssertionError("unreachable: the previous period's first weekday is always in the past")


def occurrence_of(
    cadence: PeriodKind, weekday: int, local_time: dt.time, timezone: str, now: dt.datetime
) -> dt.datetime:
    if cadence == "week":
        return latest_occurrence(weekday, local_time, timezone, now)
    return latest_period_start(cadence, local_time, timezone, now)


def period_key(occurrence_utc: dt.datetime, timezone: str, cadence: PeriodKind = "week") -> str:
    """The digest's period in the subscription's time zone: the ISO week ("2026-W48"), the month the
    digest reports ("2026-11", the month before the occurrence) or the quarter ("2026-Q3")."""
    local = occurrence_utc.astimezone(ZoneInfo(timezone)).date()
    if cadence == "month":
        reported = add_months(local.replace(day=1), -1)
        return f"{reported:%Y-%m}"
    if cadence == "quarter":
        reported = add_months(quarter_start(local), -3)
        return f"{reported.year}-Q{(reported.month - 1) // 3 + 1}"
    iso = local.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


@dataclass(frozen=True)
class Due:
    subscription_id: int
    workspace_id: int
    channel_id: str
    segment: str | None
    occurrence: dt.datetime  # UTC
    period: str  # "2026-W48", "2026-11", "2026-Q3"
    as_of: dt.date  # the occurrence's local date: a Monday digest reports the week before it
    cadence: PeriodKind = "week"
    team: str | None = None

    @property
    def subject(self) -> str:
        return f"{self.channel_id}:{self.period}"


def due(session: Session, now: dt.datetime) -> list[Due]:
    """Active subscriptions of enabled workspaces whose latest occurrence (since the subscription was
    made) has no digest claimed yet."""
    candidates = []
    for sub in subscriptions.active_in_enabled_workspaces(session):
        cadence: PeriodKind = sub.cadence  # type: ignore[assignment]
        occurrence = occurrence_of(cadence, sub.weekday, sub.local_time, sub.timezone, now)
        if occurrence < sub.created_at:
            continue  # a new subscription starts at its next occurrence, not with a catch-up
        candidates.append(
            Due(
                sub.id,
                sub.workspace_id,
                sub.channel_id,
                sub.segment,
                occurrence,
                period_key(occurrence, sub.timezone, cadence),
                occurrence.astimezone(ZoneInfo(sub.timezone)).date(),
                cadence,
                sub.team,
            )
        )
    if not candidates:
        return []
    taken = deliveries.taken(session, DIGEST, [c.subject for c in candidates])
    return [c for c in candidates if (c.workspace_id, c.subject) not in taken]


def claim(
    session: Session,
    item: Due,
    now: dt.datetime,
    message: DigestMessage,
    charts: dict[str, Any] | None = None,
) -> bool:
    """Take the digest for this channel and period and put its message (and thread reply, and the
    charts' facts when there are any: uploaded into the thread) in the outbox; False when another
    worker (or run) already did."""
    return (
        deliveries.enqueue(
            session,
            item.workspace_id,
            kind=DIGEST,
            subject=item.subject,
            channel_id=item.channel_id,
            args=message.post_args(item.channel_id),
            thread=message.thread_args(item.channel_id),
            files=None if charts is None else {"channel": item.channel_id, "charts": charts},
            now=now,
        )
        is not None
    )
