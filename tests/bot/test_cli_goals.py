"""`retention-bot kpis` (the owner matrix), `kpis target`, `kpis history` and the scorecard's target,
status and good per KPI in `--json`, end to end on SQLite and PostgreSQL."""

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


def test_targets_from_the_cli_show_in_the_matrix_the_history_and_the_json(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policy.toml").write_text(
        '[kpis.adoption]\nowners = ["product", "engineering"]\ntargets = { month = 0.5 }\n'
    )
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(tmp_path / "policy.toml"))
    code, _, _ = run("demo-data", "--accounts", "40", "--as-of", AS_OF, "--usage-days", "35")
    assert code == 0
    code, out, _ = run("kpis", "target", "logo_churn", "1.5%", "--period", "month")
    assert code == 0 and "Logo churn month: " in out and "→ 1.5% by cli:" in out
    code, out, err = run("kpis", "target", "logo_churn", "lots")
    assert code == 1 and "'lots' is not a target" in err
    code, out, _ = run("kpis", "--json")
    rows = {r["kpi"]: r for r in json.loads(out)}
    assert rows["adoption"]["owners"] == ["product", "engineering"]
    assert rows["logo_churn"]["direction"] == "lower"
    month = [t for t in rows["logo_churn"]["targets"] if t["period"] == "month"]
    assert [(t["value"], t["source"]) for t in month] == [("0.015", "set")]
    # The policy file's adoption target, unless the demo data set one for the month (it replaces it).
    adoption = [t for t in rows["adoption"]["targets"] if t["period"] == "month"]
    assert len(adoption) == 1
    code, out, _ = run("kpis")
    assert code == 0 and "Revenue retention" in out and "product, engineering" in out
    code, out, _ = run("kpis", "history", "--kpi", "logo_churn")
    assert code == 0 and "1.5%" in out.splitlines()[0]

    code, out, _ = run("scorecard", "--as-of", AS_OF, "--period", "month", "--json")
    kpis = json.loads(out)["kpis"]
    churn = kpis["logo_churn"]
    assert churn["target"]["value"] == pytest.approx(0.015) and churn["target"]["source"] == "set"
    assert churn["status"] in ("on_track", "at_risk", "off_track")
    assert churn["good"] in (True, False, None) and churn["direction"] == "lower"
    assert kpis["adoption"]["owners"] == ["product", "engineering"]
    assert all({"target", "status", "good", "sample", "month"} <= set(k) for k in kpis.values())
    code, out, _ = run("scorecard", "--as-of", AS_OF, "--period", "month")
    assert code == 0 and "target" in out and "status" in out


def test_a_policy_file_naming_an_unknown_team_stops_with_one_line(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policy.toml").write_text('[kpis.nrr]\nowners = ["legal"]\n')
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(tmp_path / "policy.toml"))
    code, _, err = run("kpis")
    assert code == 2 and "unknown team 'legal'" in err and "kpis.nrr.owners" in err


def test_a_past_scorecard_and_digest_show_the_targets_of_their_time(run) -> None:
    code, _, _ = run("demo-data", "--accounts", "20", "--as-of", AS_OF, "--usage-days", "5")
    assert code == 0
    run("kpis", "target", "nrr", "150%", "--period", "week")
    code, out, _ = run("scorecard", "--as-of", AS_OF, "--json")
    assert json.loads(out)["kpis"]["nrr"]["target"]["value"] == pytest.approx(1.5)
    code, out, _ = run("scorecard", "--as-of", AS_OF, "--json", "--targets-as-of", "2020-01-01")
    assert code == 0 and json.loads(out)["kpis"]["nrr"]["target"] is None  # nothing was set then
    code, out, _ = run("digest", "preview", "--as-of", AS_OF, "--json", "--targets-as-of", "2020-01-01T00:00")
    rows = next(b for b in json.loads(out)["message"]["blocks"] if b["type"] == "table")["rows"]
    assert all(row[2]["text"].startswith("⚪") for row in rows[1:])
    code, _, err = run("scorecard", "--targets-as-of", "yesterday")
    assert code == 2 and "not a time like" in err


def test_demo_data_again_leaves_a_target_someone_cleared_cleared(run) -> None:
    """demo-data sets targets; one a person cleared stays cleared when demo-data runs again."""
    assert run("demo-data", "--accounts", "40", "--as-of", AS_OF, "--usage-days", "35")[0] == 0

    def set_targets() -> dict[tuple[str, str], str]:
        rows = json.loads(run("kpis", "--json")[1])
        return {(r["kpi"], t["period"]): t["source"] for r in rows for t in r["targets"]}

    seeded = set_targets()
    key = next(k for k, source in seeded.items() if source == "set")
    assert run("kpis", "target", key[0], "clear", "--period", key[1])[0] == 0
    assert key not in set_targets()
    assert run("demo-data", "--accounts", "40", "--as-of", AS_OF, "--usage-days", "35")[0] == 0
    again = set_targets()
    assert key not in again and len(again) == len(seeded) - 1
