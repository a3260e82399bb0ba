"""The review of shared goals in Slack, end to end (signed requests to the real server, the fake
Slack Web API, SQLite and PostgreSQL): who may set a target and what is written, what applies after a
clear, and hostile names — a capability from the policy file, a segment, account, people and win
texts — escaped exactly once in the owner matrix and the team view (``/scorecard team cs``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from blocks.text import message_problems
from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.blocks.test_hostile_text import ACCOUNTS, ACME, ANA, EVE, HANDOFFS, PEOPLE, WIN, problems
from tests.support import NOW
from tests.support.helpers import load
from tests.support.slack_harness import Bot

CAPABILITY = "<!channel> Revenue & co EVIL-C1"
SEGMENT = "<!here>&co"
POLICY = f"""
[kpis.nrr]
capability = "{CAPABILITY}"
targets = {{ quarter = 1.05 }}

[kpis.nrr.segments."{SEGMENT}"]
quarter = 1.2
"""


@pytest.fixture
def bot(db: Database, ws: int, fake: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    load(db, ws, "handoffs", HANDOFFS, tmp_path)
    revenue = ["account,month,mrr"] + [f"A1,2026-{mo:02d},1000" for mo in range(1, 11)]
    load(db, ws, "revenue", "\n".join(revenue) + "\n", tmp_path)
    win = {
        "external_id": "w1",
        "account": "A1",
        "kind": "save",
        "text": WIN,
        "won_on": "2026-11-18",
        "credited_people": ["eve@x.io", "ana@x.io"],
        "credited_teams": ["cs"],
    }
    load(db, ws, "wins", json.dumps(win), tmp_path, ".jsonl")
    with db.write() as s:  # A1 (Ana's and Eve's) is red: the team view lists it by name
        for account in s.scalars(select(m.Account).where(m.Account.workspace_id == ws)):
            s.add(
                m.HealthSnapshot(
                    workspace_id=ws,
                    account_id=account.id,
                    day=NOW.date() - dt.timedelta(days=1),
                    score=20.0,
                    band="red",
                    components={},
                )
            )
    config = tmp_path / "policy.toml"
    config.write_text(POLICY, encoding="utf-8")
    b = Bot(db, fake, answer_budget=20, RETENTION_BOT_CONFIG=str(config))
    yield b
    b.close()


def rows(db: Database) -> list[tuple[str, str, str, str | None, Decimal | None, str]]:
    with db.read() as s:
        t = m.KpiTargetChange
        found = s.execute(
            select(t.kpi, t.period_kind, t.layer, t.segment, t.new_value, t.changed_by).where(
                t.layer == "set"
            )
        ).all()
    return [tuple(r) for r in found]  # type: ignore[misc]


def text_of(reply: dict[str, Any]) -> str:
    return reply["text"] + json.dumps(reply.get("blocks", []), ensure_ascii=False)


def test_only_an_admin_sets_a_target_and_a_clear_says_what_applies(bot: Bot, db: Database) -> None:
    refused = bot.command("/scorecard", "target nrr 110% quarter", user="UANA")
    assert refused.status == 200 and "Only admins can set KPI targets" in refused.body["text"]
    assert rows(db) == []  # nothing written
    huge = bot.command("/scorecard", "target clv $99999999999M month", user="UADMIN")
    assert "at most 1,000,000,000,000" in huge.body["text"] and "Traceback" not in huge.body["text"]
    assert rows(db) == []

    ok = bot.command("/scorecard", "target nrr 110% quarter", user="UADMIN")
    assert "NRR (12 mo)* target: 110.0% (quarter, every segment)" in ok.body["text"]
    assert rows(db) == [("nrr", "quarter", "set", None, Decimal("1.1"), "UADMIN")]

    cleared = bot.command("/scorecard", "target nrr clear quarter", user="UADMIN")
    assert (
        "target cleared (quarter, every segment); the policy file's 105.0% applies." in cleared.body["text"]
    )
    assert "110.0% → cleared" in cleared.body["text"]
    everything = bot.command("/scorecard", "target nrr clear", user="UADMIN")
    assert (
        "no target applies (week, month); the policy file's 105.0% applies (quarter)"
        in everything.body["text"]
    )


def test_hostile_names_are_escaped_in_the_owner_matrix_and_the_team_view(bot: Bot) -> None:
    owners = bot.command("/scorecard", "owners", user="UANA").body
    team = bot.command("/scorecard", "team cs", user="UANA").body
    for reply in (owners, team):
        assert message_problems(reply["blocks"], reply["text"]) == []
        assert problems(reply) == []
    matrix = text_of(owners)
    assert "&lt;!channel&gt; Revenue &amp; co EVIL-C1" in matrix
    assert "segment &lt;!here&gt;&amp;co 120.0%" in matrix
    view = text_of(team)
    assert "The cs team's part" in view
    assert "&lt;!channel&gt; Acme EVIL-A1 &amp; &lt;@UEVILA1&gt;" in view  # the red account, its handoffs
    assert ACME not in view and "<!channel>" not in view
    assert "EVIL-W1" in view and "EVIL-P1" not in view  # the win shows (escaped); Bea is not cs
    assert "&lt;@UEVILP2&gt; Ana &amp; co" in view  # a handoff owner
    for raw in (ANA, EVE, WIN):
        assert raw not in view
