"""Plays in Slack, end to end through the real server and the fake Slack: a day's evaluation sends each
owner ONE message (a roll-up when it opened several, within Block Kit's limits); a play opened by hand
reaches its owner; Accept pressed twice accepts once; strangers are refused privately and nothing
changes; Done…, Snooze… and Reassign… dialogs change the play and redraw the message with who did
what; /plays mine, team and ACCOUNT list them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.scheduler import Worker
from digests.plays import notifier
from services import plays
from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support import NOW
from tests.support import plays_data as d
from tests.support.slack_harness import Bot

D = (NOW - dt.timedelta(days=1)).date()
POLICY = """
[play_settings]
fallback_channel = "CPLAYS"

[[plays]]
key = "red"
title = "Health fell into red"
trigger = "health_drop"
owner = "csm"
due_hours = 48
steps = ["Read the last tickets", "Call the champion <!here>"]
runbook_url = "https://wiki.example.com/plays/red?x=1&y=2"

[[plays]]
key = "call"
title = "Save call"
owner = "csm"
steps = ["Book the call"]
"""


@pytest.fixture
def world(db: Database, ws: int) -> dict[str, int]:
    with db.write() as s:
        boss = d.person(s, ws, "Boss", "cs", "UBOSS")
        ana = d.person(s, ws, "Ana", "cs", "UANA", boss)
        cid = d.person(s, ws, "Cid", "cs", "UCID", boss)
        d.person(s, ws, "Eve", "sales", "UEVE")  # in the people list, not in Ana's chain
        ids = {"boss": boss, "ana": ana, "cid": cid}
        for i in range(1, 21):  # twenty of Ana's accounts fall into red on the same day
            acc = d.account(s, ws, f"A{i}", name=f"Acme {i:02d} <!channel>", csm_id=ana)
            d.health(s, ws, acc, D, 30, "red")
            ids[f"A{i}"] = acc
        ids["B1"] = d.account(s, ws, "B1", name="Beta", csm_id=cid)
        d.health(s, ws, ids["B1"], D, 20, "red")
        ids["C1"] = d.account(s, ws, "C1", name="Calm Co", csm_id=ana)
    return ids


@pytest.fixture
def bot(db: Database, ws: int, fake: FakeSlack, tmp_path: Path, world: dict[str, int]) -> Iterator[Bot]:
    config = tmp_path / "policy.toml"
    config.write_text(POLICY, encoding="utf-8")
    b = Bot(db, fake, RETENTION_BOT_CONFIG=str(config))
    yield b
    b.close()


def deliver(bot: Bot, db: Database) -> None:
    Worker(bot.settings, db, clock=lambda: NOW, channel_interval=0.0).deliver()


def evaluate(bot: Bot, db: Database, ws: int) -> plays.Evaluation:
    policies = bot.settings.policies
    return plays.evaluate(db, ws, D, now=NOW, policies=policies, notify=notifier(policies))


def dms(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [c for c in fake.calls("chat.postMessage") if c["channel"] == channel]


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = message["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in blocks_of(message) if b["type"] == "actions" for e in b["elements"]]


def last_view(fake: FakeSlack) -> dict[str, Any]:
    view = fake.calls("views.open")[-1]["view"]
    return json.loads(view) if isinstance(view, str) else view


def redrawn(fake: FakeSlack) -> list[dict[str, Any]]:
    return [c["args"] for c in fake.transcript if c["method"] == "response_url"]


def events(db: Database, kind: str) -> int:
    with db.read() as s:
        return int(
            s.scalar(select(func.count()).select_from(m.PlayEvent).where(m.PlayEvent.kind == kind)) or 0
        )


def test_a_day_of_many_plays_sends_each_owner_one_message(bot: Bot, db: Database, ws: int) -> None:
    first = evaluate(bot, db, ws)
    assert first.opened == {"red": 21} and first.queued == 2  # Ana's twenty, Cid's one: two messages
    deliver(bot, db)
    [ana] = dms(bot.fake, "UANA")
    [cid] = dms(bot.fake, "UCID")
    blocks = blocks_of(ana)
    assert ana["text"] == "20 new plays for you" and len(blocks) <= 50
    body = json.dumps(blocks, ensure_ascii=False)
    assert body.count("Health fell into red") == 15 and len(buttons(ana)) == 15 * 4
    assert "…and 5 more, see `/plays mine`." in body
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body and "<!here>" not in body
    assert "health drop (as of 2026-11-22): score 30, band red" in body
    # One play alone: the steps and the runbook (its URL escaped), and its four buttons.
    single = json.dumps(blocks_of(cid), ensure_ascii=False)
    assert cid["text"].startswith("Play: Health fell into red — Beta")
    assert "1. Read the last tickets" in single and "2. Call the champion &lt;!here&gt;" in single
    assert "<https://wiki.example.com/plays/red?x=1&amp;y=2|Runbook>" in single
    assert [b["action_id"] for b in buttons(cid)] == [
        "play_accept",
        "play_done",
        "play_snooze",
        "play_reassign",
    ]

    again = evaluate(bot, db, ws)  # the same day again: nothing new, nobody told twice
    assert again.opened == {"red": 0} and again.queued == 0
    deliver(bot, db)
    assert len(dms(bot.fake, "UANA")) == 1 and len(dms(bot.fake, "UCID")) == 1


def open_by_hand(bot: Bot, db: Database, account: str = "C1") -> dict[str, Any]:
    reply = bot.command("/plays", f"open {account} call", user="UCID")
    assert "Opened *Save call* for *Calm Co*; its owner has it in Slack." in reply.body["text"], reply.body
    deliver(bot, db)
    return dms(bot.fake, "UANA")[-1]


def test_accept_twice_accepts_once_and_strangers_are_refused(bot: Bot, db: Database) -> None:
    message = open_by_hand(bot, db)
    assert message["text"].startswith("Play: Save call — Calm Co")
    assert "opened by hand by <@UCID>" in json.dumps(blocks_of(message))
    accept = buttons(message)[0]
    assert accept["action_id"] == "play_accept"

    refused = bot.press("play_accept", accept["value"], user="UEVE", key="eve")
    assert refused.status == 200
    [answer] = [r for r in redrawn(bot.fake) if r["key"] == "eve"]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "Only the owner (Ana), their manager (Boss) or an admin can accept this play." in answer["text"]
    bot.press("play_done", accept["value"], user="UNOBODY", key="nobody")  # not even in the people list
    [answer] = [r for r in redrawn(bot.fake) if r["key"] == "nobody"]
    assert "can close this play" in answer["text"] and bot.fake.calls("views.open") == []
    assert events(db, "accepted") == 0

    for _ in range(2):
        assert bot.press("play_accept", accept["value"], user="UANA", key="ana").status == 200
    assert events(db, "accepted") == 1
    mine = [r for r in redrawn(bot.fake) if r["key"] == "ana"]
    assert all(r["replace_original"] for r in mine)
    last = json.dumps(mine[-1]["blocks"])
    assert last.count("Accepted by <@UANA>") == 1 and "play_accept" not in last and "play_done" in last


def submit_done(bot: Bot, value: str, outcome: str, note: str, user: str) -> Any:
    bot.press("play_done", value, user=user)
    view = last_view(bot.fake)
    assert view["callback_id"] == "play_done"
    values = {
        "outcome": {"value": {"selected_option": {"value": outcome} if outcome else None}},
        "note": {"value": {"value": note}},
    }
    return bot.submit(view, values, user=user)


def test_done_asks_the_outcome_and_closes_once(bot: Bot, db: Database) -> None:
    value = buttons(open_by_hand(bot, db))[1]["value"]
    missing = submit_done(bot, value, "", "", "UBOSS")
    assert missing.body["response_action"] == "errors" and "outcome" in missing.body["errors"]
    assert submit_done(bot, value, "saved", "renewed <!channel> early", "UBOSS").status == 200  # the manager
    with db.read() as s:
        play = s.scalars(select(m.Play).where(m.Play.play_key == "call")).one()
    assert play.state == "closed" and play.outcome == "saved" and play.note == "renewed <!channel> early"
    update = bot.fake.calls("chat.update")[-1]
    body = json.dumps(update["blocks"], ensure_ascii=False)
    assert update["channel"] == "C0CHAN" and update["ts"] == "1700000000.000001"
    assert "Done — *saved* — by <@UBOSS>" in body and "renewed &lt;!channel&gt; early" in body
    assert "play_done" not in body  # closed: no buttons
    # A second close (a double submit, another tab): the first outcome stands, recorded once.
    view = last_view(bot.fake)
    again = bot.submit(
        view,
        {"outcome": {"value": {"selected_option": {"value": "churned"}}}, "note": {"value": {"value": ""}}},
        user="UBOSS",
    )
    assert again.status == 200 and events(db, "closed") == 1
    bot.press("play_accept", value, user="UANA", key="late")
    [late] = [r for r in redrawn(bot.fake) if r["key"] == "late"]
    assert "That play was closed already (saved)." in late["text"]


def test_snooze_and_reassign_dialogs_redraw_and_tell_the_new_owner(bot: Bot, db: Database) -> None:
    value = buttons(open_by_hand(bot, db))[2]["value"]
    bot.press("play_snooze", value, user="UANA")
    view = last_view(bot.fake)
    assert view["callback_id"] == "play_snooze"
    assert bot.submit(view, {"days": {"value": {"selected_option": {"value": "7"}}}}).status == 200
    with db.read() as s:
        play = s.scalars(select(m.Play).where(m.Play.play_key == "call")).one()
    assert play.state == "snoozed" and play.snoozed_until == NOW + dt.timedelta(days=7)
    assert ":zzz: Snoozed until" in json.dumps(bot.fake.calls("chat.update")[-1]["blocks"])

    bot.press("play_reassign", value, user="UANA")
    view = last_view(bot.fake)
    assert view["callback_id"] == "play_reassign"
    unknown = bot.submit(view, {"to": {"value": {"selected_user": "UNOBODY"}}})
    assert "isn't in the people list" in unknown.body["errors"]["to"]
    assert bot.submit(view, {"to": {"value": {"selected_user": "UCID"}}}).status == 200
    with db.read() as s:
        cid = s.scalar(select(m.Person.id).where(m.Person.slack_user_id == "UCID"))
        assert s.scalars(select(m.Play.owner_id).where(m.Play.play_key == "call")).one() == cid
    body = json.dumps(bot.fake.calls("chat.update")[-1]["blocks"])
    assert "Reassigned by <@UANA>" in body and "Owner (CSM): <@UCID>" in body
    deliver(bot, db)
    [told] = dms(bot.fake, "UCID")
    assert told["text"].startswith("Play: Save call — Calm Co")


def test_plays_lists_mine_team_and_an_account(bot: Bot, db: Database, ws: int) -> None:
    evaluate(bot, db, ws)
    mine = bot.command("/plays", "", user="UANA").body
    assert mine["text"] == "Your open plays" and "20 open" in json.dumps(mine["blocks"])
    team = bot.command("/plays", "team", user="UBOSS").body
    assert "21 open" in json.dumps(team["blocks"]) and "<@UCID>" in json.dumps(team["blocks"])
    account = bot.command("/plays", "Beta", user="UEVE").body
    assert account["text"] == "Plays — Beta" and "Health fell into red" in json.dumps(account["blocks"])
    stranger = bot.command("/plays", "mine", user="UNOBODY").body
    assert "isn't in the people list" in stranger["text"]
    bad = bot.command("/plays", "open Beta nosuchplay", user="UANA").body
    assert "There is no play `nosuchplay`" in bad["text"] and "`red`, `call`" in bad["text"]
    help_text = bot.command("/plays", "help").body["text"]
    assert "/plays open ACCOUNT KEY" in help_text


def test_app_home_and_health_show_the_open_plays(bot: Bot, db: Database, ws: int) -> None:
    evaluate(bot, db, ws)
    bot.command("/plays", "open A1 call", user="UANA")
    card = bot.command("/health", "A1", user="UEVE").body
    body = json.dumps(card["blocks"], ensure_ascii=False)
    assert "*Open plays*" in body and "• Health fell into red (<@UANA>, open, due in 2d)" in body
    assert "• Save call (<@UANA>, open" in body
    assert "*Open plays*" not in json.dumps(bot.command("/health", "Calm Co").body["blocks"])

    assert bot.event({"type": "app_home_opened", "user": "UANA", "tab": "home"}, "EvPlays").status == 200
    (call,) = bot.fake.calls("views.publish")
    view = json.loads(call["view"]) if isinstance(call["view"], str) else call["view"]
    home = json.dumps(view["blocks"], ensure_ascii=False)
    assert "*Your open plays* (21)" in home and home.count("Health fell into red") == 20
    assert "Save call" in home and "Beta" not in home  # Cid's play is not Ana's
    assert len(view["blocks"]) <= 100
