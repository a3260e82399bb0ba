"""The digest's charts reach its thread through Slack's upload flow exactly once: end to end through
the worker, the delivery ledger and the outbox, against the fake Slack (which serves the upload URLs
itself), on SQLite and PostgreSQL, with a failure between each step of the flow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.scheduler import Worker
from bot.settings import build_settings
from services.subscriptions import parse_schedule
from storage import deliveries as dl
from storage import models as m
from storage import subscriptions as subs
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.charts_data import load_accounts_and_revenue

MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
NAMES = ["nrr-grr-2026-W47.png", "health-bands-2026-W47.png", "cohort-retention-2026-W47.png"]


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def setup(db: Database, ws: int, fake: FakeSlack, tmp_path: Path) -> tuple[Worker, Clock]:
    load_accounts_and_revenue(db, ws, tmp_path)
    with db.write() as s:
        subs.subscribe(
            s,
            ws,
            "C1",
            parse_schedule(["mon", "09:00", "UTC"], []),
            by=None,
            now=MONDAY - dt.timedelta(days=6),
        )
    settings = build_settings(
        DATABASE_URL=db.url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_API_URL=fake.api_url,
        RETENTION_BOT_WORKSPACE="test",
        ADMIN_USER_IDS="UADMIN",
        DELIVERY_THREADS="4",
    )
    clock = Clock(MONDAY)
    return Worker(settings, db, clock=clock, channel_interval=0.02), clock


def files_row(db: Database) -> m.Delivery:
    with db.read() as s:
        return s.scalars(select(m.Delivery).where(m.Delivery.kind == "digest_files")).one()


def assert_charts_once(fake: FakeSlack) -> None:
    """One message in the digest's thread sharing the charts, each file uploaded and shared once."""
    posts = fake.posts("C1")
    digest = [p for p in posts if p["thread_ts"] is None]
    with_files = [p for p in posts if p.get("files")]
    assert len(digest) == 1 and len(with_files) == 1, posts
    assert with_files[0]["thread_ts"] == digest[0]["ts"]
    shared = with_files[0]["files"]
    assert [f["name"] for f in shared] == NAMES
    assert all(f["alt_txt"] for f in shared)
    done = [f for f in fake.files.values() if f["shared"]]
    assert len(done) == len(shared) and all(len(f["shared"]) == 1 for f in done)
    assert all(f["data"][:8] == b"\x89PNG\r\n\x1a\n" for f in done)


def test_the_charts_go_into_the_digests_thread_once(
    db: Database, fake: FakeSlack, setup: tuple[Worker, Clock]
) -> None:
    worker, clock = setup
    planned, delivered = worker.tick()
    assert planned.digests == 1 and delivered.posted == 3
    assert_charts_once(fake)
    row = files_row(db)
    assert row.state == dl.POSTED and row.attempts == 1
    # The calls files_upload_v2 makes: one upload URL per file, the bytes, one completion.
    # (the tick's daily job stored yesterday's health snapshot: the health-bands chart has its week)
    assert len(fake.calls("files.getUploadURLExternal")) == 3
    assert len(fake.calls("upload")) == 3
    (complete,) = fake.calls("files.completeUploadExternal")
    assert complete["channel_id"] == "C1" and complete["thread_ts"] == fake.posts("C1")[0]["ts"]
    alt = fake.calls("files.getUploadURLExternal")[0]["alt_txt"]
    assert "Latest: NRR 83%, GRR 67%" in alt and "Nov 25 100%" in alt
    clock.now += dt.timedelta(hours=2)
    worker.tick()
    assert_charts_once(fake)


@pytest.mark.parametrize(
    ("step", "fail"),
    [
        ("getUploadURL", lambda f: f.fail("files.getUploadURLExternal", "fatal_error", status=500)),
        ("after getUploadURL (the upload)", lambda f: f.fail("upload", status=500)),
        (
            "after upload (complete, not shared)",
            lambda f: f.fail("files.completeUploadExternal", "fatal_error"),
        ),
    ],
)
def test_a_failure_before_the_files_are_shared_is_retried_from_the_start(
    db: Database, fake: FakeSlack, setup: tuple[Worker, Clock], step: str, fail: object
) -> None:
    worker, clock = setup
    fail(fake)  # type: ignore[operator]
    worker.tick()
    row = files_row(db)
    assert row.state == dl.RETRY, (step, row.last_error)
    assert not [p for p in fake.posts("C1") if p.get("files")]
    clock.now += dt.timedelta(minutes=1)  # past the first backoff
    worker.tick()
    assert files_row(db).state == dl.POSTED
    assert_charts_once(fake)


def test_a_failure_after_complete_shared_them_is_found_in_the_thread_not_uploaded_again(
    db: Database, fake: FakeSlack, setup: tuple[Worker, Clock]
) -> None:
    worker, clock = setup
    fake.fail("files.completeUploadExternal", "fatal_error", status=500, posted=True)
    worker.tick()
    row = files_row(db)
    shared = next(p for p in fake.posts("C1") if p.get("files"))
    assert row.state == dl.POSTED and row.slack_ts == shared["ts"]
    clock.now += dt.timedelta(hours=1)
    worker.tick()
    assert_charts_once(fake)
    assert len(fake.calls("files.getUploadURLExternal")) == 3  # never uploaded a second time


def test_after_complete_without_a_way_to_look_it_is_uncertain_never_uploaded_again(
    db: Database, fake: FakeSlack, setup: tuple[Worker, Clock]
) -> None:
    worker, clock = setup
    fake.fail("files.completeUploadExternal", "fatal_error", status=500, posted=True)
    fake.fail("conversations.replies", "missing_scope")
    worker.tick()
    row = files_row(db)
    assert row.state == dl.UNCERTAIN and "deliveries retry" in (row.last_error or "")
    clock.now += dt.timedelta(hours=2)
    worker.tick()
    assert_charts_once(fake)
    assert len(fake.calls("files.completeUploadExternal")) == 0  # the one call failed (recorded as not ok)


def test_a_sender_that_died_after_complete_is_recovered_without_a_second_upload(
    db: Database, fake: FakeSlack, setup: tuple[Worker, Clock]
) -> None:
    worker, clock = setup
    worker.plan()
    worker.outbox.drain()
    row = files_row(db)
    assert row.state == dl.POSTED
    # Put the files row back as a lease whose sender died after completing (Slack has the files).
    with db.write() as s:
        r = s.get(m.Delivery, row.id)
        assert r is not None
        r.state, r.next_attempt_at = dl.SENDING, clock.now + dt.timedelta(minutes=5)
    clock.now += dt.timedelta(minutes=6)
    worker.deliver()
    after = files_row(db)
    assert after.state == dl.POSTED and after.attempts == 2
    assert_charts_once(fake)
    assert len(fake.calls("files.getUploadURLExternal")) == 3


def test_no_charts_without_data_and_none_when_turned_off(
    db: Database, ws: int, fake: FakeSlack, setup: tuple[Worker, Clock]
) -> None:
    worker, _ = setup
    worker.settings = worker.settings.model_copy(update={"digest_charts": False})
    worker.tick()
    with db.read() as s:
        kinds = [k for (k,) in s.execute(select(m.Delivery.kind).order_by(m.Delivery.id))]
    assert "digest_files" not in kinds and "digest" in kinds
    assert fake.calls("files.getUploadURLExternal") == []
