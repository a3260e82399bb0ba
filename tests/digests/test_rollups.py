"""Managers' daily roll-ups instead of storms, end to end through the worker and the fake Slack: the
owners get their breach pings at once, the manager gets ONE DM a day listing the team's new breaches;
a second run sends nothing new; a breach after the roll-up waits for tomorrow's; two workers at once
send it once; `manager_rollup = false` brings back one DM per breach."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.scheduler import Worker
from bot.settings import build_settings
from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.helpers import at_once, load

PEOPLE = """
    email,name,team,slack_user_id,manager_email,timezone
    boss@x.io,Bea Boss,leadership,UBOSS,,UTC
    ny@x.io,Nia York,leadership,UNY,,America/New_York
    ana@x.io,Ana Lima,cs,UANA,boss@x.io,UTC
    bob@x.io,Bob Ng,cs,UBOB,boss@x.io,UTC
    cy@x.io,Cy Park,cs,UCY,ny@x.io,UTC
"""
ACCOUNTS = """
    external_id,name,segment,csm_email
    A1,Acme <!channel> Corp,smb,ana@x.io
    A2,Globex,smb,bob@x.io
    A3,Initech,smb,cy@x.io
"""
DUE = "2026-11-22T14:00:00Z"  # sweeps at 15:00 record the breaches (the 4 h escalation is not due yet)
BREACH_SWEEP = dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York
ROLLUP_TIME = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)  # [sla] rollup_hour = 9, in UTC


def handoffs(n: int, owners: list[tuple[str, str]], prefix: str = "H", due: str = DUE) -> str:
    rows = ["external_id,account,kind,from_team,to_team,owner_email,opened_at,due_at,completed_at"]
    for i in range(n):
        account, owner = owners[i % len(owners)]
        rows.append(f"{prefix}{i},{account},sales_to_cs,sales,cs,{owner},2026-11-20T09:00:00Z,{due},")
    return "\n".join(rows) + "\n"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def setup(db: Database, ws: int, fake: FakeSlack, tmp_path: Path):
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    clock = Clock(BREACH_SWEEP)

    def worker(**env: str) -> Worker:
        settings = build_settings(
            DATABASE_URL=db.url,
            SLACK_BOT_TOKEN="xoxb-test-token",
            SLACK_API_URL=fake.api_url,
            RETENTION_BOT_WORKSPACE="test",
            ADMIN_USER_IDS="",
            **env,
        )
        return Worker(settings, db, clock=clock, channel_interval=0.0)

    return worker, clock


def dms(fake: FakeSlack, channel: str) -> list[dict]:
    """What the bot sent to ``channel`` with chat.postMessage (blocks included)."""
    return [c for c in fake.calls("chat.postMessage") if c["channel"] == channel]


def rollup_rows(db: Database) -> list[tuple[str, str]]:
    with db.read() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(m.Delivery.subject, m.Delivery.channel_id)
                .where(m.Delivery.kind == "sla_rollup")
                .order_by(m.Delivery.id)
            )
        ]


def test_n_breaches_for_one_managers_team_make_one_message(
    setup, db: Database, ws: int, fake: FakeSlack, tmp_path: Path
) -> None:
    make, clock = setup
    worker = make()
    load(db, ws, "handoffs", handoffs(12, [("A1", "ana@x.io"), ("A2", "bob@x.io")]), tmp_path)
    worker.sla()
    worker.deliver()
    # The owners are told at once, each of their own breaches; the manager gets no DM per breach.
    assert len(fake.posts("UANA")) == 6 and len(fake.posts("UBOB")) == 6
    assert fake.posts("UBOSS") == []

    clock.now = ROLLUP_TIME - dt.timedelta(minutes=1)  # before the roll-up hour: nothing
    worker.plan()
    worker.deliver()
    assert fake.posts("UBOSS") == []

    clock.now = ROLLUP_TIME
    assert worker.plan().rollups == 1
    worker.deliver()
    [message] = dms(fake, "UBOSS")
    body = json.dumps(message["blocks"])
    assert message["text"] == "Your team's SLA breaches: 12 new since yesterday"
    assert all(f"`H{i}`" in body for i in range(12))
    assert body.count("owner <@UANA>") == 6 and body.count("owner <@UBOB>") == 6
    assert body.count("still open, not acknowledged") == 12
    assert "Acme &lt;!channel&gt; Corp" in body and "<!channel>" not in body
    assert fake.posts("UNY") == []  # Nia's team had no breach: nothing to say

    clock.now = ROLLUP_TIME + dt.timedelta(minutes=5)  # a second run (a tick, a restart): nothing new
    assert worker.plan().rollups == 0
    worker.deliver()
    assert len(fake.posts("UBOSS")) == 1
    with db.read() as s:
        boss = s.scalar(select(m.Person.id).where(m.Person.slack_user_id == "UBOSS"))
    assert rollup_rows(db) == [(f"{boss}:2026-11-23", "UBOSS")]


def test_days_the_worker_was_down_are_caught_up_once(
    setup, db: Database, ws: int, fake: FakeSlack, tmp_path: Path
) -> None:
    make, clock = setup
    worker = make()
    load(db, ws, "handoffs", handoffs(1, [("A1", "ana@x.io")]), tmp_path)
    worker.sla()
    clock.now = ROLLUP_TIME
    worker.plan()  # the 23rd's roll-up: H0
    later = handoffs(1, [("A2", "bob@x.io")], prefix="L", due="2026-11-23T20:00:00Z")
    load(db, ws, "handoffs", later, tmp_path)
    clock.now = dt.datetime(2026, 11, 23, 21, 0, tzinfo=dt.UTC)
    worker.sla()  # L0 breaches; then the worker is down until the 25th at noon
    clock.now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    worker.plan()
    worker.plan()
    worker.deliver()
    rolled = [d for d in dms(fake, "UBOSS") if d["text"].startswith("Your team's")]
    assert [("`H0`" in json.dumps(d["blocks"]), "`L0`" in json.dumps(d["blocks"])) for d in rolled] == [
        (True, False),
        (False, True),
    ]


def test_a_breach_after_the_rollup_waits_for_tomorrows_and_states_are_shown(
    setup, db: Database, ws: int, fake: FakeSlack, tmp_path: Path
) -> None:
    make, clock = setup
    worker = make()
    load(db, ws, "handoffs", handoffs(2, [("A1", "ana@x.io")]), tmp_path)
    worker.sla()
    clock.now = ROLLUP_TIME
    worker.plan()
    later = handoffs(1, [("A2", "bob@x.io")], prefix="L", due="2026-11-23T09:30:00Z")
    load(db, ws, "handoffs", later, tmp_path)
    clock.now = ROLLUP_TIME + dt.timedelta(hours=1)  # L0 breaches after today's roll-up
    worker.sla()
    with db.write() as s:  # L0 is acknowledged before tomorrow's roll-up
        s.scalars(select(m.Handoff).where(m.Handoff.external_id == "L0")).one().acknowledged_at = clock.now
    worker.plan()
    worker.deliver()
    today = [d for d in dms(fake, "UBOSS") if d["text"].startswith("Your team's")]  # (and escalations)
    assert len(today) == 1 and "`L0`" not in json.dumps(today[0]["blocks"])

    clock.now = ROLLUP_TIME + dt.timedelta(days=1)
    worker.plan()
    worker.deliver()
    tomorrow = [d for d in dms(fake, "UBOSS") if d["text"].startswith("Your team's")][1]
    body = json.dumps(tomorrow["blocks"])
    assert tomorrow["text"] == "Your team's SLA breaches: 1 new since yesterday"
    assert "`L0`" in body and "`H0`" not in body and "acknowledged, open" in body


def test_each_manager_is_rolled_up_at_their_own_hour(
    setup, db: Database, ws: int, fake: FakeSlack, tmp_path: Path
) -> None:
    make, clock = setup
    worker = make()
    load(db, ws, "handoffs", handoffs(2, [("A1", "ana@x.io"), ("A3", "cy@x.io")]), tmp_path)
    worker.sla()
    clock.now = ROLLUP_TIME  # 09:00 UTC is 04:00 in New York
    worker.plan()
    worker.deliver()
    assert len(fake.posts("UBOSS")) == 1 and fake.posts("UNY") == []
    clock.now = dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)  # 09:00 in New York
    worker.plan()
    worker.deliver()
    [ny] = dms(fake, "UNY")
    assert "`H1`" in json.dumps(ny["blocks"]) and "`H0`" not in json.dumps(ny["blocks"])


def test_two_workers_at_once_send_one_rollup(
    setup, db: Database, ws: int, fake: FakeSlack, tmp_path: Path
) -> None:
    make, clock = setup
    load(db, ws, "handoffs", handoffs(3, [("A1", "ana@x.io")]), tmp_path)
    make().sla()
    clock.now = ROLLUP_TIME
    workers = [make(), make()]
    at_once(lambda w: w.plan(), workers)
    workers[0].deliver()
    workers[1].deliver()
    assert len(fake.posts("UBOSS")) == 1 and len(rollup_rows(db)) == 1


def test_a_storm_is_capped_within_slacks_limits(
    setup, db: Database, ws: int, fake: FakeSlack, tmp_path: Path
) -> None:
    make, clock = setup
    worker = make()
    load(db, ws, "handoffs", handoffs(230, [("A1", "ana@x.io"), ("A2", "bob@x.io")]), tmp_path)
    worker.sla()
    clock.now = ROLLUP_TIME
    worker.plan()
    with db.read() as s:
        payload = s.scalars(select(m.Delivery.payload).where(m.Delivery.kind == "sla_rollup")).one()
    assert len(payload["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in payload["blocks"] if b["type"] == "section")
    body = json.dumps(payload["blocks"], ensure_ascii=False)
    assert payload["text"] == "Your team's SLA breaches: 230 new since yesterday"
    assert body.count("handoff `H") == 200 and "…and 30 more. `/sla team` lists every open one." in body


def test_rollup_off_sends_one_dm_per_breach_as_before(
    setup, db: Database, ws: int, fake: FakeSlack, tmp_path: Path
) -> None:
    make, clock = setup
    config = tmp_path / "policy.toml"
    config.write_text("[sla]\nmanager_rollup = false\n", encoding="utf-8")
    worker = make(RETENTION_BOT_CONFIG=str(config))
    load(db, ws, "handoffs", handoffs(3, [("A1", "ana@x.io")]), tmp_path)
    worker.sla()
    clock.now = ROLLUP_TIME
    worker.plan()
    worker.deliver()
    assert len(fake.posts("UBOSS")) == 3 and rollup_rows(db) == []


PLAYS_POLICY = """
[[plays]]
key = "call"
title = "Save call <!here>"
owner = "csm"
due_hours = 24
"""


def test_overdue_plays_are_in_the_rollup_and_snoozed_ones_are_not(
    setup, db: Database, ws: int, fake: FakeSlack, tmp_path: Path
) -> None:
    from services import plays

    make, clock = setup
    config = tmp_path / "plays.toml"
    config.write_text(PLAYS_POLICY, encoding="utf-8")
    worker = make(RETENTION_BOT_CONFIG=str(config))
    policies = worker.settings.policies
    kw = {"user_id": "UANA", "admins": (), "policies": policies, "notify": plays.no_notify}
    opened = ROLLUP_TIME - dt.timedelta(days=3)
    plays.open_play(db, ws, "A1", "call", now=opened, **kw)  # Ana's, due 2 days ago
    snoozed = plays.open_play(db, ws, "A2", "call", now=opened, **kw).view.row.id  # Bob's, snoozed
    until = ROLLUP_TIME + dt.timedelta(days=1)
    plays.snooze(db, ws, snoozed, until, user_id="UBOB", admins=(), policies=policies, now=opened)
    plays.open_play(db, ws, "A3", "call", now=ROLLUP_TIME - dt.timedelta(hours=2), **kw)  # Cy's: not late
    clock.now = ROLLUP_TIME
    worker.plan()
    worker.deliver()
    [message] = dms(fake, "UBOSS")
    body = json.dumps(message["blocks"], ensure_ascii=False)
    assert message["text"] == "Your team's roll-up: 0 new SLA breaches, 1 overdue play"
    assert "*Overdue plays* (1)" in body and "Save call &lt;!here&gt;" in body and "<!here>" not in body
    assert "owner <@UANA>, open" in body and "2 d late" in body and "Globex" not in body
    assert dms(fake, "UNY") == []  # Cy's play is not late yet
