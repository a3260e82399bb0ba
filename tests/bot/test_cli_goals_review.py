"""The review of shared goals from the terminal, on SQLite and PostgreSQL: a target beyond what storage
keeps is refused in one line (no OverflowError), a policy-file target it cannot keep stops every
command in one line, money targets print as plain digits, `scorecard --json` carries target, status
and good with hand-computed values, and a clear says which target applies.

Data (as of 2026-11-23, month = October 2026): A 100 → 110, B 100 → 0, C 100 → 100, all paying from
2025-09. NRR Oct = 210 / 300 = 0.70 (Sep: 1.00, a fall: bad); logo churn Oct = 1/3 (Sep: 0, a rise:
bad); expansion ARR Oct = 12 × 10 = $120.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from storage.db import Database
from tests.support.helpers import months

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


@pytest.fixture
def loaded(run, tmp_path: Path):
    (tmp_path / "accounts.csv").write_text("external_id,name,segment\nA,Alpha,ent\nB,Beta,smb\nC,Gamma,smb\n")
    rows = ["account,month,mrr"]
    for month in months("2025-09", "2026-09"):
        rows += [f"A,{month},100", f"B,{month},100", f"C,{month},100"]
    rows += ["A,2026-10,110", "B,2026-10,0", "C,2026-10,100"]
    (tmp_path / "revenue.csv").write_text("\n".join(rows) + "\n")
    assert run("import", "accounts", str(tmp_path / "accounts.csv"))[0] == 0
    assert run("import", "revenue", str(tmp_path / "revenue.csv"))[0] == 0
    return run


@pytest.mark.parametrize(
    ("kpi", "value", "says"),
    [
        ("time_to_value_days", "99999999999999999", "at most 1,000,000,000,000"),
        ("clv", "$99999999999M", "at most 1,000,000,000,000"),
        ("nrr", "5000%", "out of range for a percentage"),
    ],
)
def test_a_target_beyond_what_is_kept_is_one_line(run, kpi: str, value: str, says: str) -> None:
    code, out, err = run("kpis", "target", kpi, value)
    assert code == 1 and says in err and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1
    code, out, _ = run("kpis", "history")
    assert "no target changes yet" in out


def test_a_policy_target_storage_cannot_keep_stops_every_command_in_one_line(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policy.toml").write_text("[kpis.nrr]\ntargets = { month = 110 }\n")
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(tmp_path / "policy.toml"))
    for args in (("kpis",), ("kpis", "target", "nrr", "110%"), ("scorecard", "--as-of", AS_OF)):
        code, out, err = run(*args)
        assert code != 0 and "[kpis.nrr] targets.month = 110: out of range for a percentage" in err
        assert "Traceback" not in err + out and len(err.strip().splitlines()) == 1


def test_scorecard_json_has_target_status_and_good(
    loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = loaded
    (tmp_path / "policy.toml").write_text("[kpis.expansion_arr]\ntargets = { month = 50000 }\n")
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(tmp_path / "policy.toml"))
    assert run("kpis", "target", "nrr", "72%", "--period", "month")[0] == 0  # 70.0 %: 2 points short
    assert run("kpis", "target", "logo_churn", "25%", "--period", "month")[0] == 0  # 33.3 %: 8.3 over
    assert run("kpis", "target", "clv", "$50k", "--period", "month")[0] == 0
    code, out, err = run("scorecard", "--as-of", AS_OF, "--period", "month", "--json")
    assert code == 0, err
    kpis = json.loads(out)["kpis"]
    nrr, churn, expansion = kpis["nrr"], kpis["logo_churn"], kpis["expansion_arr"]
    assert nrr["value"] == pytest.approx(0.70) and nrr["target"]["value"] == pytest.approx(0.72)
    assert (nrr["status"], nrr["good"], nrr["target"]["source"]) == ("at_risk", False, "set")
    assert churn["value"] == pytest.approx(1 / 3) and (churn["status"], churn["good"]) == ("off_track", False)
    # $120 against the policy file's $50,000: off track; up from $0 in September: good.
    assert expansion["value"] == "120.00" and expansion["target"]["value"] == "50000"
    assert (expansion["status"], expansion["good"], expansion["target"]["source"]) == (
        "off_track",
        True,
        "policy",
    )
    assert kpis["clv"]["target"]["value"] == "50000"  # not "5E+4"
    assert kpis["grr"]["target"] is None and kpis["grr"]["status"] == "no_target"
    assert nrr["sample"] == {"n": 3, "of": "accounts paying in Oct 2025", "small": True}
    assert "E+" not in out
    code, out, _ = run("kpis", "--json")
    assert "E+" not in out
    values = {(r["kpi"], t["period"]): t["value"] for r in json.loads(out) for t in r["targets"]}
    assert values[("clv", "month")] == "50000" and values[("expansion_arr", "month")] == "50000"


def test_a_clear_says_the_policy_file_target_applies(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policy.toml").write_text("[kpis.nrr]\ntargets = { quarter = 1.05 }\n")
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(tmp_path / "policy.toml"))
    assert run("kpis", "target", "nrr", "110%", "--period", "quarter")[0] == 0
    code, out, _ = run("kpis", "target", "nrr", "clear", "--period", "quarter")
    assert code == 0 and "NRR (12 mo): the policy file's 105.0% applies" in out
    code, out, _ = run("kpis", "target", "nrr", "clear")
    words = " ".join(out.split())  # the terminal may wrap the line
    assert "no target applies (week, month); the policy file's 105.0% applies (quarter)" in words
