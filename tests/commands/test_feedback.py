"""Customer feedback through Slack, end to end: the message shortcut opens a prefilled dialog that logs
the item; the dialog's pickers answer block_suggestion; a reaction logs a message once (and asks in a
DM when the account is unclear); /feedback logs, ranks and curates, with its authority checks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.data import ACCOUNTS, PEOPLE
from tests.support.helpers import load
from tests.support.slack_harness import TEAM, Bot

POLICY = """
[feedback]
product_admins = ["UBOB"]
"""


@pytest.fixture
def bot(db: Database, ws: int, fake: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    config = tmp_path / "policy.toml"
    config.write_text(POLICY, encoding="utf-8")
    b = Bot(db, fake, RETENTION_BOT_CONFIG=str(config))
    yield b
    b.close()


def interactive(bot: Bot, payload: dict[str, Any]) -> Any:
    return bot.signed(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def shortcut(bot: Bot, channel: str, name: str, ts: str, text: str, *, user: str = "UANA") -> Any:
    return interactive(
        bot,
        {
            "type": "message_action",
            "callback_id": "log_feedback",
            "trigger_id": f"trigger-{time.time_ns()}",
            "team": {"id": TEAM, "domain": "test"},
            "user": {"id": user, "team_id": TEAM},
            "channel": {"id": channel, "name": name},
            "message_ts": ts,
            "message": {"type": "message", "ts": ts, "text": text, "user": "UCUSTOMER"},
            "response_url": bot.fake.response_url("shortcut"),
        },
    )


def suggestion(bot: Bot, action_id: str, value: str, *, user: str = "UANA", view: dict | None = None) -> Any:
    return interactive(
        bot,
        {
            "type": "block_suggestion",
            "action_id": action_id,
            "block_id": "account" if action_id == "fb_account" else "theme",
            "value": value,
            "team": {"id": TEAM, "domain": "test"},
            "user": {"id": user, "team_id": TEAM},
            "view": view
            or {"id": "V1", "type": "modal", "callback_id": "feedback_log", "state": {"values": {}}},
        },
    )


def reaction(
    bot: Bot, channel: str, ts: str, event_id: str, *, user: str = "UANA", name: str = "customer-feedback"
) -> Any:
    return bot.event(
        {
            "type": "reaction_added",
            "user": user,
            "reaction": name,
            "item_user": "UCUSTOMER",
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": "1700000100.000100",
        },
        event_id,
    )


def last_view(fake: FakeSlack) -> dict[str, Any]:
    view = fake.calls("views.open")[-1]["view"]
    return json.loads(view) if isinstance(view, str) else view


def values(account_id: int, *, theme: str | None, text: str, kind: str = "request") -> dict[str, Any]:
    def chosen(value: str | None) -> dict[str, Any]:
        return {
            "selected_option": {"value": value, "text": {"type": "plain_text", "text": "x"}}
            if value
            else None
        }

    return {
        "account": {"fb_account": chosen(str(account_id))},
        "kind": {"value": chosen(kind)},
        "theme": {"fb_theme": chosen(theme)},
        "importance": {"value": chosen("high")},
        "text": {"value": {"value": text}},
        "contact": {"value": {"value": "Dana, VP Ops"}},
    }


def items(db: Database) -> list[m.FeedbackItem]:
    with db.read() as session:
        return list(session.scalars(select(m.FeedbackItem).order_by(m.FeedbackItem.id)))


def account_id(db: Database, external_id: str) -> int:
    with db.read() as session:
        found = session.scalar(select(m.Account.id).where(m.Account.external_id == external_id))
    assert found is not None
    return found


def test_shortcut_opens_a_prefilled_dialog_that_logs_the_item(
    bot: Bot, db: Database, fake: FakeSlack
) -> None:
    bot.command("/feedback", "A3 they need SAML login with Okta #Single sign-on")
    ts = fake.say("CACME", "We'd love SAML <login> via Okta & audit logs")
    assert (
        shortcut(bot, "CACME", "cust-acme-corp", ts, "We'd love SAML <login> via Okta & audit logs").status
        == 200
    )
    view = last_view(fake)
    assert view["callback_id"] == "feedback_log"
    meta = json.loads(view["private_metadata"])
    assert meta == {
        "x": f"msg:CACME:{ts}",
        "s": "shortcut",
        "link": f"https://test.slack.com/archives/CACME/p{ts.replace('.', '')}",
    }
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["account"]["element"]["initial_option"]["value"] == str(
        account_id(db, "A1")
    )  # from the channel name
    assert blocks["text"]["element"]["initial_value"] == "We'd love SAML <login> via Okta & audit logs"
    assert (
        blocks["theme"]["element"]["initial_option"]["text"]["text"] == "Single sign-on"
    )  # the closest theme
    assert "&lt;login&gt;" in view["blocks"][0]["text"]["text"]  # the customer's words, escaped
    theme = blocks["theme"]["element"]["initial_option"]["value"]
    assert (
        bot.submit(view, values(account_id(db, "A1"), theme=theme, text="SAML via Okta, audit logs")).status
        == 200
    )
    logged = items(db)[-1]
    assert (logged.external_id, logged.source, logged.kind, logged.importance) == (
        f"msg:CACME:{ts}",
        "shortcut",
        "request",
        "high",
    )
    assert (logged.account_id, logged.contact, logged.logged_by_slack) == (
        account_id(db, "A1"),
        "Dana, VP Ops",
        "UANA",
    )
    assert logged.link == meta["link"] and logged.theme_id is not None
    assert "Logged customer feedback for *Acme Corp* under *Single sign-on*" in fake.posts("UANA")[-1]["text"]
    # The same message again: already logged, no second dialog, no second item.
    opened = len(fake.calls("views.open"))
    shortcut(bot, "CACME", "cust-acme-corp", ts, "We'd love SAML")
    assert len(fake.calls("views.open")) == opened and len(items(db)) == 2
    said = [c for c in fake.transcript if c["method"] == "response_url"][-1]["args"]
    assert "already logged by <@UANA>" in said["text"]


def test_the_dialog_refuses_what_it_cannot_log(bot: Bot, db: Database, fake: FakeSlack) -> None:
    ts = fake.say("CGEN", "exports are slow")
    shortcut(bot, "CGEN", "general", ts, "exports are slow")
    view = last_view(fake)
    assert "initial_option" not in {b.get("block_id"): b for b in view["blocks"]}["account"]["element"]
    bad = bot.submit(view, values(0, theme=None, text="exports are slow") | {"account": {"fb_account": {}}})
    assert bad.body["response_action"] == "errors" and "account" in bad.body["errors"]
    stranger = bot.submit(
        view, values(account_id(db, "A1"), theme="n:Exports", text="slow"), user="USTRANGER"
    )
    assert "people list" in stranger.body["errors"]["text"]
    assert items(db) == []
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(m.FeedbackTheme)) == 0  # nothing half-written
    assert bot.submit(view, values(account_id(db, "A1"), theme="n:Exports", text="slow")).status == 200
    assert [(i.source, i.text) for i in items(db)] == [("shortcut", "slow")]
    # A stranger cannot open the dialog either.
    shortcut(bot, "CGEN", "general", fake.say("CGEN", "hello"), "hello", user="USTRANGER")
    said = [c for c in fake.transcript if c["method"] == "response_url"][-1]["args"]
    assert "Only people in the people list and admins can log customer feedback" in said["text"]


def test_the_pickers_answer_block_suggestion(bot: Bot, db: Database, fake: FakeSlack) -> None:
    bot.command("/feedback", "A1 SSO with Okta please #SSO")
    accounts = suggestion(bot, "fb_account", "acme")
    assert accounts.status == 200
    assert [o["text"]["text"] for o in accounts.body["options"]] == ["Acme Corp (A1)", "Acme Logistics (A2)"]
    assert [o["value"] for o in accounts.body["options"]] == [
        str(account_id(db, "A1")),
        str(account_id(db, "A2")),
    ]
    themes = suggestion(bot, "fb_theme", "okta")
    assert [(o["text"]["text"], o["value"][:2]) for o in themes.body["options"]] == [
        ("SSO", "t:"),
        ("New theme: okta", "n:"),
    ]
    typed = suggestion(bot, "fb_theme", "sso")
    assert [o["text"]["text"] for o in typed.body["options"]] == ["SSO"]  # the name exists: no "new" twin
    # Nothing typed: the themes closest to the feedback already in the dialog.
    view = {
        "id": "V1",
        "state": {"values": {"text": {"value": {"type": "plain_text_input", "value": "Okta login"}}}},
    }
    assert [o["text"]["text"] for o in suggestion(bot, "fb_theme", "", view=view).body["options"]] == ["SSO"]
    assert suggestion(bot, "fb_account", "acme", user="USTRANGER").body["options"] == []


def test_a_reaction_logs_the_message_once(bot: Bot, db: Database, fake: FakeSlack) -> None:
    ts = fake.say("CGEN", "Globex says the CSV export times out every Monday")
    other = fake.say("CGEN", "unrelated chatter")
    assert reaction(bot, "CGEN", ts, "Ev1").status == 200
    assert reaction(bot, "CGEN", ts, "Ev1").status == 200  # Slack's retry
    reaction(bot, "CGEN", ts, "Ev2", user="UBOB")  # someone else reacts too
    reaction(bot, "CGEN", other, "Ev3", name="thumbsup")  # another reaction: nothing
    logged = items(db)
    assert [(i.external_id, i.source, i.account_id, i.logged_by_slack) for i in logged] == [
        (f"msg:CGEN:{ts}", "reaction", account_id(db, "A3"), "UANA")
    ]
    assert logged[0].text == "Globex says the CSV export times out every Monday"
    reads = fake.calls("conversations.history")
    assert len(reads) == 1 and reads[0]["latest"] == ts and reads[0]["oldest"] == ts  # that one message only
    assert "Logged customer feedback for *Globex*" in fake.posts("UANA")[-1]["text"]
    assert fake.posts("UBOB") == []


def test_a_reaction_in_a_thread_and_a_stranger(bot: Bot, db: Database, fake: FakeSlack) -> None:
    parent = fake.say("CGEN", "Call notes")
    reply = fake.say("CGEN", "Acme Corp wants dark mode", thread_ts=parent)
    reaction(bot, "CGEN", reply, "Ev1")
    assert [(i.external_id, i.text) for i in items(db)] == [
        (f"msg:CGEN:{reply}", "Acme Corp wants dark mode")
    ]
    ts = fake.say("CGEN", "Acme Corp wants an API")
    reaction(bot, "CGEN", ts, "Ev2", user="USTRANGER")
    assert len(items(db)) == 1
    assert "only people in the people list" in fake.posts("USTRANGER")[-1]["text"]


def test_unsure_of_the_account_it_asks_in_a_dm(bot: Bot, db: Database, fake: FakeSlack) -> None:
    ts = fake.say("CGEN", "Acme wants exports in Excel")  # "Acme" names two accounts
    reaction(bot, "CGEN", ts, "Ev1")
    assert items(db) == []
    ask = fake.calls("chat.postMessage")[-1]
    assert ask["channel"] == "UANA" and "which account it is from" in json.dumps(ask["blocks"])
    buttons = next(b for b in ask["blocks"] if b["type"] == "actions")["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Acme Corp", "Acme Logistics", "Another account…"]
    assert bot.press(buttons[1]["action_id"], buttons[1]["value"], key="pick").status == 200
    assert [(i.account_id, i.source) for i in items(db)] == [(account_id(db, "A2"), "reaction")]
    said = [c for c in fake.transcript if c["method"] == "response_url"][-1]["args"]
    assert "Acme Logistics" in said["text"]
    bot.press(buttons[0]["action_id"], buttons[0]["value"], key="again")  # a second press: still one item
    assert len(items(db)) == 1
    # "Another account…" opens the dialog on that message.
    ts2 = fake.say("CGEN", "They want exports")
    reaction(bot, "CGEN", ts2, "Ev2")
    buttons = next(b for b in fake.calls("chat.postMessage")[-1]["blocks"] if b["type"] == "actions")[
        "elements"
    ]
    assert [b["text"]["text"] for b in buttons] == ["Another account…"]
    bot.press(buttons[0]["action_id"], buttons[0]["value"], key="open")
    assert json.loads(last_view(fake)["private_metadata"])["x"] == f"msg:CGEN:{ts2}"


def test_feedback_command_logs_ranks_and_curates(bot: Bot, db: Database, fake: FakeSlack) -> None:
    reply = bot.command("/feedback", '"Acme Corp" bug: exports <!channel> time out #exports')
    assert "Logged customer feedback for *Acme Corp* under *exports*" in reply.body["text"]
    assert "That is a new theme" in reply.body["text"]
    assert items(db)[0].kind == "bug" and items(db)[0].text == "exports <!channel> time out"
    assert "No single account" in bot.command("/feedback", "acme exports time out").body["text"]
    assert (
        "Only people in the people list" in bot.command("/feedback", "A1 hi", user="USTRANGER").body["text"]
    )
    top = bot.command("/feedback", "top")
    assert "1. exports" in top.body["text"] and "1 account," in top.body["text"]
    assert "I don't understand 'midmarket'" in bot.command("/feedback", "top midmarket").body["text"]
    refused = bot.command("/feedback", "themes status exports shipped")  # Ana is no product admin
    assert "Only admins and product admins" in refused.body["text"]
    done = bot.command("/feedback", "themes status exports shipped", user="UBOB")
    assert "*exports* is now shipped" in done.body["text"]
    assert "No open theme" in bot.command("/feedback", "top").body["text"]
    merged = bot.command("/feedback", "themes merge exports into Reporting", user="UADMIN")
    assert "There is no theme “Reporting”" in merged.body["text"]
    assert (
        "Theme *Reporting* added"
        in bot.command("/feedback", "themes add Reporting", user="UADMIN").body["text"]
    )
    merged = bot.command("/feedback", "themes merge exports into reporting", user="UADMIN")
    assert "Merged *exports* into *Reporting*: 1 item moved" in merged.body["text"]
    listed = bot.command("/feedback", "themes").body["text"]
    assert "*Reporting* — new, 1 item from 1 account" in listed and "exports" not in listed
    assert "Log customer feedback" in bot.command("/feedback", "help").body["text"]


def test_feedback_with_no_argument_opens_the_dialog(bot: Bot, fake: FakeSlack) -> None:
    reply = bot.command("/feedback")
    assert "Fill in the dialog" in reply.body["text"]
    view = last_view(fake)
    assert view["callback_id"] == "feedback_log" and json.loads(view["private_metadata"])["s"] == "command"
    assert "Only people" in bot.command("/feedback", user="USTRANGER").body["text"]
