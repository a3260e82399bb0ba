"""The feedback loop's messages through the real scheduler, outbox and fake Slack: the weekly voice of
the customer digest in the subscribed channel only, once; a shipped theme tells each owner once; and a
renewal after the ship date becomes a shared win with its shout-out."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.scheduler import Worker
from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support import NOW
from tests.support.data import ACCOUNTS, PEOPLE
from tests.support.helpers import load
from tests.support.slack_harness import Bot

POLICY = """
[feedback]
product_admins = ["UBOB"]
"""
REVENUE = """
    account,month,mrr
    A1,2026-10,1000
    A2,2026-10,500
    A3,2026-10,3000
    A1,2027-01,1000
"""
RISKS = """
    external_id,account,flagged_on,reason,outcome
    R1,A3,2026-11-01,Champion left,open
"""


@pytest.fixture
def bot(db: Database, ws: int, fake: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    for kind, body in (
        ("people", PEOPLE),
        ("accounts", ACCOUNTS),
        ("revenue", REVENUE),
        ("risk_flags", RISKS),
    ):
        load(db, ws, kind, body, tmp_path)
    config = tmp_path / "policy.toml"
    config.write_text(POLICY, encoding="utf-8")
    b = Bot(db, fake, RETENTION_BOT_CONFIG=str(config))
    yield b
    b.close()


def run(bot: Bot, db: Database, at: dt.datetime) -> None:
    worker = Worker(bot.settings, db, clock=lambda: at, channel_interval=0.01)
    worker.plan()
    worker.deliver()


def ledger(db: Database, kind: str) -> list[tuple[str, str, str]]:
    with db.read() as session:
        rows = session.execute(
            select(m.Delivery.subject, m.Delivery.channel_id, m.Delivery.state)
            .where(m.Delivery.kind == kind)
            .order_by(m.Delivery.subject)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def log_some(bot: Bot) -> None:
    for text in (
        "A1 SSO with Okta please #Single sign-on",
        "A3 They need SAML <!channel> before renewal #Single sign-on",
        "A2 Exports to Excel #Exports",
    ):
        assert "Logged customer feedback" in bot.command("/feedback", text).body["text"]


def test_the_voice_of_the_customer_digest_goes_once_to_the_channel_that_asked(
    bot: Bot, db: Database, fake: FakeSlack
) -> None:
    refused = bot.command("/feedback", "subscribe <#CVOC|product> monday 09:00 Europe/Berlin")
    assert "Only admins" in refused.body["text"]
    ok = bot.command("/feedback", "subscribe <#CVOC|product> monday 09:00 Europe/Berlin", user="UADMIN")
    assert "<#CVOC> gets the weekly voice of the customer: Mondays at 09:00 Europe/Berlin" in ok.body["text"]
    assert "<#CVOC>" in bot.command("/feedback", "subscriptions").body["text"]
    log_some(bot)
    bot.command("/feedback", "themes status Exports planned", user="UBOB")
    run(bot, db, NOW + dt.timedelta(days=6))  # Sunday: not due (subscribed after this Monday's 09:00)
    assert ledger(db, "voc") == []
    due = dt.datetime(2026, 11, 30, 8, 5, tzinfo=dt.UTC)  # Monday 09:05 in Berlin
    run(bot, db, due)
    run(bot, db, due + dt.timedelta(minutes=10))  # the next tick claims nothing more
    assert ledger(db, "voc") == [("CVOC:2026-W49", "CVOC", "posted")]
    posts = fake.posts("CVOC")
    assert len(posts) == 1
    sent = next(c for c in fake.calls("chat.postMessage") if c["channel"] == "CVOC")
    blocks = json.dumps(sent["blocks"], ensure_ascii=False)
    # Single sign-on first: Globex (ARR 36,000) has an open risk flag; Exports has none at risk.
    assert blocks.index("1. Single sign-on") < blocks.index("2. Exports")
    assert "$36,000 at risk" in blocks
    assert "&lt;!channel&gt;" in blocks and "<!channel>" not in blocks  # customer words, escaped
    assert "New themes this week" in blocks and "Exports*: new → planned by <@UBOB>" in blocks
    # Customer words went nowhere else.
    elsewhere = [c for c in fake.calls("chat.postMessage") if c["channel"] != "CVOC"]
    assert not any("Okta" in json.dumps(c) for c in elsewhere if c["channel"].startswith("C"))


def test_a_shipped_theme_tells_each_owner_once_then_a_renewal_is_a_shared_win(
    bot: Bot, db: Database, fake: FakeSlack
) -> None:
    log_some(bot)
    assert "/win channel" not in bot.command("/win", "channel <#CWINS|wins>", user="UADMIN").body["text"]
    done = bot.command("/feedback", "themes status single sign-on shipped", user="UBOB")
    assert "is now shipped" in done.body["text"]
    fake.clear()
    run(bot, db, NOW + dt.timedelta(minutes=1))
    run(bot, db, NOW + dt.timedelta(minutes=2))
    # Acme Corp (CSM Ana, AE Bob) and Globex (CSM Ana) asked; Acme Logistics asked for Exports only.
    assert sorted(c for _, c, _ in ledger(db, "fb_shipped")) == ["UANA", "UBOB"]
    ana = [c for c in fake.calls("chat.postMessage") if c["channel"] == "UANA"]
    bob = [c for c in fake.calls("chat.postMessage") if c["channel"] == "UBOB"]
    assert len(ana) == 1 and len(bob) == 1
    assert "Single sign-on has shipped" in ana[0]["text"] and "Acme Corp, Globex" in ana[0]["text"]
    assert (
        "Acme Corp" in bob[0]["text"] and "Globex" not in bob[0]["text"] and "Logistics" not in bob[0]["text"]
    )
    assert "They need SAML &lt;!channel&gt; before renewal" in json.dumps(ana[0]["blocks"])
    # Acme Corp renews on 2027-01-15, 53 days after the ship date: a shared win, shouted out.
    run(bot, db, dt.datetime(2027, 1, 16, 6, 0, tzinfo=dt.UTC))
    with db.read() as session:
        win = session.scalars(select(m.Win).where(m.Win.kind == "shipped")).one()
        teams = set(session.scalars(select(m.WinCreditTeam.team).where(m.WinCreditTeam.win_id == win.id)))
    assert win.text == "Renewed 53 days after “Single sign-on” shipped, which they had asked for"
    assert teams == {"product", "engineering", "cs", "sales"}
    shout = [c for c in fake.calls("chat.postMessage") if c["channel"] == "CWINS"]
    assert any(
        "Single sign-on" in c["text"] and "shipped what they asked for" in json.dumps(c["blocks"])
        for c in shout
    )
    run(bot, db, dt.datetime(2027, 1, 16, 7, 0, tzinfo=dt.UTC))
    with db.read() as session:
        assert len(session.scalars(select(m.Win).where(m.Win.kind == "shipped")).all()) == 1
