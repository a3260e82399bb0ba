"""Scheduled delivery end to end: the worker plans what is due from the database, the outbox posts it to
the fake Slack (a real HTTP server that keeps each channel's messages), on SQLite and PostgreSQL.
Time is explicit: the worker's clock is set by each test; pacing is shortened to keep tests fast."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.cli import cli
from bot.scheduler import Worker
from bot.settings import Settings, build_settings
from services.subscriptions import parse_schedule
from storage import deliveries as dl
from storage import models as m
from storage import subscriptions as subs
from storage.db import Database
from storage.wins import record_win
from testkit.fake_slack import FakeSlack
from tests.support.helpers import at_once

MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
WEEK_BEFORE = MONDAY - dt.timedelta(days=6)  # subscriptions are made on the Tuesday before


def at(text: str, tz: str = "UTC") -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def make_settings(db: Database, fake: FakeSlack, **env: str) -> Settings:
    return build_settings(
        DATABASE_URL=db.url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_API_URL=fake.api_url,
        RETENTION_BOT_WORKSPACE="test",
        ADMIN_USER_IDS="UADMIN",
        DELIVERY_THREADS="8",
        **env,
    )


def make_worker(db: Database, fake: FakeSlack, clock: Clock, interval: float = 0.02) -> Worker:
    return Worker(make_settings(db, fake), db, clock=clock, channel_interval=interval)


def subscribe(db: Database, ws: int, channel: str, *schedule: str, now: dt.datetime = WEEK_BEFORE) -> None:
    with db.write() as s:
        subs.subscribe(s, ws, channel, parse_schedule(list(schedule), []), by=None, now=now)


def ledger(db: Database) -> list[m.Delivery]:
    with db.read() as s:
        return list(s.scalars(select(m.Delivery).order_by(m.Delivery.id)))


def assert_digest_once(fake: FakeSlack, channel: str) -> None:
    """Exactly one digest message in the channel, and exactly one thread reply under it."""
    posts = fake.posts(channel)
    mains = [p for p in posts if p["thread_ts"] is None]
    replies = [p for p in posts if p["thread_ts"] is not None]
    assert len(mains) == 1, posts
    assert [r["thread_ts"] for r in replies] == [mains[0]["ts"]]
    assert mains[0]["text"].startswith("Retention scorecard")


# --- the digest, once --------------------------------------------------------------------------------


def test_a_due_digest_is_posted_once_with_its_thread_reply(db: Database, ws: int, fake: FakeSlack) -> None:
    subscribe(db, ws, "C1", "mon", "09:00", "UTC")
    clock = Clock(MONDAY - dt.timedelta(minutes=1))
    worker = make_worker(db, fake, clock)
    worker.tick()
    assert fake.posts() == []  # not yet due
    clock.now = MONDAY
    planned, delivered = worker.tick()
    assert planned.digests == 1 and delivered.posted == 2
    assert_digest_once(fake, "C1")
    rows = [r for r in ledger(db) if r.kind.startswith("digest")]
    assert [(r.kind, r.state, r.subject) for r in rows] == [
        ("digest", "posted", "C1:2026-W48"),
        ("digest_thread", "posted", "C1:2026-W48"),
    ]
    assert rows[0].slack_ts == fake.posts("C1")[0]["ts"]
    # Later ticks, and a restarted worker, post nothing more this week.
    clock.now = MONDAY + dt.timedelta(hours=5)
    worker.tick()
    make_worker(db, fake, clock).tick()
    assert_digest_once(fake, "C1")


def test_after_downtime_one_catch_up_not_a_burst(db: Database, ws: int, fake: FakeSlack) -> None:
    subscribe(db, ws, "C1", "mon", "09:00", "UTC", now=at("2026-10-27 12:00"))
    # Down for three weeks; back on Tuesday.
    clock = Clock(at("2026-11-24 15:00"))
    make_worker(db, fake, clock).tick()
    assert_digest_once(fake, "C1")
    assert [r.subject for r in ledger(db) if r.kind == "digest"] == ["C1:2026-W48"]


@pytest.mark.parametrize(
    ("tz", "start", "days"),
    [
        ("America/New_York", "2026-03-01", 15),  # clocks spring forward on March 8
        ("America/New_York", "2026-10-26", 15),  # and fall back on November 1
        ("Europe/Berlin", "2026-03-23", 15),  # March 29
        ("Europe/Berlin", "2026-10-19", 15),  # October 25
    ],
)
def test_weekly_digest_is_at_nine_local_across_dst(
    db: Database, ws: int, fake: FakeSlack, tz: str, start: str, days: int
) -> None:
    """Tick every hour for two weeks around a DST change: each Monday's digest is claimed at exactly
    09:00 local time, once, whatever the UTC offset that day."""
    subscribe(db, ws, "C1", "mon", "09:00", tz, now=at(f"{start} 00:00"))
    clock = Clock(at(f"{start} 00:00", "UTC"))
    worker = make_worker(db, fake, clock)
    from digests.jobs import enqueue_digests

    claimed_at = []
    for _ in range(days * 24):
        if enqueue_digests(
            db,
            clock.now,
            policies=worker.settings.policies,
            templates=worker.settings.digest_templates,
            admins=worker.settings.admin_user_ids,
        ):
            claimed_at.append(clock.now)
        clock.now += dt.timedelta(hours=1)
    from zoneinfo import ZoneInfo

    local = [t.astimezone(ZoneInfo(tz)) for t in claimed_at]
    first = dt.date.fromisoformat(start)
    mondays = [
        first + dt.timedelta(days=i) for i in range(days) if (first + dt.timedelta(days=i)).weekday() == 0
    ]
    assert [t.date() for t in local] == mondays  # one a week, none twice, none missed
    assert all((t.hour, t.minute) == (9, 0) for t in local), local
    offsets = {t.utcoffset() for t in local}
    assert len(offsets) == 2  # one digest on each side of the change, both at 09:00 local


def test_two_workers_ticking_at_once_post_once_per_channel(db: Database, ws: int, fake: FakeSlack) -> None:
    channels = [f"C{i:03d}" for i in range(12)]
    for channel in channels:
        subscribe(db, ws, channel, "mon", "09:00", "UTC")
    clock = Clock(MONDAY + dt.timedelta(minutes=3))
    # Two replicas: separate engines (and so connections) on the same database.
    dbs = [Database(db.url), Database(db.url)]
    workers = [make_worker(d, fake, clock) for d in dbs]
    at_once(lambda w: (w.tick(), w.tick()), workers)
    for d in dbs:
        d.dispose()
    for channel in channels:
        assert_digest_once(fake, channel)
    assert len(fake.posts()) == 2 * len(channels)


# --- Slack saying no -----------------------------------------------------------------------------


def test_429_in_the_middle_of_a_fan_out_loses_nothing_and_duplicates_nothing(
    db: Database, ws: int, fake: FakeSlack
) -> None:
    """The fake enforces 1 message per second per channel; the worker is told to pace faster, so each
    thread reply meets a 429 with Retry-After, waits, and is sent once."""
    channels = [f"C{i}" for i in range(5)]
    for channel in channels:
        subscribe(db, ws, channel, "mon", "09:00", "UTC")
    fake.channel_interval = 1.0
    worker = make_worker(db, fake, Clock(MONDAY), interval=0.0)
    _, delivered = worker.tick()
    assert fake.rate_limited >= 1 and delivered.rate_limited >= 1
    for channel in channels:
        assert_digest_once(fake, channel)
    assert {r.state for r in ledger(db)} == {"posted"}


def test_not_in_channel_pauses_the_subscription_and_tells_admins_once(
    db: Database, ws: int, fake: FakeSlack
) -> None:
    subscribe(db, ws, "C1", "mon", "09:00", "UTC")
    subscribe(db, ws, "C2", "mon", "09:00", "UTC")
    fake.not_in.add("C2")
    clock = Clock(MONDAY)
    worker = make_worker(db, fake, clock)
    worker.tick()
    assert_digest_once(fake, "C1")
    assert fake.posts("C2") == []
    states = {(r.kind, r.channel_id): (r.state, r.last_error) for r in ledger(db)}
    assert states[("digest", "C2")][0] == "failed" and "/invite" in states[("digest", "C2")][1]
    assert states[("digest_thread", "C2")] == ("failed", "its message was not posted")
    with db.read() as s:
        sub = s.scalars(select(m.DigestSubscription).where(m.DigestSubscription.channel_id == "C2")).one()
    assert not sub.active and "/invite" in (sub.problem or "")
    notices = fake.posts("UADMIN")
    assert len(notices) == 1
    assert "<#C2>" in notices[0]["text"] and "/scorecard subscribe" in notices[0]["text"]
    clock.now += dt.timedelta(hours=1)
    worker.tick()
    assert len(fake.posts("UADMIN")) == 1  # told once
    # Fixed and re-subscribed: this week's (failed) digest is not re-sent; next week's goes out.
    fake.not_in.clear()
    subscribe(db, ws, "C2", "mon", "09:00", "UTC")
    clock.now = MONDAY + dt.timedelta(days=7)
    worker.tick()
    assert len([p for p in fake.posts("C2") if p["thread_ts"] is None]) == 1


def test_fatal_error_after_slack_posted_is_found_again_not_reposted(
    db: Database, ws: int, fake: FakeSlack
) -> None:
    subscribe(db, ws, "C1", "mon", "09:00", "UTC")
    fake.fail("chat.postMessage", "fatal_error", posted=True)
    make_worker(db, fake, Clock(MONDAY)).tick()
    assert_digest_once(fake, "C1")
    main = next(r for r in ledger(db) if r.kind == "digest")
    assert main.state == "posted" and main.slack_ts == fake.posts("C1")[0]["ts"]


def test_fatal_error_that_slack_did_not_post_is_sent_again_after_looking(
    db: Database, ws: int, fake: FakeSlack
) -> None:
    subscribe(db, ws, "C1", "mon", "09:00", "UTC")
    fake.fail("chat.postMessage", "fatal_error")
    clock = Clock(MONDAY)
    worker = make_worker(db, fake, clock)
    worker.tick()
    main = next(r for r in ledger(db) if r.kind == "digest")
    assert main.state == "retry" and fake.posts("C1") == []
    clock.now += dt.timedelta(minutes=1)  # past the first backoff
    worker.tick()
    assert_digest_once(fake, "C1")


def test_when_the_bot_cannot_look_it_never_reposts_blindly(db: Database, ws: int, fake: FakeSlack) -> None:
    subscribe(db, ws, "C1", "mon", "09:00", "UTC")
    fake.fail("chat.postMessage", "fatal_error")
    fake.fail("conversations.history", "missing_scope")
    clock = Clock(MONDAY)
    worker = make_worker(db, fake, clock)
    worker.tick()
    main = next(r for r in ledger(db) if r.kind == "digest")
    assert main.state == "uncertain" and "deliveries retry" in (main.last_error or "")
    assert len(fake.posts("UADMIN")) == 1  # an admin decides
    clock.now += dt.timedelta(hours=2)
    worker.tick()
    assert fake.posts("C1") == []
    # The operator looked: not there. `deliveries retry` sends it.
    runner = CliRunner()
    env = {"DATABASE_URL": db.url, "RETENTION_BOT_WORKSPACE": "test"}
    listed = runner.invoke(cli, ["deliveries", "--state", "uncertain"], env=env)
    assert listed.exit_code == 0 and "C1:2026-W48" in listed.output
    result = runner.invoke(cli, ["deliveries", "retry", str(main.id)], env=env)
    assert result.exit_code == 0, result.output
    twice = runner.invoke(cli, ["deliveries", "retry", str(main.id)], env=env)
    assert twice.exit_code == 1 and f"delivery {main.id} is pending" in twice.output  # not twice
    unknown = runner.invoke(cli, ["deliveries", "retry", "999999"], env=env)
    assert unknown.exit_code == 1 and "no delivery 999999 in this workspace" in unknown.output
    worker.tick()
    assert_digest_once(fake, "C1")


@pytest.mark.parametrize("slack_has_it", [True, False])
def test_a_sender_that_died_mid_send_is_recovered_without_a_second_post(
    db: Database, ws: int, fake: FakeSlack, slack_has_it: bool
) -> None:
    subscribe(db, ws, "C1", "mon", "09:00", "UTC")
    clock = Clock(MONDAY)
    worker = make_worker(db, fake, clock)
    worker.plan()
    with db.write() as s:  # a sender leases the digest and dies before recording what happened
        leased = dl.lease(s, clock.now, lease_for=dt.timedelta(minutes=5))
    main = next(o for o in leased if o.kind == "digest")
    if slack_has_it:  # ... after Slack had posted it
        from testkit.fake_slack import FakeSlack as _  # noqa: F401  (the fake's own post path)

        fake._post(
            {
                "channel": "C1",
                "text": "Retention scorecard (posted before the crash)",
                "metadata": {"event_type": "retention_bot_delivery", "event_payload": {"delivery": main.key}},
            }
        )
    worker.deliver()
    assert len(fake.posts("C1")) == int(slack_has_it)  # still leased: nobody touches it
    clock.now += dt.timedelta(minutes=6)
    worker.deliver()
    mains = [p for p in fake.posts("C1") if p["thread_ts"] is None]
    assert len(mains) == 1
    replies = [p for p in fake.posts("C1") if p["thread_ts"] is not None]
    assert [r["thread_ts"] for r in replies] == [mains[0]["ts"]]


def test_a_dead_token_stops_that_workspace_only(db: Database, ws: int, fake: FakeSlack) -> None:
    subscribe(db, ws, "C1", "mon", "09:00", "UTC")
    fake.tokens.clear()
    clock = Clock(MONDAY)
    worker = make_worker(db, fake, clock)
    worker.tick()
    with db.read() as s:
        reason = s.scalar(select(m.Workspace.disabled_reason).where(m.Workspace.id == ws))
    assert reason and "token" in reason
    assert fake.posts() == []
    clock.now += dt.timedelta(days=7)
    planned, _ = worker.tick()
    assert planned.digests == 0


# --- shout-outs ----------------------------------------------------------------------------------


def _people_and_account(db: Database, ws: int) -> tuple[int, int, int]:
    with db.write() as s:
        ana = m.Person(
            workspace_id=ws, email="ana@x.io", name="Ana <!channel>", team="cs", slack_user_id="UANA"
        )
        bob = m.Person(workspace_id=ws, email="bob@x.io", name="Bob", team="sales", slack_user_id=None)
        s.add_all([ana, bob])
        s.flush()
        acct = m.Account(
            workspace_id=ws,
            external_id="A1",
            name="Acme & <https://evil|Jira>",
            name_key="acme",
            segment="smb",
        )
        s.add(acct)
        s.flush()
        return ana.id, bob.id, acct.id


def test_a_win_gets_one_shout_out_crediting_every_person_and_team(
    db: Database, ws: int, fake: FakeSlack
) -> None:
    ana, bob, acct = _people_and_account(db, ws)
    with db.write() as s:
        s.execute(update(m.Workspace).where(m.Workspace.id == ws).values(wins_channel_id="CWINS"))
        record_win(
            s,
            ws,
            external_id="slack:1",
            account_id=acct,
            text="saved <!here> the renewal",
            won_on=MONDAY.date(),
            recorded_by=ana,
            people=[ana, bob],
            teams=["support"],
        )
    clock = Clock(MONDAY)
    worker = make_worker(db, fake, clock)
    worker.tick()
    worker.tick()
    posts = fake.posts("CWINS")
    assert len(posts) == 1
    sent = next(c for c in fake.calls("chat.postMessage") if c["channel"] == "CWINS")
    blocks = str(sent["blocks"])
    assert "<@UANA>" in blocks and "Bob" in blocks  # people mentioned (or named), shared credit
    assert "cs, sales, support" in blocks
    assert "<!here>" not in blocks and "&lt;!here&gt;" in blocks  # user text never pings
    assert "<https://evil|Jira>" not in blocks
    assert "Ana &lt;!channel&gt;" not in blocks  # the person is mentioned by id, not by a hostile name


def test_imported_and_old_wins_get_no_shout_out(db: Database, ws: int, fake: FakeSlack) -> None:
    ana, _, acct = _people_and_account(db, ws)
    with db.write() as s:
        s.execute(update(m.Workspace).where(m.Workspace.id == ws).values(wins_channel_id="CWINS"))
        common = {"account_id": acct, "text": "x", "recorded_by": None, "people": [ana], "teams": []}
        record_win(s, ws, external_id="imp", won_on=MONDAY.date(), source="import", **common)
        record_win(s, ws, external_id="old", won_on=MONDAY.date() - dt.timedelta(days=30), **common)
    make_worker(db, fake, Clock(MONDAY)).tick()
    assert fake.posts("CWINS") == []


def test_worker_once_from_the_command_line(db: Database, ws: int, fake: FakeSlack, tmp_path: Path) -> None:
    # The latest Sunday midnight is always in the past, and after a subscription made long ago.
    subscribe(db, ws, "C1", "sun", "00:00", "UTC", now=at("2020-01-01 00:00"))
    env = {
        "DATABASE_URL": db.url,
        "RETENTION_BOT_WORKSPACE": "test",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": fake.api_url,
    }
    result = CliRunner().invoke(cli, ["worker", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "digests=1" in result.output
    assert_digest_once(fake, "C1")
    missing = CliRunner().invoke(cli, ["worker", "--once"], env={**env, "SLACK_BOT_TOKEN": ""})
    assert missing.exit_code == 1 and "SLACK_BOT_TOKEN" in missing.output


def test_apscheduler_drives_the_ticks(db: Database, ws: int, fake: FakeSlack) -> None:
    """The real BackgroundScheduler, one-second ticks: the due digest goes out without anyone calling
    tick(), once, and the scheduler stops cleanly."""
    subscribe(db, ws, "C1", "mon", "09:00", "UTC")
    settings = make_settings(db, fake, TICK_SECONDS="1", DELIVER_SECONDS="1")
    worker = Worker(settings, db, clock=Clock(MONDAY), channel_interval=0.02)
    sched = worker.scheduler(blocking=False)
    assert {job.id for job in sched.get_jobs()} == {"plan", "sla", "deliver"}
    sched.start()
    try:
        deadline = time.monotonic() + 15
        while len(fake.posts("C1")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # a few more ticks: nothing more is posted
    finally:
        sched.shutdown(wait=True)
    assert_digest_once(fake, "C1")


def test_detected_wins_get_at_most_the_daily_quota_of_shout_outs_largest_first(
    db: Database, ws: int, fake: FakeSlack
) -> None:
    ana, _, acct = _people_and_account(db, ws)
    with db.write() as s:
        s.execute(update(m.Workspace).where(m.Workspace.id == ws).values(wins_channel_id="CWINS"))
        for i in range(15):
            record_win(
                s,
                ws,
                external_id=f"detected:{i}",
                account_id=acct,
                text=f"Expanded {i}",
                won_on=MONDAY.date(),
                recorded_by=None,
                people=[ana],
                teams=[],
                kind="expansion",
                amount=Decimal(1000 * (i + 1)),
                source="detected",
            )
        record_win(
            s,
            ws,
            external_id="slack:1",
            account_id=acct,
            text="by hand",
            won_on=MONDAY.date(),
            recorded_by=ana,
            people=[ana],
            teams=[],
        )
    clock = Clock(MONDAY)
    worker = make_worker(db, fake, clock)
    worker.tick()
    worker.tick()
    texts = [p["text"] for p in fake.posts("CWINS")]
    assert len(texts) == 11 and any("by hand" in t for t in texts)  # /win's own always goes out
    assert {int(t.rsplit(" ", 1)[1]) for t in texts if "Expanded" in t} == set(range(5, 15))  # the largest
    clock.now += dt.timedelta(days=1)
    worker.tick()
    assert len(fake.posts("CWINS")) == 16  # the next day, the rest


def test_a_digest_that_cannot_be_built_is_failed_once_and_admins_are_told(
    db: Database, ws: int, fake: FakeSlack, tmp_path: Path
) -> None:
    subscribe(db, ws, "C1", "mon", "09:00", "UTC")
    (tmp_path / "digest.json.j2").write_text("[{{ nope(", encoding="utf-8")
    settings = make_settings(db, fake, DIGEST_TEMPLATES=str(tmp_path))
    clock = Clock(MONDAY)
    worker = Worker(settings, db, clock=clock, channel_interval=0.02)
    worker.tick()
    clock.now += dt.timedelta(minutes=5)
    worker.tick()
    assert fake.posts("C1") == []
    rows = [r for r in ledger(db) if r.kind == "digest"]
    assert len(rows) == 1 and rows[0].state == "failed" and "template" in (rows[0].last_error or "")
    notices = fake.posts("UADMIN")
    assert len(notices) == 1 and "DIGEST_TEMPLATES" in notices[0]["text"]
