"""`retention-bot feedback …` end to end on the demo data, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from storage.db import Database


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.delenv("RETENTION_BOT_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert "Traceback" not in result.stderr
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_feedback_top_themes_status_and_merge(run) -> None:
    code, _, _ = run("demo-data", "--accounts", "80", "--usage-days", "10")
    assert code == 0
    code, out, _ = run("feedback", "top", "--json")
    assert code == 0
    top = json.loads(out)["themes"]
    assert len(top) >= 5 and {t["theme"] for t in top} >= {"Faster reports", "Salesforce sync"}
    at_risk = [float(t["arr_at_risk"]) for t in top]
    assert at_risk == sorted(at_risk, reverse=True) and at_risk[0] > 0  # at-risk accounts ask too
    assert all(
        float(t["arr_at_risk"]) <= float(t["arr"]) and t["accounts_at_risk"] <= t["accounts"] for t in top
    )
    code, out, _ = run("feedback", "top", "--kind", "praise", "--json")
    assert code == 0 and [t["theme"] for t in json.loads(out)["themes"]] == ["Onboarding"]
    code, _, err = run("feedback", "top", "--segment", "galactic")
    assert code == 1 and "no account is in segment 'galactic'" in err
    code, out, _ = run("feedback", "status", "Faster reports", "shipped")
    assert code == 0 and "Faster reports: new → shipped" in out and "owner messages queued" in out
    code, out, _ = run("feedback", "top", "--json")
    assert "Faster reports" not in {t["theme"] for t in json.loads(out)["themes"]}
    code, out, _ = run("feedback", "merge", "mobile app", "bulk export")
    assert code == 0 and "merged Mobile app into Bulk export" in out
    code, out, _ = run("feedback", "themes")
    assert "Faster reports: shipped" in out and "Mobile app" not in out
    code, _, err = run("feedback", "merge", "Nope", "Bulk export")
    assert code == 1 and "there is no theme 'Nope'" in err
    code, out, _ = run("feedback", "suggest", "Okta single sign-on")
    assert code == 0 and out.splitlines()[0].endswith("SSO / SAML (new)")
    code, out, _ = run("feedback", "from-nps")
    assert code == 0 and "NPS comments turned into feedback" in out
