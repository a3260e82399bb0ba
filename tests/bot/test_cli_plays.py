"""`retention-bot plays list|evaluate|report` and demo-data's plays, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from storage.db import Database

AS_OF = "2026-11-23"


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.delenv("RETENTION_BOT_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_demo_opens_plays_of_every_kind_and_evaluation_is_idempotent(run) -> None:
    code, out, _ = run("demo-data", "--accounts", "120", "--as-of", AS_OF, "--usage-days", "50")
    assert code == 0 and "plays opened (" in out
    opened = out.split("plays opened (", 1)[1]
    for key in ("health_red", "usage_drop", "ticket_spike", "nps_detractor", "first_value", "seats_full"):
        assert key in opened, key
    code, out, _ = run("plays", "evaluate", "--as-of", AS_OF)
    assert code == 0 and "0 plays opened" in out.splitlines()[-1]
    code, out, _ = run("plays", "report", "--as-of", AS_OF, "--json")
    report = json.loads(out)
    assert code == 0 and report["period"]["label"] == "2026-Q3"
    keys = [p["play"] for p in report["plays"]]
    assert keys[:3] == ["health_red", "usage_drop", "ticket_spike"] and "save_call" in keys
    save_call = next(p for p in report["plays"] if p["play"] == "save_call")
    assert save_call["closed"] > 0  # the demo's CRM save calls
    assert report["coverage_as_of"]["at_risk"] > 0
    code, out, _ = run("plays", "report", "--as-of", AS_OF)
    assert code == 0 and "churn risk coverage" in out and "2026-Q3" in out


def test_plays_list_and_a_bad_definition(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run("plays", "list")
    assert code == 0 and "renewal_at_risk: Renewal coming up" in out
    assert "days_out=[120, 90, 60, 30]" in out and "owner: ae" in out
    code, out, _ = run("plays", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 9
    bad = tmp_path / "plays.toml"
    bad.write_text('[[plays]]\nkey = "x"\ntitle = "X"\ntrigger = "usage_drop"\nparams = { pct = 130 }\n')
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(bad))
    code, _, err = run("plays", "list")
    assert code == 2 and "play x: params.pct" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
