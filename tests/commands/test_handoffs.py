"""Handoff SLAs through Slack, end to end: /handoff open under a policy, the sweep's pings delivered by
the outbox to the fake Slack, the buttons on them (twice pressed, once done), the Snooze dialog, and a
person who left."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support import NOW
from tests.support.data import ACCOUNTS, PEOPLE, SLA_POLICY, checklist
from tests.support.helpers import load
from tests.support.slack_harness import Bot, sweep_and_deliver


@pytest.fixture
def bot(db: Database, ws: int, fake: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    config = tmp_path / "policy.toml"
    config.write_text(SLA_POLICY, encoding="utf-8")
    b = Bot(db, fake, RETENTION_BOT_CONFIG=str(config))
    yield b
    b.close()


def open_handoff(bot: Bot, db: Database) -> m.Handoff:
    """/handoff open for sales→CS asks for the checklist in a dialog; submitting it opens the handoff."""
    reply = bot.command("/handoff", "open A1 sales_to_cs")
    assert "checklist in the dialog" in reply.body["text"]
    view = bot.fake.calls("views.open")[-1]["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "handoff_checklist"
    assert bot.submit(view, checklist()).status == 200
    confirmation = [c for c in bot.fake.calls("chat.postMessage") if c["channel"] == "UANA"][-1]
    assert "Opened handoff" in confirmation["text"] and "owner <@UANA>" in confirmation["text"]
    with db.read() as s:
        return s.scalars(select(m.Handoff)).one()


def test_the_checklist_is_required_and_kept_with_the_handoff(bot: Bot, db: Database) -> None:
    bot.command("/handoff", "open A1 sales_to_cs")
    view = bot.fake.calls("views.open")[-1]["view"]
    view = json.loads(view) if isinstance(view, str) else view
    late = bot.submit(view, checklist(first_value="2026-11-01"))
    assert late.body["response_action"] == "errors" and "first_value" in late.body["errors"]
    empty = bot.submit(view, checklist(plan=" "))
    assert "success_plan" in empty.body["errors"]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Handoff)) == 0  # nothing half-opened
    assert bot.submit(view, checklist()).status == 200
    assert bot.submit(view, checklist()).status == 200  # a double submit opens it once
    with db.read() as s:
        handoff = s.scalars(select(m.Handoff)).one()
        target = s.scalar(select(m.Milestone.target_on).where(m.Milestone.kind == "first_value"))
    assert handoff.checklist["contacts"] == "Dana (champion), Lee (admin)"
    assert target == dt.date(2026, 12, 15)


def test_open_under_the_policy_then_breach_pings_owner_then_escalates(bot: Bot, db: Database) -> None:
    handoff = open_handoff(bot, db)
    assert handoff.policy_key == "sales_to_cs/*" and handoff.effective_due_at == NOW + dt.timedelta(hours=8)
    assert "no SLA policy for `renewal`" in bot.command("/handoff", "open A1 renewal").body["text"]
    bot.fake.clear()
    sweep_and_deliver(bot, db, NOW + dt.timedelta(hours=8, minutes=5))
    dms = {c["channel"]: c for c in bot.fake.calls("chat.postMessage")}
    assert set(dms) == {"UANA"}  # the manager reads the breach in their daily roll-up
    assert "5 min late" in json.dumps(dms["UANA"]["blocks"])
    sweep_and_deliver(bot, db, NOW + dt.timedelta(hours=8, minutes=6))
    assert len(bot.fake.calls("chat.postMessage")) == 1  # pinged once
    sweep_and_deliver(bot, db, NOW + dt.timedelta(hours=10, minutes=5))  # nobody acknowledged: escalated
    dms = {c["channel"]: c for c in bot.fake.calls("chat.postMessage")}
    assert set(dms) == {"UANA", "UBOSS"} and "escalation step 1" in json.dumps(dms["UBOSS"]["blocks"])


def test_buttons_act_once_and_redraw_the_message(bot: Bot, db: Database) -> None:
    handoff = open_handoff(bot, db)
    sweep_and_deliver(bot, db, NOW + dt.timedelta(hours=9))
    value = json.dumps({"h": handoff.id})
    for _ in range(2):
        assert bot.press("sla_ack", value, user="UBOSS").status == 200
    with db.read() as s:
        acks = s.scalar(select(func.count()).where(m.SlaEvent.kind == "ack"))
    assert acks == 1
    redrawn = [c["args"] for c in bot.fake.transcript if c["method"] == "response_url"]
    assert all(r.get("replace_original") for r in redrawn)
    assert json.dumps(redrawn[-1]["blocks"]).count("Acknowledged by <@UBOSS>") == 1
    # Acknowledged: the manager escalation (2 h after the breach) does not come.
    sweep_and_deliver(bot, db, NOW + dt.timedelta(hours=12))
    assert not [c for c in bot.fake.calls("chat.postMessage") if "escalation step" in json.dumps(c["blocks"])]
    bot.press("sla_done", value)
    bot.press("sla_done", value)
    with db.read() as s:
        done = s.get(m.Handoff, handoff.id)
        assert (
            done.completed_at == NOW and s.scalar(select(func.count()).where(m.SlaEvent.kind == "done")) == 1
        )
    last = [c["args"] for c in bot.fake.transcript if c["method"] == "response_url"][-1]
    assert "Marked done by <@UANA>" in json.dumps(last["blocks"]) and "sla_ack" not in json.dumps(
        last["blocks"]
    )


def test_snooze_asks_why_and_moves_the_due_time(bot: Bot, db: Database) -> None:
    handoff = open_handoff(bot, db)
    bot.press("sla_snooze", json.dumps({"h": handoff.id}))
    view = bot.fake.calls("views.open")[-1]["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "sla_snooze"
    options = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert options == ["1", "4"]  # within the policy's 6 h allowance

    def values(hours: str, reason: str) -> dict:
        return {
            "hours": {"value": {"selected_option": {"value": hours}}},
            "reason": {"value": {"value": reason}},
        }

    missing = bot.submit(view, values("4", " "))
    assert missing.body["response_action"] == "errors" and "reason" in missing.body["errors"]
    assert bot.submit(view, values("4", "customer <!here> on holiday")).status == 200
    with db.read() as s:
        snoozed = s.get(m.Handoff, handoff.id)
    assert snoozed.effective_due_at == NOW + dt.timedelta(hours=12)
    updated = bot.fake.calls("chat.update")[-1]
    assert "Snoozed 4 h by <@UANA>" in json.dumps(updated["blocks"]) and "<!here>" not in json.dumps(
        updated["blocks"]
    )
    too_long = bot.submit(view, values("4", "again"))
    assert "2 h are left" in too_long.body["errors"]["hours"]


def test_a_person_who_left_is_replaced_by_the_escalation_channel(bot: Bot, db: Database) -> None:
    open_handoff(bot, db)
    bot.fake.clear()
    bot.fake.gone.add("UANA")
    sweep_and_deliver(bot, db, NOW + dt.timedelta(hours=8, minutes=1))
    sweep_and_deliver(bot, db, NOW + dt.timedelta(hours=8, minutes=2))  # the fallback goes out
    channel = bot.fake.posts("CESC")
    assert len(channel) == 1 and "<@UANA> could not be reached" in channel[0]["text"]
    assert bot.fake.posts("UBOSS") == []  # the manager's copy is in tomorrow's roll-up
