"""The app manifest declares exactly what the bot listens to and asks for no scope it does not use."""

from __future__ import annotations

import json
from pathlib import Path

from bot.oauth import BOT_SCOPES

MANIFEST = json.loads((Path(__file__).resolve().parents[2] / "docs" / "slack-manifest.json").read_text())


def test_manifest_commands_match_the_listeners() -> None:
    from slack_bolt import App

    app = App(signing_secret="x", token="xoxb-x", token_verification_enabled=False)
    from commands import register
    from commands.context import Context

    register(app, Context(None, None, None, None, frozenset(), None, None))  # type: ignore[arg-type]
    listened = set()
    for listener in app._listeners:
        for matcher in listener.matchers:
            source = getattr(getattr(matcher, "func", None), "__closure__", None) or ()
            for cell in source:
                value = cell.cell_contents
                if isinstance(value, str) and value.startswith("/"):
                    listened.add(value)
    declared = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert declared == listened == {
        "/health",
        "/scorecard",
        "/win",
        "/wins",
        "/handoff",
        "/sla",
        "/plays",
        "/renewals",
        "/feedback",
    }
    assert all(c["should_escape"] for c in MANIFEST["features"]["slash_commands"])  # mentions arrive as <@U…>


def test_manifest_scopes_are_the_oauth_scopes() -> None:
    assert MANIFEST["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert MANIFEST["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened", "reaction_added"]
    assert [s["callback_id"] for s in MANIFEST["features"]["shortcuts"]] == ["log_feedback"]
    assert (
        MANIFEST["settings"]["interactivity"]["message_menu_options_url"] == "https://YOUR-HOST/slack/events"
    )
    urls = {
        MANIFEST["settings"]["interactivity"]["request_url"],
        MANIFEST["settings"]["event_subscriptions"]["request_url"],
    }
    assert urls == {"https://YOUR-HOST/slack/events"}
