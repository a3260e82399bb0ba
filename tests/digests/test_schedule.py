"""When digests are due: DST-correct local times, one catch-up after downtime, claimed exactly once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from digests.digest import DigestMessage
from digests.schedule import claim, due, latest_occurrence, period_key
from services.subscriptions import parse_schedule
from storage import subscriptions as subs
from storage.db import Database
from storage.models import Delivery, Workspace

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "now", "expected"),
    [
        # New York, Monday 09:00: EST (UTC−5) before 2026-03-08, EDT (UTC−4) after; back to EST on 2026-11-01.
        ("America/New_York", "2026-03-02 15:00", "2026-03-02 14:00"),
        ("America/New_York", "2026-03-09 14:00", "2026-03-09 13:00"),
        ("America/New_York", "2026-10-26 14:00", "2026-10-26 13:00"),
        ("America/New_York", "2026-11-02 14:30", "2026-11-02 14:00"),
        ("America/New_York", "2026-11-02 13:59", "2026-10-26 13:00"),  # not yet 09:00 there: last week's
        # Berlin, Monday 09:00: CET (UTC+1), CEST (UTC+2) from 2026-03-29 to 2026-10-25.
        ("Europe/Berlin", "2026-03-23 12:00", "2026-03-23 08:00"),
        ("Europe/Berlin", "2026-03-30 12:00", "2026-03-30 07:00"),
        ("Europe/Berlin", "2026-10-26 12:00", "2026-10-26 08:00"),
        (
            "Europe/Berlin",
            "2026-11-01 23:30",
            "2026-10-26 08:00",
        ),  # Sunday night UTC is already Monday 00:30 there
    ],
)
def test_monday_nine_local_is_dst_correct(tz: str, now: str, expected: str) -> None:
    assert latest_occurrence(0, dt.time(9), tz, at(now)) == at(expected)


def test_times_in_the_spring_gap_and_the_autumn_overlap() -> None:
    # Sunday 02:30 New York does not exist on 2026-03-08: it runs at 03:30 EDT (07:30 UTC).
    assert latest_occurrence(6, dt.time(2, 30), "America/New_York", at("2026-03-08 12:00")) == at(
        "2026-03-08 07:30"
    )
    # Sunday 01:30 happens twice on 2026-11-01: the first time (EDT, 05:30 UTC).
    assert latest_occurrence(6, dt.time(1, 30), "America/New_York", at("2026-11-01 12:00")) == at(
        "2026-11-01 05:30"
    )


def test_period_is_the_local_iso_week() -> None:
    assert period_key(at("2026-11-23 08:00"), "Europe/Berlin") == "2026-W48"
    assert period_key(at("2026-11-22 23:30"), "Asia/Tokyo") == "2026-W48"  # already Monday in Tokyo


MESSAGE = DigestMessage(
    "Retention scorecard",
    [{"type": "section", "text": {"type": "mrkdwn", "text": "numbers"}}],
    "Details",
    [{"type": "section", "text": {"type": "mrkdwn", "text": "detail"}}],
)


@pytest.fixture
def subscribed(db: Database, ws: int) -> Database:
    with db.write() as s:
        subs.subscribe(
            s, ws, "C1", parse_schedule(["mon", "09:00", "UTC"], []), by=None, now=at("2026-11-01 00:00")
        )
        subs.subscribe(
            s,
            ws,
            "C2",
            parse_schedule(["fri", "17:00", "America/New_York"], []),
            by=None,
            now=at("2026-11-01 00:00"),
        )
    return db


def test_after_downtime_only_the_latest_period_is_due_and_once(subscribed: Database) -> None:
    now = at("2026-11-24 10:00")  # three Mondays and Fridays were missed while the bot was down
    with subscribed.read() as s:
        pending = due(s, now)
    assert sorted((d.channel_id, d.period) for d in pending) == [("C1", "2026-W48"), ("C2", "2026-W47")]
    # The local date of each occurrence: Monday the 23rd, and Friday the 20th in New York.
    assert sorted((d.channel_id, d.as_of.isoformat()) for d in pending) == [
        ("C1", "2026-11-23"),
        ("C2", "2026-11-20"),
    ]
    with subscribed.write() as s:
        assert all(claim(s, d, now, MESSAGE) for d in pending)
    with subscribed.read() as s:
        assert due(s, now + dt.timedelta(hours=1)) == []  # claimed: not due again after a restart
        later = due(s, at("2026-11-30 09:00"))  # C1's next Monday; C2's Friday the 27th (week 48)
        assert sorted((d.channel_id, d.period) for d in later) == [("C1", "2026-W49"), ("C2", "2026-W48")]


def test_disabled_workspaces_and_paused_subscriptions_are_not_due(subscribed: Database, ws: int) -> None:
    with subscribed.write() as s:
        s.execute(
            Workspace.__table__.update().where(Workspace.id == ws).values(disabled_reason="token_revoked")
        )
    with subscribed.read() as s:
        assert due(s, at("2026-11-24 10:00")) == []


def test_two_workers_claiming_at_once_post_once(subscribed: Database) -> None:
    now = at("2026-11-24 10:00")
    with subscribed.read() as s:
        item = next(d for d in due(s, now) if d.channel_id == "C1")
    barrier, wins = threading.Barrier(4), []

    def worker() -> None:
        barrier.wait()
        with subscribed.write() as s:
            wins.append(claim(s, item, now, MESSAGE))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False, False, False, True]
    with subscribed.read() as s:
        rows = s.execute(select(Delivery.kind, Delivery.parent_id.is_not(None))).all()
    assert sorted(rows) == [("digest", False), ("digest_thread", True)]  # the message and its thread reply
