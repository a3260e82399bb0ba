"""Every reply the bot builds stays within Slack's limits, however large or hostile the data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from blocks.slack_errors import advice
from blocks.text import clip, message_problems, slack_escape
from commands import replies
from services.accounts import AccountCard, OpenHandoff, Owner, RecentWin
from services.health import AccountHealth, Driver, Score
from storage.lookup import Match

NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
EVIL = "<!channel> <@U123> <https://evil.example|Jira> & `x` " * 200  # ~10,000 characters


def big_card() -> AccountCard:
    account = SimpleNamespace(
        id=1,
        external_id="X" * 64,
        name=EVIL[:200],
        domain="x.io",
        segment="smb",
        renewal_on=dt.date(2027, 1, 1),
        crm_url="https://crm.example/" + "a" * 2900,
    )
    score = Score(42.0, "yellow", {"usage": 10.0}, {"usage": 10.0})
    health = AccountHealth(1, NOW.date(), score, score, [Driver("usage", -5.0, 10, 15)] * 3)
    card = AccountCard(account, "adopted", Decimal("123456.78"), health)  # type: ignore[arg-type]
    card.owners = [Owner("csm", "cs", EVIL[:200], "a@x.io", "U1")] * 4
    card.handoffs = [
        OpenHandoff(i, f"H{i}", EVIL[:64], "cs", "support", EVIL[:200], NOW, False) for i in range(200)
    ]
    card.wins = [RecentWin(NOW.date(), "save", EVIL, None, ["cs"] * 9, ["Ana"] * 50) for _ in range(200)]
    return card


def test_health_card_within_limits_and_escaped() -> None:
    reply = replies.health_card(big_card(), NOW, "USD")
    assert message_problems(reply["blocks"], reply["text"]) == []
    body = str(reply["blocks"])
    assert "<!channel>" not in body and "<https://evil" not in body and "&lt;!channel&gt;" in body


def test_lists_and_choices_within_limits() -> None:
    rows = [(EVIL[:300], "X1", 12.0, "red")] * 500
    handoffs = [(EVIL[:300], "H" * 64, "k" * 32, "cs→support", EVIL[:200], "overdue by 3d")] * 500
    wins = [(NOW.date(), EVIL[:300], "save", EVIL, ["cs", "support"])] * 500
    matches = [Match(i, "X" * 64, EVIL[:200], None) for i in range(50)]
    for reply in (
        replies.my_accounts(rows, 9999),
        replies.handoffs("t", handoffs, "none"),
        replies.wins_list("t", wins),
        replies.choose_account(EVIL, matches, did_you_mean=True),
        replies.win_recorded(EVIL, EVIL, ["U1"] * 50, ["cs"] * 9),
        replies.not_found(EVIL),
    ):
        assert message_problems(reply["blocks"], reply["text"]) == [], reply["text"][:80]


def test_clip_never_cuts_an_entity() -> None:
    escaped = slack_escape("a" * 2997 + "<b")
    clipped = clip(escaped, 3000)
    assert len(clipped) <= 3000 and clipped.endswith("…") and not clipped.rstrip("…").endswith("&lt")


def test_message_problems_catch_what_slack_rejects() -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    assert message_problems([section] * 51, "t") == ["51 blocks, more than 50"]
    assert message_problems([section] * 100, None, view=True) == []
    assert message_problems([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "t")
    assert message_problems([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "t")
    assert message_problems(None, "x" * 4001)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("not_in_channel", "/invite"),
        ("channel_not_found", "does not exist"),
        ("is_archived", "archived"),
        ("account_inactive", "reinstall"),
        ("token_revoked", "reinstall"),
        ("something_new", "something_new"),
    ],
)
def test_slack_errors_become_advice(error: str, words: str) -> None:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="x",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=200,
    )
    assert words in advice(SlackApiError("x", response))
