"""The Slack app end to end: signed requests to the real server on a loopback port, the fake Slack
Web API recording what the bot sent, a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from blocks.text import message_problems
from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support import NOW
from tests.support.data import ACCOUNTS, PEOPLE
from tests.support.helpers import load
from tests.support.slack_harness import INGEST_TOKEN, Bot


@pytest.fixture
def data(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    load(
        db, ws, "revenue", "account,month,mrr\nA1,2026-07,1000\nA1,2026-10,1200\nA3,2026-10,5000\n", tmp_path
    )
    usage = ["account,day,active_users,licensed_seats"] + [f"A1,2026-11-{d:02d},20,40" for d in range(1, 23)]
    load(db, ws, "usage", "\n".join(usage) + "\n", tmp_path)
    load(
        db,
        ws,
        "handoffs",
        """
        external_id,account,kind,from_team,to_team,owner_email,opened_at,due_at,completed_at
        H1,A1,sales_to_cs,sales,cs,ana@x.io,2026-11-18T09:00:00Z,2026-11-20T09:00:00Z,
        H2,A3,escalation,cs,support,bob@x.io,2026-11-22T09:00:00Z,2026-11-24T09:00:00Z,
    """,
        tmp_path,
    )
    return db


@pytest.fixture
def bot(data: Database, fake: FakeSlack) -> Iterator[Bot]:
    b = Bot(data, fake)
    yield b
    b.close()


def blocks_text(reply: dict[str, Any]) -> str:
    return json.dumps(reply.get("blocks", []))


def assert_valid(reply: dict[str, Any]) -> None:
    assert message_problems(reply.get("blocks"), reply.get("text")) == []


# --- /health -------------------------------------------------------------------------------------


def test_health_card_answers_in_the_response(bot: Bot) -> None:
    r = bot.command("/health", "acme corp")
    assert r.status == 200
    assert_valid(r.body)
    text = blocks_text(r.body)
    assert "Acme Corp" in text and "Health" in text and "share_health" in text
    assert "Ana Lima" in text and "sales_to_cs" in text and "overdue" in text
    assert r.body.get("response_type") in (None, "ephemeral")  # private unless shared
    # Answered in the HTTP response: nothing posted (Bolt's one auth.test is how it authorises the token).
    assert [c["method"] for c in bot.fake.transcript] == ["auth.test"]


def test_health_ambiguous_offers_buttons_and_typo_is_forgiven(bot: Bot) -> None:
    r = bot.command("/health", "acme")
    assert "several accounts" in r.body["text"]
    assert blocks_text(r.body).count("pick_account_") == 2
    r = bot.command("/health", "globx")
    assert "Globex" in blocks_text(r.body)
    r = bot.command("/health", "zzzqqq")
    assert "No account matches" in r.body["text"] and "CRM id" in r.body["text"]


def test_health_without_argument_lists_my_accounts_worst_first(bot: Bot) -> None:
    r = bot.command("/health", "", user="UANA")
    assert "Your accounts" in r.body["text"]
    assert "Acme Corp" in blocks_text(r.body) and "Globex" in blocks_text(r.body)
    r = bot.command("/health", "", user="USTRANGER")
    assert "isn't in the people list" in r.body["text"]


def test_every_command_has_help(bot: Bot) -> None:
    for command in (
        "/health",
        "/scorecard",
        "/win",
        "/wins",
        "/handoff",
        "/sla",
        "/plays",
        "/renewals",
        "/feedback",
    ):
        r = bot.command(command, "help")
        assert_valid(r.body)
        assert command in r.body["text"] and "what you can type" in r.body["text"]


# --- security ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["bad signature", "stale timestamp", "tampered body", "missing headers"])
def test_unsigned_or_stale_requests_are_refused_with_no_side_effect(
    bot: Bot, data: Database, case: str
) -> None:
    body = "team_id=T0TEST&user_id=UANA&command=%2Fwin&text=A1+saved+it+%23cs&trigger_id=x&response_url=x"
    ts = int(time.time())
    if case == "bad signature":
        r = bot.signed(body, "application/x-www-form-urlencoded", secret="wrong-secret")
    elif case == "stale timestamp":
        r = bot.signed(body, "application/x-www-form-urlencoded", timestamp=ts - 6 * 60)
    elif case == "tampered body":
        from slack_sdk.signature import SignatureVerifier

        sig = SignatureVerifier("test-signing-secret").generate_signature(timestamp=str(ts), body=body)
        r = bot.http(
            "/slack/events",
            (body + "+%40channel").encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(ts),
                "X-Slack-Signature": sig,
            },
        )
    else:
        r = bot.http("/slack/events", body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 401
    with data.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Win)) == 0
    assert bot.fake.transcript == []  # not even auth.test: refused before any listener ran


def test_a_request_from_another_team_is_refused(bot: Bot) -> None:
    bot.command("/health", "acme corp")  # binds the workspace to T0TEST
    r = bot.command("/health", "acme corp", team="T0OTHER")
    assert r.status == 200 and "not installed for your workspace" in str(r.body)
    assert "Acme" not in str(r.body)


def test_user_text_is_shown_literally(bot: Bot, data: Database) -> None:
    evil = "saved it <!channel> <https://evil.example|Jira> & `code` *bold*"
    r = bot.command("/win", f"A1 {evil} #cs")
    text = blocks_text(r.body)
    assert "&lt;!channel&gt;" in text and "&lt;https://evil.example|Jira&gt;" in text and "&amp;" in text
    assert "<!channel>" not in text and "<https://evil" not in text
    assert_valid(r.body)
    huge = bot.command("/win", "A1 " + "x" * 40_000 + " #cs")
    assert huge.status == 200
    assert_valid(huge.body)


# --- /win, /wins ---------------------------------------------------------------------------------


def test_win_credits_everyone_named_and_the_recorder(bot: Bot, data: Database) -> None:
    r = bot.command("/win", '"Acme Corp" renewal signed early <@UBOB|bob> #support', user="UANA")
    assert ":trophy:" in r.body["text"]
    with data.read() as s:
        win = s.scalars(select(m.Win)).one()
        teams = set(s.scalars(select(m.WinCreditTeam.team)))
        people = set(
            s.scalars(
                select(m.Person.slack_user_id).join(
                    m.WinCreditPerson, m.WinCreditPerson.person_id == m.Person.id
                )
            )
        )
    assert win.text == "renewal signed early" and win.source == "slack"
    assert people == {"UANA", "UBOB"} and teams == {"support", "cs", "sales"}
    listed = bot.command("/wins")
    assert "renewal signed early" in blocks_text(listed.body)


def test_wins_channel_is_for_admins_and_a_win_gets_one_shout_out(bot: Bot, data: Database) -> None:
    from bot.scheduler import Worker

    assert "Shout-outs are off" in bot.command("/win", "channel").body["text"]
    assert "Only admins" in bot.command("/win", "channel <#CWINS|wins>", user="UANA").body["text"]
    assert "autocomplete" in bot.command("/win", "channel #wins", user="UADMIN").body["text"]
    assert "<#CWINS>" in bot.command("/win", "channel <#CWINS|wins>", user="UADMIN").body["text"]
    assert "<#CWINS>" in bot.command("/win", "channel").body["text"]
    bot.command("/win", '"Acme Corp" saved the renewal <@UBOB|bob>', user="UANA")
    with data.read() as s:
        queued = s.scalars(select(m.Delivery).where(m.Delivery.kind == "shoutout")).all()
    assert [(d.channel_id, d.state) for d in queued] == [("CWINS", "pending")]  # recorded with the win
    worker = Worker(bot.settings, data, clock=lambda: NOW, channel_interval=0.01)
    worker.deliver()
    worker.deliver()
    posted = [c for c in bot.fake.calls("chat.postMessage") if c["channel"] == "CWINS"]
    assert len(posted) == 1
    sent = json.dumps(posted[0]["blocks"])
    assert "<@UANA>" in sent and "<@UBOB>" in sent and "saved the renewal" in sent
    assert "Off" not in bot.command("/win", "channel off", user="UADMIN").body["text"]


def test_a_typo_is_never_written_only_offered(bot: Bot, data: Database) -> None:
    """/health shows the closest name for a typo; /win and /handoff record nothing on a guess: they
    name the account they would have taken, to be typed again."""
    assert "Globex" in bot.command("/health", "globx").body["text"]  # read: the closest is shown
    reply = bot.command("/win", "globx saved the renewal #cs").body["text"]
    assert "No single account matches" in reply and "`A3` Globex" in reply
    reply = bot.command("/handoff", "open globx escalation").body["text"]
    assert "No single account matches" in reply and "`A3` Globex" in reply
    with data.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Win)) == 0
        assert s.scalar(select(func.count()).select_from(m.Handoff)) == 2  # the two loaded
    assert "Globex" in bot.command("/win", "A3 saved the renewal #cs").body["text"]


def test_win_errors_say_what_to_type(bot: Bot, data: Database) -> None:
    assert "not in the people list" in bot.command("/win", "A1 saved it <@UNOBODY|x>").body["text"]
    assert "No single account" in bot.command("/win", "acme saved it #cs").body["text"]
    assert "say what happened" in bot.command("/win", "A1 #cs").body["text"]
    assert (
        "at least one person or team"
        in bot.command("/win", "A1 saved it --not-me", user="USTRANGER").body["text"]
    )
    with data.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Win)) == 0


# --- /scorecard, /sla, /handoff --------------------------------------------------------------------


def test_scorecard_and_segments(bot: Bot) -> None:
    r = bot.command("/scorecard", "month")
    assert_valid(r.body)
    assert "Shared scorecard" in r.body["text"] and "NRR (12 mo)" in blocks_text(r.body)
    assert "share_scorecard" in blocks_text(r.body)
    r = bot.command("/scorecard", "platinum")
    assert "no segment" in r.body["text"] and "`smb`" in r.body["text"]


def test_sla_mine_team_and_account(bot: Bot) -> None:
    mine = bot.command("/sla", "", user="UANA")
    assert "H1" in blocks_text(mine.body) and "overdue" in blocks_text(mine.body)
    team = bot.command("/sla", "team", user="UBOSS")
    assert "H1" in blocks_text(team.body) and "H2" in blocks_text(team.body)
    acct = bot.command("/sla", "globex")
    assert "H2" in blocks_text(acct.body) and "H1" not in blocks_text(acct.body)
    assert "no team view" in bot.command("/sla", "team", user="UANA").body["text"]


def test_handoff_parses_every_form(bot: Bot) -> None:
    assert "H1" in blocks_text(bot.command("/handoff", "list acme corp").body)
    assert "Only the owner" in bot.command("/handoff", "done H1", user="UBOB").body["text"]
    assert "is done" in bot.command("/handoff", "done H1").body["text"]  # UANA owns it
    assert "already done" in bot.command("/handoff", "done H1").body["text"]
    assert "There is no handoff" in bot.command("/handoff", "done NOPE").body["text"]
    assert "no SLA policy for `sales_to_cs`" in bot.command("/handoff", "open A1 sales_to_cs").body["text"]
    assert "needs more" in bot.command("/handoff", "pause H1").body["text"]
    assert "needs an account and a kind" in bot.command("/handoff", "open acme").body["text"]


# --- buttons -------------------------------------------------------------------------------------


def test_share_in_channel_posts_once(bot: Bot, data: Database) -> None:
    with data.read() as s:
        a1 = s.scalar(select(m.Account.id).where(m.Account.external_id == "A1"))
    for _ in range(2):
        assert bot.press("share_health", json.dumps({"account_id": a1})).status == 200
    posts = [c for c in bot.fake.transcript if c["method"] == "response_url"]
    shared = [c["args"] for c in posts if c["args"].get("response_type") == "in_channel"]
    assert len(shared) == 1 and "Shared by <@UANA>" in json.dumps(shared[0]["blocks"])
    assert [c["args"].get("delete_original") for c in posts].count(True) == 1
    assert all(c["ok"] for c in posts)


def test_choosing_an_account_replaces_the_choices(bot: Bot, data: Database) -> None:
    with data.read() as s:
        a2 = s.scalar(select(m.Account.id).where(m.Account.external_id == "A2"))
    bot.press("pick_account_1", json.dumps({"account_id": a2}))
    (post,) = [c["args"] for c in bot.fake.transcript if c["method"] == "response_url"]
    assert post["replace_original"] is True and "Acme Logistics" in json.dumps(post["blocks"])


# --- App Home and event retries ------------------------------------------------------------------


def test_app_home_is_published_once_per_event(bot: Bot) -> None:
    event = {"type": "app_home_opened", "user": "UANA", "channel": "D1", "tab": "home"}
    assert bot.event(event, "Ev001").status == 200
    assert bot.event(event, "Ev001", retry=1).status == 200  # Slack's retry: no second side effect
    (call,) = bot.fake.calls("views.publish")
    view = json.loads(call["view"]) if isinstance(call["view"], str) else call["view"]
    assert view["type"] == "home" and "Acme Corp" in json.dumps(view) and "H1" in json.dumps(view)
    assert message_problems(view["blocks"], None, view=True) == []


def test_dead_token_disables_only_this_workspace(bot: Bot, data: Database) -> None:
    bot.fake.fail("views.publish", "account_inactive")
    bot.event({"type": "app_home_opened", "user": "UANA", "tab": "home"}, "Ev002")
    with data.read() as s:
        reasons = dict(s.execute(select(m.Workspace.slug, m.Workspace.disabled_reason)).all())
    assert "reinstall" in (reasons["test"] or "")


def test_rate_limited_call_is_retried_after_retry_after(bot: Bot) -> None:
    bot.fake.fail("views.publish", status=429, retry_after=1)
    bot.event({"type": "app_home_opened", "user": "UANA", "tab": "home"}, "Ev003")
    methods = [(c["method"], c["ok"]) for c in bot.fake.transcript if c["method"] == "views.publish"]
    assert methods == [("views.publish", False), ("views.publish", True)]


# --- slow work -----------------------------------------------------------------------------------


def test_slow_answers_follow_through_response_url(data: Database, fake: FakeSlack) -> None:
    slow = Bot(data, fake, answer_budget=0.0)
    try:
        r = slow.command("/health", "globex")
        assert r.status == 200 and "Working on it" in str(r.body)
        for _ in range(100):
            if fake.calls("response_url"):
                break
            time.sleep(0.05)
        (late,) = fake.calls("response_url")
        assert late["replace_original"] is True and "Globex" in json.dumps(late["blocks"])
    finally:
        slow.close()


# --- ingest API, health --------------------------------------------------------------------------


def test_ingest_api(bot: Bot, data: Database) -> None:
    records = [{"account": "A3", "month": "2026-09", "mrr": "4000"}]
    assert bot.ingest("revenue", records, token=None).status == 401
    assert bot.ingest("revenue", records, token="wrong").status == 401
    ok = bot.ingest("revenue", records)
    assert ok.status == 200 and ok.body == {"kind": "revenue", "inserted": 1, "updated": 0, "unchanged": 0}
    assert bot.ingest("revenue", records).body["unchanged"] == 1
    bad = bot.ingest(
        "revenue",
        [
            {"account": "A3", "month": "2026-08", "mrr": "1"},
            {"account": "A3", "month": "2026-07", "mrr": "x"},
            {"account": "NOPE", "month": "2026-08", "mrr": "5"},
            "not an object",
        ],
    )
    assert bad.status == 422 and bad.body["total_errors"] == 3
    assert {(e["index"], e["field"]) for e in bad.body["errors"]} == {
        (1, "mrr"),
        (2, "account"),
        (3, "record"),
    }
    with data.read() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(m.MrrSnapshot)
                .where(m.MrrSnapshot.month == __import__("datetime").date(2026, 8, 1))
            )
            == 0
        )
    assert bot.ingest("planets", []).status == 404
    huge = b'["' + b"x" * (11 * 1024 * 1024) + b'"]'
    big = bot.http(
        "/api/v1/ingest/revenue",
        huge,
        {"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/json"},
    )
    assert big.status == 413 and "split the batch" in big.body["detail"]


def test_openapi_and_healthz(bot: Bot) -> None:
    spec = bot.http("/api/v1/openapi.json", method="GET")
    assert spec.status == 200 and "/api/v1/ingest/revenue" in spec.body["paths"]
    assert "RevenueRecord" in spec.body["components"]["schemas"]
    assert bot.http("/healthz", method="GET").body == {"status": "ok"}


# --- digest subscriptions ------------------------------------------------------------------------


def test_scorecard_subscriptions_are_for_admins(bot: Bot, data: Database) -> None:
    refused = bot.command("/scorecard", "subscribe <#C0DIGEST|retention>", user="UANA")
    assert "Only admins" in refused.body["text"]
    ok = bot.command(
        "/scorecard", "subscribe <#C0DIGEST|retention> tue 08:30 America/New_York smb", user="UADMIN"
    )
    assert (
        "<#C0DIGEST> gets the weekly scorecard: Tuesdays at 08:30 America/New_York, segment smb"
        in ok.body["text"]
    )
    listed = bot.command("/scorecard", "subscriptions", user="UANA")
    assert "<#C0DIGEST>" in listed.body["text"]
    plain = bot.command("/scorecard", "subscribe #retention", user="UADMIN")
    assert "autocomplete" in plain.body["text"]
    bad = bot.command("/scorecard", "subscribe <#C0DIGEST> Mars/Base", user="UADMIN")
    assert "not an IANA time zone" in bad.body["text"]
    here = bot.command("/scorecard", "subscribe", user="UADMIN")  # no channel: the one it was typed in
    assert "<#C0CHAN>" in here.body["text"] and "Mondays at 09:00 UTC" in here.body["text"]
    gone = bot.command("/scorecard", "unsubscribe <#C0DIGEST|retention>", user="UADMIN")
    assert "no longer" in gone.body["text"]
    with data.read() as s:
        assert s.scalars(select(m.DigestSubscription.channel_id)).all() == ["C0CHAN"]
