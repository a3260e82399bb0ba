from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from blocks.format import schedule_words
from services.subscriptions import SubscriptionError, parse_schedule
from storage import subscriptions as subs
from storage.db import Database
from storage.models import DigestSubscription, Workspace
from tests.support import NOW


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ([], (0, dt.time(9), None, None)),
        (["tue", "08:30", "America/New_York", "smb"], (1, dt.time(8, 30), "America/New_York", "smb")),
        (["Europe/Berlin", "7h05", "Sunday"], (6, dt.time(7, 5), "Europe/Berlin", None)),
        (["utc", "fri"], (4, dt.time(9), "UTC", None)),
    ],
)
def test_schedule_in_any_order(words: list[str], expected: tuple[object, ...]) -> None:
    s = parse_schedule(words, ["smb", "enterprise"])
    assert (s.weekday, s.local_time, s.timezone, s.segment) == expected


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["Mars/Base"], "not an IANA time zone"),
        (["25:00"], "I don't understand '25:00'"),
        (["platinum"], "a segment (smb, enterprise)"),
        (["mon", "tue"], "I don't understand 'tue'"),
    ],
)
def test_schedule_errors_say_what_is_expected(words: list[str], message: str) -> None:
    with pytest.raises(SubscriptionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_schedule(words, ["smb", "enterprise"])


def test_one_subscription_per_channel_with_the_workspace_time_zone(db: Database, ws: int) -> None:
    with db.write() as s:
        s.execute(Workspace.__table__.update().where(Workspace.id == ws).values(timezone="Europe/Berlin"))
        first = subs.subscribe(s, ws, "C1", parse_schedule([], []), by="UADMIN", now=NOW)
        assert (first.weekday, first.local_time, first.timezone) == (0, dt.time(9), "Europe/Berlin")
    with db.write() as s:
        again = subs.subscribe(
            s, ws, "C1", parse_schedule(["thu", "10:15", "Asia/Tokyo"], []), by="U2", now=NOW
        )
        assert schedule_words(again) == "Thursdays at 10:15 Asia/Tokyo"
        assert s.scalar(select(func.count()).select_from(DigestSubscription)) == 1
        assert [r.channel_id for r in subs.subscriptions(s, ws)] == ["C1"]
        assert subs.unsubscribe(s, ws, "C1") and not subs.unsubscribe(s, ws, "C1")
