"""The weekly digest: gathered from real data, rendered by the templates, within Slack's limits."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from blocks.text import message_problems
from bot.cli import cli
from digests.digest import DigestError, context, render
from services.digest import weekly
from services.policies import Policies
from storage.db import Database
from tests.support import NOW
from tests.support.helpers import load

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture
def demo(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Database, int]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "test")
    result = CliRunner().invoke(
        cli, ["demo-data", "--accounts", "80", "--as-of", AS_OF.isoformat(), "--usage-days", "35"]
    )
    assert result.exit_code == 0, result.output
    from storage.workspaces import find_workspace

    with db.read() as s:
        return db, find_workspace(s, "test")  # type: ignore[return-value]


def digest_of(db: Database, ws: int, templates: Path | None = None):
    facts = weekly(db, ws, as_of=AS_OF, now=NOW, policies=Policies())
    return render(context(facts), templates)


def test_digest_from_demo_data_is_complete_and_valid(demo: tuple[Database, int]) -> None:
    message = digest_of(*demo)
    assert message.problems == []
    assert len(message.blocks) <= 50 and message_problems(message.blocks, message.text) == []
    (table,) = [b for b in message.blocks if b["type"] == "table"]
    assert [row[0]["text"] for row in table["rows"]][:3] == ["KPI", "NRR (12 mo)", "GRR (12 mo)"]
    assert len(table["rows"]) == 18 and all(len(r) == 5 for r in table["rows"])
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "week 47 of 2026" in message.blocks[0]["text"]["text"]
    assert "Health movers" in text and "→" in text and "Handoff SLAs" in text and "Shared wins" in text
    assert "Retention scorecard" in message.text
    assert "All SLA breaches" in json.dumps(message.thread_blocks)
    assert "Cohort retention" in json.dumps(message.thread_blocks)


def test_user_text_is_escaped_and_long_lists_say_how_many_more(db: Database, ws: int, tmp_path: Path) -> None:
    load(db, ws, "people", "email,name,team\nana@x.io,Ana,cs\n", tmp_path)
    load(db, ws, "accounts", "external_id,name,segment\nA1,<!channel> Evil & Co,smb\n", tmp_path)
    wins = "\n".join(
        json.dumps(
            {
                "external_id": f"w{i}",
                "account": "A1",
                "kind": "save",
                "text": f"<https://evil.example|Jira> {i}",
                "won_on": "2026-11-18",
                "credited_people": ["ana@x.io"],
                "credited_teams": ["support"],
            }
        )
        for i in range(250)  # more than any list query returns (WINS_LIMIT): counts still exact
    )
    load(db, ws, "wins", wins, tmp_path, ".jsonl")
    message = digest_of(db, ws)
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert message.problems == []
    assert (
        "<!channel>" not in text and "<https://evil" not in text and "&lt;!channel&gt; Evil &amp; Co" in text
    )
    assert "…and 242 more (in the thread)" in text
    assert "Contributions by team: cs 250, support 250" in text  # each win once per team
    thread = json.dumps(message.thread_blocks, ensure_ascii=False)
    assert "*All shared wins*" in thread and "…and 225 more — `/wins last week` lists them" in thread


def test_operators_can_override_templates(demo: tuple[Database, int], tmp_path: Path) -> None:
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "digest.json.j2").write_text(
        '[{"type": "section", "text": {"type": "mrkdwn", "text": {{ ("Our week: " ~ period) | tojson }}}}]'
    )
    message = digest_of(*demo, templates=custom)
    assert message.blocks == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Our week: week 47 of 2026 (Nov 16 – Nov 22)"}}
    ]
    assert "All SLA breaches" in json.dumps(
        message.thread_blocks
    )  # the packaged detail template still applies
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "digest.json.j2").write_text("[{ not json")
    with pytest.raises(DigestError, match="digest template error"):
        digest_of(*demo, templates=broken)


def test_preview_prints_the_post_arguments(demo: tuple[Database, int]) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["digest", "preview", "--as-of", AS_OF.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["message"]["channel"] == "CHANNEL_ID" and payload["message"]["unfurl_links"] is False
    assert payload["thread_reply"]["thread_ts"] == "TS_OF_MESSAGE"
    missing = runner.invoke(cli, ["digest", "preview", "--channel", "C0NOPE"])
    assert missing.exit_code == 1 and "has no digest subscription" in missing.stderr


def test_the_monthly_pack_has_the_cut_by_source_in_its_thread(demo: tuple[Database, int]) -> None:
    db, ws = demo
    monthly = render(context(weekly(db, ws, as_of=AS_OF, now=NOW, policies=Policies(), period_kind="month")))
    assert monthly.problems == []
    tables = [b for b in monthly.thread_blocks if b["type"] == "table"]
    assert len(tables) == 1
    header, *rows = tables[0]["rows"]
    assert [c["text"] for c in header][:3] == ["source", "accounts", "churn"]
    assert rows and all(len(r) == len(header) for r in rows)
    assert "*By acquisition source* — October 2026" in json.dumps(monthly.thread_blocks, ensure_ascii=False)
    weekly_digest = digest_of(db, ws)
    assert not [b for b in weekly_digest.thread_blocks if b["type"] == "table"]
