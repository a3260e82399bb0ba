"""The weekly digest shows each KPI's target and status and marks its change good or bad; revenue
KPIs say which month they describe instead of "= 0.0 pts"; small samples are named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from digests.digest import context, render
from services.digest import weekly
from services.policies import Policies
from storage.db import Database
from storage.workspaces import find_workspace
from tests.support import NOW

AS_OF = dt.date(2026, 11, 23)  # a Monday: the week of Nov 16–22, revenue month October


@pytest.fixture
def demo(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Database, int]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "test")
    result = CliRunner().invoke(
        cli, ["demo-data", "--accounts", "80", "--as-of", AS_OF.isoformat(), "--usage-days", "35"]
    )
    assert result.exit_code == 0, result.output
    assert "targets" in result.output
    with db.read() as s:
        ws = find_workspace(s, "test")
    assert ws is not None
    return db, ws


def test_digest_table_has_targets_statuses_and_good_or_bad_moves(demo: tuple[Database, int]) -> None:
    db, ws = demo
    facts = weekly(db, ws, as_of=AS_OF, now=NOW, policies=Policies())
    message = render(context(facts))
    assert message.problems == []
    (table,) = [b for b in message.blocks if b["type"] == "table"]
    header, *rows = [[cell["text"] for cell in row] for row in table["rows"]]
    assert header == ["KPI", "Value", "Target", "Change", "Owners"]
    by_label = {row[0]: row for row in rows}
    # The demo data's targets give every status (services.goals.seed_demo_targets).
    statuses = {k.status for k in facts.card.kpis}
    assert {"on_track", "at_risk", "off_track", "no_target"} <= statuses
    for k in facts.card.kpis:
        cell = by_label[k.label][2]
        words = {"on_track": "🟢 on track", "at_risk": "🟡 at risk", "off_track": "🔴 off track"}
        assert cell.startswith(words.get(k.status, "⚪"))
    # Revenue KPIs on a weekly digest: October's figure, not "= 0.0 pts".
    for label in ("NRR (12 mo)", "GRR (12 mo)", "Logo churn", "CLV"):
        assert by_label[label][3] == "Oct 2026 figure · changes monthly"
    moved = [k for k in facts.card.kpis if k.good is not None]
    assert moved
    for k in moved:
        assert by_label[k.label][3].endswith("good" if k.good else "bad")
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "marked good or bad" in text


def test_a_small_sample_is_named_in_the_value() -> None:
    from blocks import goals as goal_words
    from services.scorecard import Kpi, Value

    two = Kpi("save_rate", "Save rate", "ratio", ("cs",), Value(0.5), Value(1.0), sample=(2, "flags"))
    one = Kpi("save_rate", "Save rate", "ratio", ("cs",), Value(1.0), Value(1.0), sample=(1, "flags"))
    many = Kpi("save_rate", "Save rate", "ratio", ("cs",), Value(0.5), Value(1.0), sample=(10, "flags"))
    assert goal_words.value(two, "USD") == "50.0% (from 2 flags)"
    assert goal_words.value(one, "USD") == "100.0% (from 1 flag)"
    assert goal_words.value(many, "USD") == "50.0%"


def test_the_thread_says_why_a_change_is_missing(demo: tuple[Database, int]) -> None:
    """Every KPI whose change reads n/a has a reason in the thread: its own, or the period before's."""
    db, ws = demo
    facts = weekly(db, ws, as_of=AS_OF, now=NOW, policies=Policies())
    thread = json.dumps(render(context(facts)).thread_blocks, ensure_ascii=False)
    assert "Why some KPIs are n/a or partial" in thread
    missing = [k for k in facts.card.kpis if k.change is None and k.month is None]
    for k in missing:
        assert f"*{k.label}*" in thread, k.label
    # The demo's week has such KPIs (the week before had no first-value date, say): said, not hidden.
    assert any(not k.current.reason for k in missing)
    assert "no change to show — the week before" in thread and "All KPIs are defined" not in thread
