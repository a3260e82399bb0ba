"""The SLA clock: pure functions of explicit times, no database and no "now".

Calendar SLAs count every second. Business-hours SLAs count only the working windows of a calendar
(weekdays, daily hours, holidays, in an IANA time zone): each day's window is built from that day's
local wall times through zoneinfo, so a DST change moves the window with the clocks, and a working
day across a change is an hour shorter or longer in UTC as it really is. Pauses stop the clock;
an open pause (no end yet) means there is no due time until the clock restarts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

MAX_DAYS = 3 * 366  # a calendar with no working time in three years is a configuration error
NONE, WARNED, BREACHED = 0, 1, 2  # a handoff's SLA stage; BREACHED + n: n escalation steps done


@dataclass(frozen=True)
class WorkCalendar:
    zone: ZoneInfo
    weekdays: frozenset[int]  # 0 = Monday
    opens: dt.time
    closes: dt.time  # dt.time.max: until midnight
    holidays: frozenset[dt.date] = frozenset()

    def windows(self, start: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """Working windows (UTC) from the local day of ``start`` on, in order."""
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            if day.weekday() in self.weekdays and day not in self.holidays:
                opens = dt.datetime.combine(day, self.opens, tzinfo=self.zone)
                if self.closes == dt.time.max:
                    closes = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=self.zone)
                else:
                    closes = dt.datetime.combine(day, self.closes, tzinfo=self.zone)
                yield opens.astimezone(dt.UTC), closes.astimezone(dt.UTC)
            day += dt.timedelta(days=1)
        raise ValueError(f"the calendar has no working time in {MAX_DAYS} days")


def add(start: dt.datetime, duration: dt.timedelta, calendar: WorkCalendar | None) -> dt.datetime:
    """The moment ``duration`` of (working) time has passed since ``start`` (in UTC)."""
    start = start.astimezone(dt.UTC)  # aware arithmetic in a local zone would add wall-clock time
    if calendar is None:
        return start + duration
    remaining = duration
    for opens, closes in calendar.windows(start):
        opens = max(opens, start)
        if closes <= opens:
            continue
        if closes - opens >= remaining:
            return opens + remaining
        remaining -= closes - opens
    raise AssertionError("unreachable: windows() raises first")


def elapsed(start: dt.datetime, end: dt.datetime, calendar: WorkCalendar | None) -> dt.timedelta:
    """(Working) time between ``start`` and ``end``; zero when ``end`` is not after ``start``."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    if end <= start:
        return dt.timedelta(0)
    if calendar is None:
        return end - start
    total = dt.timedelta(0)
    for opens, closes in calendar.windows(start):
        if opens >= end:
            break
        lo, hi = max(opens, start), min(closes, end)
        if hi > lo:
            total += hi - lo
    return total


Pause = tuple[dt.datetime, dt.datetime | None]


def due(
    opened: dt.datetime,
    duration: dt.timedelta,
    calendar: WorkCalendar | None,
    pauses: Sequence[Pause] = (),
) -> dt.datetime | None:
    """When ``duration`` of unpaused (working) time has run since ``opened``; None while a pause that
    started before then is still open (the clock is stopped, so there is no due time)."""
    remaining, cursor = duration, opened.astimezone(dt.UTC)
    for start, end in sorted(pauses, key=lambda p: p[0]):
        if end is not None and end <= cursor:
            continue
        stop = max(start, cursor)
        worked = elapsed(cursor, stop, calendar)
        if worked >= remaining:
            break
        remaining -= worked
        if end is None:
            return None
        cursor = end
    return add(cursor, remaining, calendar)


def next_check(
    stage: int,
    warn: dt.datetime | None,
    due: dt.datetime | None,
    escalation_after_hours: Sequence[float],
    acknowledged: bool,
) -> dt.datetime | None:
    """When the sweep must look again: the warning, the breach, the next escalation step (hours after
    the due time, in order), or never."""
    if due is None:
        return None  # paused: the clock is stopped
    if stage == NONE:
        return warn or due
    if stage == WARNED:
        return due
    step = stage - BREACHED  # escalation steps already done
    if acknowledged or step >= len(escalation_after_hours):
        return None
    return due + dt.timedelta(hours=escalation_after_hours[step])
