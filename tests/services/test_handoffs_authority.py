"""Authority on every way in: the buttons of an SLA ping, the Snooze dialog and the handoff checklist ask
the same rule as /handoff. A stranger (not in the people list) or a colleague outside the owner's line
is refused privately and nothing is recorded; the owner, their manager and an admin may act."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support import NOW
from tests.support.data import ACCOUNTS, PEOPLE, SLA_POLICY, checklist
from tests.support.helpers import load
from tests.support.slack_harness import Bot, sweep_and_deliver

STRANGER = "USTRANGER"  # a Slack user of the workspace who is not in the people list
OUTSIDER = "UBOB"  # in the people list, but neither the owner (Ana) nor above her
SNOOZE_VALUES = {
    "hours": {"value": {"selected_option": {"value": "1"}}},
    "reason": {"value": {"value": "waiting for the customer"}},
}


@pytest.fixture
def bot(db: Database, ws: int, tmp_path: Path) -> Iterator[Bot]:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    config = tmp_path / "policy.toml"
    config.write_text(SLA_POLICY, encoding="utf-8")
    with FakeSlack() as fake:
        b = Bot(db, fake, RETENTION_BOT_CONFIG=str(config))
        yield b
        b.close()


def _view(bot: Bot) -> dict[str, Any]:
    view = bot.fake.calls("views.open")[-1]["view"]
    return json.loads(view) if isinstance(view, str) else view


def open_handoff(bot: Bot, db: Database) -> m.Handoff:
    """Ana opens a sales→CS handoff (its checklist dialog submitted); she owns it, Bea is her manager."""
    bot.command("/handoff", "open A1 sales_to_cs")
    assert bot.submit(_view(bot), checklist()).status == 200
    with db.read() as s:
        return s.scalars(select(m.Handoff).order_by(m.Handoff.id.desc())).first()


def recorded(db: Database) -> dict[str, int]:
    """What people did to handoffs, as the database has it."""
    with db.read() as s:
        events = dict(
            s.execute(
                select(m.SlaEvent.kind, func.count())
                .where(m.SlaEvent.kind.in_(("ack", "done", "snooze", "pause", "resume")))
                .group_by(m.SlaEvent.kind)
            ).all()
        )
        return {
            **events,
            "pauses": s.scalar(select(func.count()).select_from(m.HandoffPause)),
            "completed": s.scalar(select(func.count()).where(m.Handoff.completed_at.is_not(None))),
            "handoffs": s.scalar(select(func.count()).select_from(m.Handoff)),
        }


def last_response(bot: Bot) -> dict[str, Any]:
    return [c["args"] for c in bot.fake.transcript if c["method"] == "response_url"][-1]


def test_strangers_are_refused_privately_by_every_button_and_dialog(bot: Bot, db: Database) -> None:
    handoff = open_handoff(bot, db)
    sweep_and_deliver(bot, db, NOW + dt.timedelta(hours=9))  # breached: Ana and Bea are pinged
    value = json.dumps({"h": handoff.id})
    bot.press("sla_snooze", value)  # Ana's own Snooze dialog, which others will try to submit
    dialog = _view(bot)
    before = recorded(db)
    opened = len(bot.fake.calls("views.open"))
    for user in (STRANGER, OUTSIDER):
        for action in ("sla_done", "sla_ack", "sla_snooze"):
            assert bot.press(action, value, user=user, key=f"{user}-{action}").status == 200
            refusal = last_response(bot)
            assert refusal["key"] == f"{user}-{action}"
            assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
            assert (
                "Only the owner of `" in refusal["text"]
                and "(Ana Lima), their manager (Bea Boss)" in (refusal["text"])
            )
        answer = bot.submit(dialog, SNOOZE_VALUES, user=user)
        assert answer.body["response_action"] == "errors"
        assert "Only the owner of" in answer.body["errors"]["reason"]
        answer = bot.command("/handoff", f"done {handoff.external_id}", user=user)
        assert "Only the owner of" in answer.body["text"]
    assert len(bot.fake.calls("views.open")) == opened  # no Snooze dialog for them
    assert not bot.fake.calls("chat.update")  # the ping is not redrawn
    assert recorded(db) == before == {"pauses": 0, "completed": 0, "handoffs": 1}


def test_a_stranger_cannot_open_a_handoff_nor_submit_its_checklist(bot: Bot, db: Database) -> None:
    answer = bot.command("/handoff", "open A1 sales_to_cs", user=STRANGER)
    assert "Only people in the people list or an admin can open a handoff" in answer.body["text"]
    assert not bot.fake.calls("views.open")
    bot.command("/handoff", "open A1 sales_to_cs")  # Ana's dialog, submitted by the stranger
    answer = bot.submit(_view(bot), checklist(), user=STRANGER)
    assert answer.body["response_action"] == "errors"
    assert "Only people in the people list" in answer.body["errors"]["success_plan"]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Handoff)) == 0
        assert s.scalar(select(func.count()).select_from(m.Milestone)) == 0


def test_the_owner_their_manager_and_an_admin_may_act(bot: Bot, db: Database) -> None:
    for user in ("UANA", "UBOSS", "UADMIN"):
        handoff = open_handoff(bot, db)
        value = json.dumps({"h": handoff.id})
        bot.press("sla_snooze", value, user=user)
        assert bot.submit(_view(bot), SNOOZE_VALUES, user=user).status == 200
        assert bot.press("sla_ack", value, user=user, key=f"{user}-ack").status == 200
        assert bot.press("sla_done", value, user=user, key=f"{user}-done").status == 200
        done = last_response(bot)
        assert done["replace_original"] is True and f"Marked done by <@{user}>" in json.dumps(done["blocks"])
        with db.read() as s:
            kinds = set(s.scalars(select(m.SlaEvent.kind).where(m.SlaEvent.handoff_id == handoff.id)))
            assert kinds >= {"snooze", "ack", "done"}
            assert s.get(m.Handoff, handoff.id).completed_at == NOW
    handoff = open_handoff(bot, db)
    pause = bot.command("/handoff", f"pause {handoff.external_id} waiting for legal", user="UBOSS")
    assert "paused" in pause.body["text"]
    assert "resumed" in bot.command("/handoff", f"resume {handoff.external_id}", user="UADMIN").body["text"]
    assert recorded(db)["pause"] == recorded(db)["resume"] == 1


def test_a_handoff_without_owner_is_for_anyone_in_the_people_list(
    bot: Bot, db: Database, ws: int, tmp_path: Path
) -> None:
    load(
        db,
        ws,
        "handoffs",
        "external_id,account,kind,from_team,to_team,opened_at,due_at\n"
        "H9,A1,escalation,cs,support,2026-11-18T09:00:00Z,2026-11-20T09:00:00Z\n",
        tmp_path,
    )
    answer = bot.command("/handoff", "done H9", user=STRANGER)
    assert "`H9` has no owner: only people in the people list" in answer.body["text"]
    assert "Ask RevOps to import you" in answer.body["text"]
    assert recorded(db)["completed"] == 0
    assert "is done" in bot.command("/handoff", "done H9", user=OUTSIDER).body["text"]
    assert recorded(db)["completed"] == 1
