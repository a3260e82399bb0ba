"""/scorecard owners, /scorecard target and /scorecard targets end to end: signed requests to the real
server, the fake Slack Web API, a real database (SQLite and PostgreSQL). Only admins set targets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from blocks.text import message_problems
from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.data import ACCOUNTS, PEOPLE
from tests.support.helpers import load
from tests.support.slack_harness import Bot


@pytest.fixture
def data(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    rows = ["account,month,mrr", "A1,2026-09,1000", "A3,2026-09,5000", "A1,2026-10,1200", "A3,2026-10,5000"]
    load(db, ws, "revenue", "\n".join(rows) + "\n", tmp_path)
    return db


@pytest.fixture
def bot(data: Database, fake: FakeSlack) -> Iterator[Bot]:
    # A generous answer budget: on a loaded machine a reply must still come in the response, which is
    # what these tests read (the response_url path is tested in test_slack.py).
    b = Bot(data, fake, answer_budget=20)
    yield b
    b.close()


def text_of(reply: dict[str, Any]) -> str:
    return reply["text"] + json.dumps(reply.get("blocks", []), ensure_ascii=False)


def changes(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(m.KpiTargetChange)) or 0


def test_a_non_admin_cannot_set_or_clear_a_target(bot: Bot, data: Database) -> None:
    refused = bot.command("/scorecard", "target nrr 110% quarter", user="UANA")
    assert refused.status == 200 and "Only admins can set KPI targets" in refused.body["text"]
    refused = bot.command("/scorecard", "target nrr clear", user="UBOB")
    assert "Only admins" in refused.body["text"]
    assert changes(data) == 0


def test_an_admin_sets_a_target_everyone_sees_it(bot: Bot, data: Database) -> None:
    ok = bot.command("/scorecard", "target nrr 110% quarter", user="UADMIN")
    assert "NRR (12 mo)* target: 110.0% (quarter, every segment)" in ok.body["text"]
    assert "none → 110.0%" in ok.body["text"] and "<@UADMIN>" in ok.body["text"]
    again = bot.command("/scorecard", "target nrr 110% quarter", user="UADMIN")
    assert "Nothing changed" in again.body["text"]
    seg = bot.command("/scorecard", "target save_rate 60% month enterprise", user="UADMIN")
    assert "month, segment enterprise" in seg.body["text"]
    assert changes(data) == 2

    owners = bot.command("/scorecard", "owners", user="UANA")
    assert message_problems(owners.body["blocks"], owners.body["text"]) == []
    body = text_of(owners.body)
    assert "Revenue retention" in body and "leadership, revops" in body
    assert "quarter 110.0% (set by <@UADMIN>" in body and "segment enterprise 60.0%" in body

    listed = bot.command("/scorecard", "targets", user="UANA")
    assert "Save rate month, segment enterprise: none → 60.0%" in listed.body["text"]

    cleared = bot.command("/scorecard", "target nrr clear quarter", user="UADMIN")
    assert "target cleared (quarter, every segment)" in cleared.body["text"]
    assert "110.0% → cleared" in cleared.body["text"]
    assert changes(data) == 3


def test_bad_targets_say_what_to_type_and_write_nothing(bot: Bot, data: Database) -> None:
    assert "unknown KPI 'nps'" in bot.command("/scorecard", "target nps 50%", user="UADMIN").body["text"]
    assert "write a percentage" in bot.command("/scorecard", "target nrr 110", user="UADMIN").body["text"]
    unknown = bot.command("/scorecard", "target nrr 110% platinum", user="UADMIN")
    assert "platinum" in unknown.body["text"] and "`smb`" in unknown.body["text"]
    assert "Which KPI" in bot.command("/scorecard", "target", user="UADMIN").body["text"]
    assert changes(data) == 0


def test_the_scorecard_shows_target_and_status(bot: Bot) -> None:
    bot.command("/scorecard", "target logo_churn 2% month", user="UADMIN")  # October's churn: 0 of 2
    bot.command("/scorecard", "target nrr 110% month", user="UADMIN")  # nobody paid in Oct 2025: n/a
    card = bot.command("/scorecard", "month", user="UANA")
    assert message_problems(card.body["blocks"], card.body["text"]) == []
    body = text_of(card.body)
    assert "🟢 on track · target 2.0%" in body
    assert "⚪ n/a · target 110.0%" in body
    assert "⚪ no target" in body  # the KPIs without one say so


def test_app_home_shows_targets_and_status(bot: Bot) -> None:
    bot.command("/scorecard", "target logo_churn 2% week", user="UADMIN")
    bot.event({"type": "app_home_opened", "user": "UANA", "channel": "D1", "tab": "home"}, "EvGoals1")
    (call,) = bot.fake.calls("views.publish")
    view = json.loads(call["view"]) if isinstance(call["view"], str) else call["view"]
    body = json.dumps(view, ensure_ascii=False)
    assert "target 2.0%" in body and "⚪ no target" in body
    assert "Oct 2026 figure · changes monthly" in body  # the week of Nov 23: revenue is October's
    assert message_problems(view["blocks"], None, view=True) == []
