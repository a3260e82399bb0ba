"""The ingest API takes accounts' source and campaign (its OpenAPI document says so, being built from the
record models), and revenue sent through it keeps the revenue facts right."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import models as m
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.helpers import load
from tests.support.slack_harness import Bot


@pytest.fixture
def bot(db: Database, ws: int, tmp_path: Path) -> Iterator[Bot]:
    load(db, ws, "accounts", "external_id,name,segment\nA1,Acme,smb\n", tmp_path)
    with FakeSlack() as fake:
        b = Bot(db, fake)
        yield b
        b.close()


def test_source_and_campaign_through_the_ingest_api(bot: Bot, db: Database) -> None:
    reply = bot.ingest(
        "accounts",
        [
            {
                "external_id": "A1",
                "name": "Acme",
                "segment": "smb",
                "source": "partner",
                "campaign": "summit-26",
            }
        ],
    )
    assert reply.status == 200, reply.body
    with db.read() as s:
        acc = s.scalars(select(m.Account).where(m.Account.external_id == "A1")).one()
    assert (acc.source, acc.campaign) == ("partner", "summit-26")
    too_long = bot.ingest(
        "accounts", [{"external_id": "A1", "name": "Acme", "segment": "smb", "source": "x" * 65}]
    )
    assert too_long.status == 422
    doc = json.dumps(bot.http("/api/v1/openapi.json", method="GET").body)
    assert '"campaign"' in doc and '"source"' in doc


def test_revenue_through_the_ingest_api_keeps_the_facts(bot: Bot, db: Database) -> None:
    for body in (
        [
            {"account": "A1", "month": "2026-09", "mrr": "100"},
            {"account": "A1", "month": "2026-10", "mrr": "150"},
        ],
        [{"account": "A1", "month": "2026-10", "mrr": "0"}],  # October changes: churn, not expansion
    ):
        assert bot.ingest("revenue", body).status == 200
    with db.read() as s:
        moves = {r.month: r.movement for r in s.scalars(select(m.MrrMovement))}
        october = s.scalars(select(m.RevenueMonth).where(m.RevenueMonth.month == dt.date(2026, 10, 1))).one()
    assert moves[dt.date(2026, 9, 1)] == "new" and moves[dt.date(2026, 10, 1)] == "churn"
    assert (october.paying_before, october.churned, october.expansion) == (1, 1, 0)
