"""`retention-bot digest preview`: the message as a person reads it (headers, aligned tables, plain
words, the thread reply after), `--json` unchanged, `--charts DIR` writing the pictures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.render import blocks_text, mrkdwn_plain
from storage.db import Database
from tests.support.charts_data import load_accounts_and_revenue

AS_OF = "2026-11-23"


def test_mrkdwn_reads_as_plain_words() -> None:
    text = (
        "*Shared wins* :trophy:\n• *Acme &amp; Co* _renewal_: see <https://x.io/a|the deal> "
        "~old~ `/wins` <@U1>"
    )
    assert (
        mrkdwn_plain(text)
        == "Shared wins 🏆\n• Acme & Co renewal: see the deal (https://x.io/a) old /wins @U1"
    )
    assert mrkdwn_plain("2 * 3 and snake_case_name stay") == "2 * 3 and snake_case_name stay"
    assert mrkdwn_plain("&lt;!channel&gt; shows literally") == "<!channel> shows literally"


def test_a_table_block_is_aligned_with_right_aligned_numbers() -> None:
    table = {
        "type": "table",
        "column_settings": [{"is_wrapped": True}, {"align": "right"}],
        "rows": [
            [{"type": "raw_text", "text": "KPI"}, {"type": "raw_text", "text": "Value"}],
            [{"type": "raw_text", "text": "NRR (12 mo)"}, {"type": "raw_text", "text": "83.3%"}],
            [{"type": "raw_text", "text": "CLV"}, {"type": "raw_text", "text": "$157.1k"}],
        ],
    }
    header = {"type": "header", "text": {"type": "plain_text", "text": "Title"}}
    context = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "a *b*"}, {"type": "mrkdwn", "text": "c"}],
    }
    assert blocks_text([header, table, context]) == [
        "Title",
        "=====",
        "",
        "KPI            Value",
        "-----------  -------",
        "NRR (12 mo)    83.3%",
        "CLV          $157.1k",
        "",
        "  a b · c",
        "",
    ]


@pytest.fixture
def env(db: Database, ws: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    load_accounts_and_revenue(db, ws, tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "test")
    return tmp_path


def test_preview_reads_like_the_message_then_its_thread(env: Path) -> None:
    result = CliRunner().invoke(cli, ["digest", "preview", "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    title = "Retention scorecard — week 47 of 2026 (Nov 16 – Nov 22)"
    assert lines[:2] == [title, "=" * len(title)]
    kpi = next(i for i, line in enumerate(lines) if line.startswith("KPI "))
    assert lines[kpi + 1].startswith("-----")
    nrr = next(line for line in lines if line.startswith("NRR (12 mo)"))
    assert "83.3%" in nrr and "leadership, revops" in nrr
    # Right-aligned values end in the same column.
    value_end = {lines[k].index("%", 20) for k in (kpi + 2, kpi + 3)}
    assert len(value_end) == 1
    assert "Health movers" in lines and "*" not in result.stdout and "&amp;" not in result.stdout
    thread = lines.index("── in the thread ──")
    assert thread > kpi and "Why some KPIs are n/a or partial" in lines[thread:]
    assert "  • NRR and GRR, 12 months" in lines and "  • Logo retention by start quarter" in lines
    assert "{" not in result.stdout  # no JSON


def test_preview_json_is_unchanged_and_charts_are_written(env: Path) -> None:
    out = env / "charts"
    result = CliRunner().invoke(cli, ["digest", "preview", "--as-of", AS_OF, "--json", "--charts", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # stdout stays one JSON document
    assert set(payload) == {"message", "thread_reply"} and payload["message"]["channel"] == "CHANNEL_ID"
    written = sorted(p.name for p in out.iterdir())
    assert written == ["cohort-retention-2026-W47.png", "nrr-grr-2026-W47.png"]  # no snapshots: no bands
    assert all((out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in written)
    assert "Latest: NRR 83%, GRR 67%" in result.stderr


def test_preview_charts_without_data_says_so(
    db: Database, ws: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.helpers import load

    load(db, ws, "accounts", "external_id,name,segment\nA,Alpha,ent\n", tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "test")
    result = CliRunner().invoke(cli, ["digest", "preview", "--as-of", AS_OF, "--charts", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "no charts: no revenue, health snapshots or cohorts yet" in result.stderr
    assert "charts in the thread" not in result.stdout
