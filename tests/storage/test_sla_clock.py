"""The SLA clock, table-driven with explicit times: calendar and business hours across weekends,
holidays, DST changes (New York and Berlin) and pauses."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from storage.sla_clock import WorkCalendar, add, due, elapsed

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEK = frozenset(range(5))


def cal(
    zone: ZoneInfo = NY, holidays: tuple[str, ...] = (), hours: tuple[int, int] = (9, 17)
) -> WorkCalendar:
    return WorkCalendar(
        zone,
        WEEK,
        dt.time(hours[0]),
        dt.time(hours[1]),
        frozenset(dt.date.fromisoformat(d) for d in holidays),
    )


def local(text: str, zone: ZoneInfo = NY) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("start", "hours", "calendar", "expected"),
    [
        # Calendar time: every hour counts, weekends and DST included (23-hour day on March 8).
        ("2026-03-07 12:00", 24, None, "2026-03-08 13:00"),
        # Inside one working day.
        ("2026-11-23 10:00", 4, cal(), "2026-11-23 14:00"),
        # Started before opening: the clock starts at 09:00.
        ("2026-11-23 06:00", 2, cal(), "2026-11-23 11:00"),
        # Friday afternoon: the rest runs on Monday.
        ("2026-11-20 15:00", 4, cal(), "2026-11-23 11:00"),
        # Started on Saturday: Monday 09:00 + 8 h is Monday's close.
        ("2026-11-21 10:00", 8, cal(), "2026-11-23 17:00"),
        # Thanksgiving (Thursday) is a holiday: Wednesday 16:00 + 2 h = Friday 10:00.
        ("2026-11-25 16:00", 2, cal(holidays=("2026-11-26",)), "2026-11-27 10:00"),
        # Exactly at close: the next working morning.
        ("2026-11-23 17:00", 1, cal(), "2026-11-24 10:00"),
        # 16 business hours from Friday 13:00 across the spring-forward weekend (March 8).
        ("2026-03-06 13:00", 16, cal(), "2026-03-10 13:00"),
        # Across the fall-back weekend (November 1).
        ("2026-10-30 13:00", 16, cal(), "2026-11-03 13:00"),
    ],
)
def test_due_in_new_york(start: str, hours: float, calendar: WorkCalendar | None, expected: str) -> None:
    assert add(local(start), dt.timedelta(hours=hours), calendar) == local(expected)


def test_business_hours_follow_the_local_clock_across_dst_in_berlin() -> None:
    """08:00–16:00 Berlin is 07:00–15:00 UTC in winter and 06:00–14:00 UTC in summer."""
    berlin = cal(BERLIN, hours=(8, 16))
    friday = local("2026-03-27 12:00", BERLIN)  # clocks go forward on Sunday the 29th
    monday_due = add(friday, dt.timedelta(hours=6), berlin)
    assert monday_due == local("2026-03-30 10:00", BERLIN)
    assert monday_due.astimezone(dt.UTC).hour == 8  # CEST: UTC+2
    assert friday.astimezone(dt.UTC).hour == 11  # CET: UTC+1
    # The working time between them is exactly the 6 hours, whatever the offsets did.
    assert elapsed(friday, monday_due, berlin) == dt.timedelta(hours=6)


def test_elapsed_counts_only_working_time() -> None:
    c = cal()
    assert elapsed(local("2026-11-20 16:00"), local("2026-11-23 10:00"), c) == dt.timedelta(hours=2)
    assert elapsed(local("2026-11-21 00:00"), local("2026-11-22 23:00"), c) == dt.timedelta(0)  # weekend
    assert elapsed(local("2026-11-23 10:00"), local("2026-11-23 09:00"), c) == dt.timedelta(0)
    assert elapsed(local("2026-11-23 10:00"), local("2026-11-24 10:00"), None) == dt.timedelta(hours=24)


@pytest.mark.parametrize(
    ("pauses", "expected"),
    [
        ([], "2026-11-24 13:00"),
        # Paused 2 working hours on Monday: due 2 hours later.
        ([("2026-11-23 11:00", "2026-11-23 13:00")], "2026-11-24 15:00"),
        # Paused overnight only: no working time lost, due unchanged.
        ([("2026-11-23 18:00", "2026-11-24 08:00")], "2026-11-24 13:00"),
        # A pause after the due time changes nothing.
        ([("2026-11-25 09:00", "2026-11-25 12:00")], "2026-11-24 13:00"),
        # Two pauses, one of them spanning a close.
        (
            [("2026-11-23 16:00", "2026-11-24 10:00"), ("2026-11-24 11:00", "2026-11-24 12:00")],
            "2026-11-24 16:00",
        ),
    ],
)
def test_pauses_extend_the_due_time(pauses: list[tuple[str, str]], expected: str) -> None:
    opened = local("2026-11-23 09:00")
    got = due(opened, dt.timedelta(hours=12), cal(), [(local(a), local(b)) for a, b in pauses])
    assert got == local(expected)


def test_an_open_pause_stops_the_clock_and_has_no_due_time() -> None:
    opened = local("2026-11-23 09:00")
    assert due(opened, dt.timedelta(hours=4), None, [(local("2026-11-23 10:00"), None)]) is None
    # ...unless the time had already run out before the pause began.
    assert due(opened, dt.timedelta(hours=1), None, [(local("2026-11-23 10:00"), None)]) == local(
        "2026-11-23 10:00"
    )


def test_a_calendar_without_working_days_is_an_error() -> None:
    nothing = WorkCalendar(NY, frozenset(), dt.time(9), dt.time(17))
    with pytest.raises(ValueError, match="no working time"):
        add(local("2026-11-23 09:00"), dt.timedelta(hours=1), nothing)
