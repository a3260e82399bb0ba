"""After a send to a person that Slack may or may not have done, the outbox looks for it in the DM
conversation (``conversations.open`` gives its id; a user id is not a conversation), and an admin told
about a DM it could not check sees the person as ``<@U…>``, not as a channel."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from bot.scheduler import Worker
from bot.settings import build_settings
from storage import deliveries as dl
from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def worker(db: Database, fake: FakeSlack, now: dt.datetime = NOW) -> Worker:
    settings = build_settings(
        DATABASE_URL=db.url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_API_URL=fake.api_url,
        RETENTION_BOT_WORKSPACE="test",
        ADMIN_USER_IDS="UADMIN",
    )
    return Worker(settings, db, clock=lambda: now, channel_interval=0.01)


def dm_to_ana(db: Database, ws: int) -> None:
    with db.write() as s:
        dl.enqueue(
            s, ws, kind="sla", subject="1:breach:0:UANA", channel_id="UANA", args={"text": "late"}, now=NOW
        )


def the_dm(db: Database) -> m.Delivery:
    with db.read() as s:
        return s.scalars(select(m.Delivery).where(m.Delivery.channel_id == "UANA")).one()


def test_a_dm_that_slack_posted_despite_an_error_is_found_in_the_dm(
    db: Database, ws: int, fake: FakeSlack
) -> None:
    dm_to_ana(db, ws)
    fake.fail("chat.postMessage", "fatal_error", posted=True)
    worker(db, fake).deliver()
    row = the_dm(db)
    assert row.state == dl.POSTED and row.slack_ts == fake.posts("UANA")[0]["ts"]
    assert len(fake.posts("UANA")) == 1 and fake.posts("UADMIN") == []  # nobody bothered
    looked = [c for c in fake.transcript if c["method"] == "conversations.history"]
    assert [c["args"]["channel"] for c in looked] == ["DUANA"]  # the DM conversation, from conversations.open
    assert fake.calls("conversations.open")[0]["users"] == "UANA"


def test_a_dm_that_slack_did_not_post_is_sent_once_after_looking(
    db: Database, ws: int, fake: FakeSlack
) -> None:
    dm_to_ana(db, ws)
    fake.fail("chat.postMessage", "fatal_error")
    worker(db, fake).deliver()
    assert the_dm(db).state == dl.RETRY and fake.posts("UANA") == []
    worker(db, fake, NOW + dt.timedelta(minutes=1)).deliver()  # past the first backoff
    assert the_dm(db).state == dl.POSTED and len(fake.posts("UANA")) == 1
    assert fake.posts("UADMIN") == []


def test_an_admin_told_about_an_unchecked_dm_sees_the_person(db: Database, ws: int, fake: FakeSlack) -> None:
    dm_to_ana(db, ws)
    fake.fail("chat.postMessage", "fatal_error")
    fake.fail("conversations.open", "missing_scope")  # an install from before im:write / im:history
    worker(db, fake).deliver()
    row = the_dm(db)
    assert row.state == dl.UNCERTAIN and "<@UANA>" in (row.last_error or "")
    notice = fake.posts("UADMIN")
    assert len(notice) == 1
    text = notice[0]["text"] + json.dumps(fake.calls("chat.postMessage")[-1]["blocks"])
    assert "<@UANA>" in text and "<#U" not in text
    assert "subscribe" not in text  # no digest subscription to resume for a DM
