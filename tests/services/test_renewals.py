"""Renewals coming up, worst first: the window's bounds, ARR from the latest complete MRR month (as
/health shows it), the risk tier (services.risk), health, open plays and owners; and the same list through
`/renewals` (a private reply, escaped names) and `retention-bot renewals --json`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from services import plays, renewals
from services.policies import Policies
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support import NOW
from tests.support import plays_data as d
from tests.support.slack_harness import Bot

TODAY = NOW.date()  # 2026-11-23
SNAP = TODAY - dt.timedelta(days=1)
POLICY = """
[[plays]]
key = "call"
title = "Save call"
owner = "csm"
"""
POLICIES = Policies.model_validate({"plays": [{"key": "call", "title": "Save call", "owner": "csm"}]})


@pytest.fixture
def data(db: Database, ws: int) -> Database:
    with db.write() as s:
        ana = d.person(s, ws, "Ana", "cs", "UANA")
        bob = d.person(s, ws, "Bob", "sales", None)

        def acc(
            ext: str, name: str, renews: dt.date, mrr: str | None, health: tuple[float, str] | None
        ) -> int:
            a = d.account(s, ws, ext, name=name, renewal_on=renews, csm_id=ana, ae_id=bob)
            if mrr is not None:
                d.mrr(s, ws, a, dt.date(2026, 10, 1), mrr)  # the latest complete month
            if health is not None:
                d.health(s, ws, a, SNAP, *health)
            return a

        r1 = acc("R1", "Red <!channel> Rocket", dt.date(2027, 1, 10), "1000", (30, "red"))
        d.mrr(s, ws, r1, dt.date(2026, 9, 1), "500")  # older
        d.mrr(s, ws, r1, dt.date(2026, 11, 1), "9999")  # this month, not complete: not its ARR yet
        r2 = acc("R2", "Flagged", dt.date(2026, 12, 1), "2000", (80, "green"))
        d.flag(s, ws, r2, dt.date(2026, 11, 1))  # open risk flag: high
        acc("R3", "Yellow", dt.date(2026, 12, 20), "500", (55, "yellow"))
        acc("R4", "Green Big", dt.date(2026, 12, 5), "10000", (90, "green"))
        acc("R5", "No Data", TODAY + dt.timedelta(days=90), None, None)  # the last day of the window
        acc("R6", "Later", TODAY + dt.timedelta(days=91), "100", (20, "red"))  # one day out of it
        acc("R7", "Past", TODAY - dt.timedelta(days=1), "100", (20, "red"))  # renewed yesterday
    plays.open_play(
        db, ws, "R1", "call", user_id="UANA", admins=(), policies=POLICIES, now=NOW, notify=plays.no_notify
    )
    return db


def test_worst_first_within_the_window(data: Database, ws: int) -> None:
    found = renewals.upcoming(data, ws, days=90, today=TODAY, policies=POLICIES)
    order = [(r.external_id, r.tier, r.score, r.arr) for r in found.rows]
    assert order == [
        ("R1", "high", 30, Decimal("12000")),  # red, health 30
        ("R2", "high", 80, Decimal("24000")),  # open flag, health 80
        ("R3", "medium", 55, Decimal("6000")),
        ("R4", "low", 90, Decimal("120000")),
        ("R5", "low", None, None),  # no score after the scored ones of its tier
    ]
    r1 = found.rows[0]
    assert r1.days_left == 48 and r1.csm == "Ana" and r1.csm_slack == "UANA" and r1.ae == "Bob"
    assert [(p.key, p.title, p.state, p.owner) for p in r1.plays] == [("call", "Save call", "open", "Ana")]
    assert found.arr_total == Decimal("162000") and found.arr_at("high") == Decimal("36000")
    wider = renewals.upcoming(data, ws, days=91, today=TODAY, policies=POLICIES)
    assert [r.external_id for r in wider.rows][:2] == ["R6", "R1"]  # red, health 20: the worst
    with pytest.raises(renewals.BadWindow, match="between 1 and 730"):
        renewals.upcoming(data, ws, days=0, today=TODAY, policies=POLICIES)


@pytest.fixture
def bot(data: Database, fake: FakeSlack, tmp_path: Path) -> Iterator[Bot]:
    config = tmp_path / "policy.toml"
    config.write_text(POLICY, encoding="utf-8")
    b = Bot(data, fake, RETENTION_BOT_CONFIG=str(config))
    yield b
    b.close()


def test_renewals_in_slack_is_private_and_escaped(bot: Bot) -> None:
    reply = bot.command("/renewals", "", user="UEVE").body
    assert reply["text"] == "Renewals in the next 90 days" and reply.get("response_type") != "in_channel"
    body = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "5 accounts · $162,000 ARR · $36,000 at high risk" in body
    assert body.index("Red &lt;!channel&gt; Rocket") < body.index("Flagged") < body.index("Green Big")
    assert "<!channel>" not in body and "risk *high* · health 30 red" in body
    assert "Owners: CSM <@UANA>, AE Bob" in body and "Open plays: Save call (<@UANA>, open" in body
    assert "Later" not in body and "Past" not in body
    assert "Later" in json.dumps(bot.command("/renewals", "91").body["blocks"])
    assert "not a number of days" in bot.command("/renewals", "soon").body["text"]
    assert "outside 1–730" in bot.command("/renewals", "1000").body["text"]


def test_renewals_cli_json_and_bad_days(
    data: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "policy.toml"
    config.write_text(POLICY, encoding="utf-8")
    env = {"DATABASE_URL": data.url, "RETENTION_BOT_WORKSPACE": "test", "RETENTION_BOT_CONFIG": str(config)}
    args = ["renewals", "--days", "90", "--json", "--as-of", TODAY.isoformat()]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["arr_total"] == "162000.00" and [a["account"] for a in payload["accounts"]] == [
        "R1", "R2", "R3", "R4", "R5",
    ]  # fmt: skip
    assert payload["accounts"][0]["open_plays"][0]["key"] == "call"
    wide = {**env, "COLUMNS": "250"}
    table = CliRunner().invoke(cli, ["renewals", "--as-of", TODAY.isoformat()], env=wide)
    assert (
        table.exit_code == 0
        and "Red <!channel> Rocket" in table.stdout
        and "$36,000 at high risk" in table.stdout
    )
    bad = CliRunner().invoke(cli, ["renewals", "--days", "0"], env=env)
    assert bad.exit_code == 2 and "days must be between 1 and 730" in bad.output
