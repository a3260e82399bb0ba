"""Digest subscriptions: reading a schedule people typed (``[WEEKDAY] [HH:MM] [Area/City] [segment]``)
and the subscribe / list / unsubscribe rules shared by ``/scorecard subscribe`` and the
``retention-bot subscriptions`` commands. The SQL is ``storage.subscriptions``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage import subscriptions as store
from storage import vocab
from storage.accounts import segments
from storage.db import Database
from storage.models import DigestSubscription
from storage.subscriptions import Schedule

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_WEEKDAY = 0
DEFAULT_TIME = dt.time(9, 0)


class SubscriptionError(ValueError):
    """A subscription argument people can fix; the message says how."""


class NotSubscribed(SubscriptionError):
    """The channel has no digest subscription."""


@dataclass(frozen=True)
class Subscription:
    channel_id: str
    weekday: int
    local_time: dt.time
    timezone: str
    segment: str | None
    active: bool
    problem: str | None  # why it was paused
    cadence: str = "week"
    team: str | None = None


def _plain(row: DigestSubscription) -> Subscription:
    return Subscription(
        row.channel_id,
        row.weekday,
        row.local_time,
        row.timezone,
        row.segment,
        row.active,
        row.problem,
        row.cadence,
        row.team,
    )


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


CADENCES = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}


def parse_schedule(
    words: Sequence[str], known_segments: Sequence[str], known_teams: Sequence[str] = ()
) -> Schedule:
    """``[weekly|monthly|quarterly] [WEEKDAY] [HH:MM] [Area/City] [segment] [team TEAM]`` in any order;
    anything else is an error. A monthly or quarterly digest goes out on the first weekday (Monday to
    Friday) of the month or quarter, so it takes no weekday."""
    weekday, time, tz, segment, cadence, team = None, None, None, None, None, None
    words = list(words)
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if cadence is None and word.lower() in CADENCES:
            cadence = CADENCES[word.lower()]
        elif team is None and word.lower() == "team":
            if i >= len(words):
                raise SubscriptionError(f"`team` needs a team name after it: one of {', '.join(known_teams)}")
            team = words[i].lower()
            i += 1
            if known_teams and team not in known_teams:
                raise SubscriptionError(f"{team!r} is not a team; teams: {', '.join(known_teams)}")
        elif weekday is None and (day := parse_weekday(word)) is not None:
            weekday = day
        elif time is None and (clock := parse_time(word)) is not None:
            time = clock
        elif tz is None and ("/" in word or word.upper() == "UTC"):
            tz = check_timezone("UTC" if word.upper() == "UTC" else word)
        elif segment is None and word.lower() in known_segments:
            segment = word.lower()
        else:
            listed = ", ".join(known_segments) or "none yet"
            raise SubscriptionError(
                f"I don't understand {word!r}: expected weekly, monthly or quarterly, a weekday, a time like "
                f"09:00, a time zone like Europe/Berlin, a segment ({listed}) or `team TEAM`"
            )
    cadence = cadence or "week"
    if cadence != "week" and weekday is not None:
        raise SubscriptionError(
            f"a {cadence}ly digest goes out on the first weekday of the {cadence}; leave out "
            f"{WEEKDAYS[weekday].capitalize()}"
        )
    return Schedule(
        DEFAULT_WEEKDAY if weekday is None else weekday, time or DEFAULT_TIME, tz, segment, cadence, team
    )


def subscriptions(db: Database, ws: int) -> list[Subscription]:
    """The workspace's subscriptions, by weekday, time and channel."""
    with db.read() as session:
        return [_plain(row) for row in store.subscriptions(session, ws)]


def subscribe(
    db: Database, ws: int, channel_id: str, words: Sequence[str], *, by: str | None, now: dt.datetime
) -> Subscription:
    """Create or change the channel's subscription from the words people typed (the segments are the
    workspace's); raises ``SubscriptionError`` saying what it did not understand."""
    with db.write() as session:
        schedule = parse_schedule(words, segments(session, ws), vocab.TEAMS)
        return _plain(store.subscribe(session, ws, channel_id, schedule, by=by, now=now))


def unsubscribe(db: Database, ws: int, channel_id: str) -> bool:
    """Stop the channel's digest; False when it had none."""
    with db.write() as session:
        return store.unsubscribe(session, ws, channel_id)


def for_channel(db: Database, ws: int, channel_id: str) -> Subscription:
    """A subscribed channel's subscription; raises ``NotSubscribed``."""
    with db.read() as session:
        found = [s for s in store.subscriptions(session, ws) if s.channel_id == channel_id]
    if not found:
        raise NotSubscribed(f"{channel_id} has no digest subscription")
    return _plain(found[0])


def segment_for_channel(db: Database, ws: int, channel_id: str) -> str | None:
    """The segment a subscribed channel's digest is for; raises ``NotSubscribed``."""
    return for_channel(db, ws, channel_id).segment
