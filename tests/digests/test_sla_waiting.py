"""An SLA ping nobody can be told of is owed, not lost: on data without Slack ids (and no escalation
channel, no admins) `sla sweep` says how many pings wait for a recipient and why, and sends nothing;
once the people have Slack ids the next sweep queues them and the outbox sends each exactly once."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.cli import cli
from bot.scheduler import Worker
from bot.settings import build_settings
from digests.sla_pings import sweep_and_queue
from storage import deliveries as dl
from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.helpers import at_once, load

PEOPLE = """
    email,name,team,manager_email
    boss@x.io,Bea Boss,leadership,
    ana@x.io,Ana Lima,cs,boss@x.io
"""
WITH_SLACK_IDS = """
    email,name,team,slack_user_id,manager_email
    boss@x.io,Bea Boss,leadership,UBOSS,
    ana@x.io,Ana Lima,cs,UANA,boss@x.io
"""
# Long overdue: the first sweep records its breach and its first escalation step (to the manager).
HANDOFFS = """
    external_id,account,kind,from_team,to_team,owner_email,opened_at,due_at,completed_at
    H1,A1,sales_to_cs,sales,cs,ana@x.io,2026-11-18T09:00:00Z,2026-11-20T09:00:00Z,
"""


@pytest.fixture
def sweep(db: Database, ws: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`retention-bot sla sweep` on a workspace without Slack ids, escalation channel or admins."""
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", "external_id,name,segment,csm_email\nA1,Acme Corp,smb,ana@x.io\n", tmp_path)
    load(db, ws, "handoffs", HANDOFFS, tmp_path)
    monkeypatch.chdir(tmp_path)
    for name in ("RETENTION_BOT_CONFIG", "ADMIN_USER_IDS"):
        monkeypatch.delenv(name, raising=False)
    env = {"DATABASE_URL": db.url, "RETENTION_BOT_WORKSPACE": "test"}

    def run() -> str:
        result = CliRunner().invoke(cli, ["sla", "sweep"], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    return run


def sla_rows(db: Database) -> list[tuple[str, str, str]]:
    with db.read() as s:
        return [
            tuple(row)
            for row in s.execute(
                select(m.Delivery.subject, m.Delivery.channel_id, m.Delivery.state)
                .where(m.Delivery.kind == "sla")
                .order_by(m.Delivery.subject)
            )
        ]


def deliver(db: Database, fake: FakeSlack) -> None:
    settings = build_settings(
        DATABASE_URL=db.url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_API_URL=fake.api_url,
        RETENTION_BOT_WORKSPACE="test",
    )
    Worker(settings, db, channel_interval=0.01).deliver()


def test_pings_to_nobody_wait_and_go_out_once_someone_can_be_told(
    sweep, db: Database, ws: int, fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="services.sla"):
        out = sweep()
    assert "1 breach, 1 escalation recorded" in out
    # The breach is for the owner (the manager reads it in the daily roll-up); the escalation for the manager.
    why = "no Slack id for the owner, no [sla] escalation_channel, no ADMIN_USER_IDS"
    assert f"1 waiting for a recipient (sent once someone can be told): {why}" in out
    assert "2 waiting" not in out and "no Slack id for the owner's manager, no [sla]" in out  # the escalation
    assert f"SLA sweep: 1 new events wait for a recipient: {why}" in caplog.text
    owed = sla_rows(db)
    assert [state for *_, state in owed] == [dl.WAITING, dl.WAITING]  # owed: nothing marked sent
    deliver(db, fake)
    assert fake.calls("chat.postMessage") == []
    again = sweep()  # still nobody: still owed, and said so again
    assert (
        "0 breaches, 0 escalations recorded" in again
        and f"1 waiting for a recipient (sent once someone can be told): {why}" in again
    )
    assert sla_rows(db) == owed

    load(db, ws, "people", WITH_SLACK_IDS, tmp_path)  # the people get their Slack ids
    out = sweep()
    assert "2 waiting pings queued" in out and "waiting for a recipient" not in out
    assert sla_rows(db) == [
        ("1:breach:0:UANA", "UANA", dl.PENDING),
        ("1:escalation:1:UBOSS", "UBOSS", dl.PENDING),
    ]
    deliver(db, fake)
    assert len(fake.posts("UANA")) == 1 and len(fake.posts("UBOSS")) == 1
    assert "SLA breached: Acme Corp" in fake.posts("UANA")[0]["text"]

    out = sweep()  # a further sweep: nothing owed, nothing new
    assert "waiting" not in out
    deliver(db, fake)
    assert len(fake.calls("chat.postMessage")) == 2
    assert all(state == dl.POSTED for *_, state in sla_rows(db))


def test_racing_sweepers_hand_an_owed_ping_on_once(db: Database, ws: int, tmp_path: Path) -> None:
    """Once an escalation channel is configured, four sweepers at once queue each owed ping once; an
    owed ping whose handoff was done meanwhile is no longer needed."""
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", "external_id,name,segment,csm_email\nA1,Acme Corp,smb,ana@x.io\n", tmp_path)
    load(
        db,
        ws,
        "handoffs",
        HANDOFFS + "    H2,A1,renewal,cs,cs,ana@x.io,2026-11-18T09:00:00Z,2026-11-20T09:00:00Z,\n",
        tmp_path,
    )
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    nobody = build_settings(DATABASE_URL=db.url, RETENTION_BOT_WORKSPACE="test", ADMIN_USER_IDS="")
    report = sweep_and_queue(db, now, nobody.policies.sla, nobody.admin_user_ids)
    assert report.waiting_total == 4 and report.handed_on == 0  # H1 and H2: breach and escalation each
    with db.write() as s:
        s.execute(update(m.Handoff).where(m.Handoff.external_id == "H2").values(completed_at=now))
    config = tmp_path / "policy.toml"
    config.write_text('[sla]\nescalation_channel = "CESC"\n', encoding="utf-8")
    settings = build_settings(
        DATABASE_URL=db.url,
        RETENTION_BOT_WORKSPACE="test",
        ADMIN_USER_IDS="",
        RETENTION_BOT_CONFIG=str(config),
    )
    later = now + dt.timedelta(minutes=1)
    reports = at_once(
        lambda _: sweep_and_queue(db, later, settings.policies.sla, settings.admin_user_ids), list(range(4))
    )
    assert sum(r.handed_on for r in reports) == 2 and all(r.waiting_total == 0 for r in reports)
    assert sla_rows(db) == [
        ("1:breach:0:CESC", "CESC", dl.PENDING),
        ("1:escalation:1:CESC", "CESC", dl.PENDING),
    ]


def test_the_worker_logs_the_waiting_count_when_it_changes(
    db: Database, ws: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", "external_id,name,segment,csm_email\nA1,Acme Corp,smb,ana@x.io\n", tmp_path)
    load(db, ws, "handoffs", HANDOFFS, tmp_path)
    settings = build_settings(
        DATABASE_URL=db.url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        RETENTION_BOT_WORKSPACE="test",
        ADMIN_USER_IDS="",
    )
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    worker = Worker(settings, db, clock=lambda: now)
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        worker.sla()
        worker.sla()  # the same two still wait: not said again
    said = [r.getMessage() for r in caplog.records if r.name == "bot.scheduler"]
    assert len(said) == 1 and said[0].startswith("SLA sweep: 2 waiting for a recipient; 1: no Slack id")
