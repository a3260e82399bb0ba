"""/scorecard by source in Slack (signed requests to the real server, a real database) and
`retention-bot scorecard --by` on the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from blocks.text import message_problems
from bot.cli import cli
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.data import PEOPLE
from tests.support.helpers import load
from tests.support.slack_harness import Bot

SOURCES = [f"src-{i:02d}" for i in range(17)] + ["<!channel> & co"]


@pytest.fixture
def data(db: Database, ws: int, tmp_path: Path) -> Database:
    load(db, ws, "people", PEOPLE, tmp_path)
    # src-00 holds 12 accounts (not small); every other source one; one source is hostile text.
    rows = ["external_id,name,segment,closed_won_on,source,campaign"]
    rows += [f"S{i},Big {i},smb,2025-09-01,src-00,launch" for i in range(12)]
    rows += [f"T{i},Tiny {i},smb,2025-09-01,{json.dumps(src)},launch" for i, src in enumerate(SOURCES[1:])]
    load(db, ws, "accounts", "\n".join(rows) + "\n", tmp_path)
    revenue = ["account,month,mrr"] + [f"S{i},2025-10,100\nS{i},2026-10,{110 if i else 0}" for i in range(12)]
    load(db, ws, "revenue", "\n".join(revenue) + "\n", tmp_path)
    return db


@pytest.fixture
def bot(data: Database, fake: FakeSlack) -> Iterator[Bot]:
    b = Bot(data, fake)
    yield b
    b.close()


def test_scorecard_by_source_is_a_table_with_the_top_rows_and_how_many_more(bot: Bot) -> None:
    r = bot.command("/scorecard", "by source month")
    assert r.status == 200
    body = r.body
    assert message_problems(body["blocks"], body["text"]) == []
    (table,) = [b for b in body["blocks"] if b["type"] == "table"]
    header, first, *rest = table["rows"]
    assert [c["text"] for c in header][:4] == ["source", "accounts", "churn", "NRR"]
    # src-00: 12 accounts paying in Oct 2025, 11 at 110 in Oct 2026 → NRR 1,210 / 1,200.
    assert [c["text"] for c in first][:2] == ["src-00", "12"]
    assert first[3]["text"] == "100.8%"
    assert len(rest) == 14 and all(row[0]["text"].endswith(" *") for row in rest)  # 15 rows, small marked
    context = json.dumps(body["blocks"][-1], ensure_ascii=False)
    assert "…and 3 more" in context and "--by source" in context and "fewer than 10 accounts" in context
    assert len(table["rows"]) <= 100 and all(len(row) <= 20 for row in table["rows"])


def test_hostile_source_stays_raw_text_and_bad_cuts_are_refused(bot: Bot) -> None:
    r = bot.command("/scorecard", "by source")
    cells = [row[0] for b in r.body["blocks"] if b["type"] == "table" for row in b["rows"]]
    assert all(c["type"] == "raw_text" for c in cells)  # shown as typed, never parsed as mrkdwn
    assert "<!channel>" not in r.body["text"]

    bad = bot.command("/scorecard", "by colour")
    assert "I can cut the scorecard by source, campaign, ae, csm, segment" in bad.body["text"]
    assert "by source" in json.dumps(bot.command("/scorecard", "help").body)


def test_cli_scorecard_by_source_table_and_json(
    data: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", data.url)
    monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "test")
    runner = CliRunner()
    args = ["scorecard", "--by", "source", "--period", "month", "--as-of", "2026-11-23"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Scorecard by source — November 2026" not in result.output  # as of Nov 23: October
    assert "Scorecard by source — October 2026" in result.output
    assert "src-00" in result.output and "<!channel> & co *" in result.output
    assert "fewer than 10 accounts" in result.output
    data_json = json.loads(runner.invoke(cli, [*args, "--json"]).output)
    assert len(data_json["rows"]) == 18 and data_json["rows"][0]["nrr"] == pytest.approx(1210 / 1200)
    refused = runner.invoke(cli, [*args, "--segment", "smb"])
    assert refused.exit_code != 0 and "--by and --segment" in refused.output


def test_a_hostile_largest_group_is_escaped_in_the_fallback_text() -> None:
    import datetime as dt

    from commands.cuts import cut_blocks
    from services.cuts import Cut, CutRow
    from storage.periods import Period

    row = CutRow("<!channel> & co", 12, 10, 0.1, 1.0, 0.9, 30, 3, 0.5, 2, 0.2, 1, 5)
    reply = cut_blocks(
        Cut("source", dt.date(2026, 11, 23), Period.latest("month", dt.date(2026, 11, 23)), [row])
    )
    assert "&lt;!channel&gt; &amp; co" in reply["text"] and "<!channel>" not in reply["text"]
    assert message_problems(reply["blocks"], reply["text"]) == []
