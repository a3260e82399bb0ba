"""Every feedback message and view, built from hostile names and customer words: nothing reaches Slack
raw (no ``<!…>``, ``<@…>``, ``<#…>``, ``<http…|…>`` but the ones the bot makes from ids it knows),
the text shows escaped once, and each stays within Slack's limits."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from blocks.text import message_problems
from commands.feedback import ask_which_account, log_modal, logged_reply, themes_reply, top_reply
from digests.feedback import shipped_message, voc_message
from services import feedback as fb
from storage.feedback import Asked, LoggedItem, RankedTheme, StatusChange, ThemeRow
from tests.support import NOW

EVIL = "<!channel> EVIL & <@UEVIL> <http://evil.example|click> <#CEVIL>"
KNOWN = {"@UANA", "#CGEN"}
CONTROL = re.compile(r"<[^<>]*>")


def strings(value: Any) -> Iterator[str]:
    """Every string Slack would render (an input's ``initial_value`` is what the person edits, shown
    as typed, never parsed: it keeps the customer's words as they are)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k != "initial_value":
                yield from strings(k)
                yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def check(payload: dict[str, Any], *, view: bool = False) -> None:
    for text in strings(payload):
        raw = [t for t in CONTROL.findall(text) if t[1:-1].split("|")[0] not in KNOWN and "evil" in t.lower()]
        assert raw == [], raw
        assert "&amp;amp;" not in text and "&amp;lt;" not in text  # escaped once
    dumped = json.dumps(payload)
    assert "EVIL" in dumped and "&lt;!channel&gt;" in dumped
    if view:
        assert message_problems(payload["blocks"], None, view=True) == []
    else:
        assert message_problems(payload["blocks"], payload["text"]) == []


def test_every_feedback_builder_escapes_hostile_text() -> None:
    ranked = RankedTheme(1, EVIL, "planned", 3, 5, Decimal("1200"), Decimal("600"), 1, 1, 2, 1)
    item = LoggedItem(1, 1, EVIL, EVIL, "request", "UANA", NOW)
    similar = [fb.Suggestion(2, EVIL, "new", 80.0)]
    check(top_reply(fb.Top([ranked] * 10, "bug", "smb"), "USD"))
    check(themes_reply([ThemeRow(1, EVIL, "new", 2, 1, NOW)] * 60, 3))
    check(logged_reply(item, True, similar, True))
    check(logged_reply(item, False, [], False))
    check(ask_which_account("CGEN", "1.2", EVIL * 30, [(1, EVIL), (2, EVIL)]))
    modal = log_modal(
        text=EVIL * 200,
        meta={"x": "msg:CGEN:1.2", "s": "shortcut", "link": "https://x.slack.com/archives/CGEN/p12"},
        account=(1, EVIL),
        suggestions=similar,
        intro="From a message in <#CGEN>: " + "&lt;!channel&gt; EVIL",
    )
    check(modal, view=True)
    facts = fb.VocFacts(
        NOW - dt.timedelta(days=7),
        NOW,
        "smb",
        [ranked] * 5,
        {1: EVIL * 50},
        [(EVIL, 3)] * 20,
        [StatusChange(EVIL, "new", "shipped", "UANA", NOW), StatusChange(EVIL, "new", "planned", EVIL, NOW)],
    )
    check(voc_message(facts, "USD"))
    asked = [Asked(1, "UANA", EVIL, f"{EVIL} {n}", "request", EVIL * 20, NOW) for n in range(40)]
    check(shipped_message(fb.ShippedNotice(1, EVIL, 1, "UANA", EVIL, asked)))
