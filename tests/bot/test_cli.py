"""The command line, end to end, on the SQLite default and on PostgreSQL (through DATABASE_URL)."""

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


def test_demo_scorecard_cohorts_and_health(run) -> None:
    code, out, _ = run("demo-data", "--accounts", "60", "--as-of", AS_OF, "--usage-days", "35")
    assert code == 0 and "demo data for 60 accounts" in out
    code, out, _ = run("scorecard", "--as-of", AS_OF, "--period", "month", "--json")
    data = json.loads(out)
    assert code == 0 and data["period"]["start"] == "2026-10-01"
    assert data["kpis"]["nrr"]["value"] is not None and data["kpis"]["health_index"]["value"] is not None
    code, out, _ = run("scorecard", "--as-of", AS_OF)
    assert code == 0 and "Shared scorecard" in out and "NRR (12 mo)" in out
    code, out, _ = run("cohorts", "--as-of", AS_OF, "--json")
    assert code == 0 and json.loads(out)["cohorts"]
    code, out, _ = run("health", "ACC-000003", "--json")
    card = json.loads(out)
    assert code == 0 and card["account"]["external_id"] == "ACC-000003"
    assert {o["team"] for o in card["owners"]} >= {"sales", "cs", "support"}
    code, out, _ = run("health", "ACC-000003")
    assert code == 0 and "health" in out


def test_demo_data_is_idempotent(run) -> None:
    run("demo-data", "--accounts", "20", "--as-of", AS_OF, "--usage-days", "5")
    code, out, _ = run("demo-data", "--accounts", "20", "--as-of", AS_OF, "--usage-days", "5")
    assert code == 0
    assert all(" 0 inserted" in line or line.split()[1] == "0" for line in out.splitlines()[:12])


def test_import_good_then_bad_file(run, tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("external_id,name,segment\nA1,Acme,smb\n")
    code, out, _ = run("import", "accounts", "accounts.csv")
    assert code == 0 and "1 inserted, 0 updated, 0 unchanged" in out
    code, out, _ = run("import", "accounts", "accounts.csv")
    assert code == 0 and "0 inserted, 0 updated, 1 unchanged" in out
    (tmp_path / "revenue.csv").write_text("account,month,mrr\nA1,2026-10,100\nNOPE,2026-10,5\n")
    code, _, err = run("import", "revenue", "revenue.csv")
    assert code == 2  # rejected input: exit 2, as for a usage error
    assert "revenue.csv:3: account: unknown account 'NOPE' (import accounts first)" in err
    assert "nothing was imported" in err
    code, out, _ = run("scorecard", "--as-of", AS_OF, "--json")
    assert json.loads(out)["kpis"]["nrr"]["reason"].startswith("no revenue data yet")


def test_health_lookup_errors_say_what_to_type(run, tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("external_id,name,segment\nA1,Acme One,smb\nA2,Acme Two,smb\n")
    run("import", "accounts", "accounts.csv")
    code, _, err = run("health", "acme")
    assert code == 1 and "matches several accounts" in err and "A1" in err and "A2" in err
    code, _, err = run("health", "zzzzzz")
    assert code == 1 and "no account matches 'zzzzzz'" in err


def test_demo_files_import_through_the_cli(run, tmp_path: Path) -> None:
    code, _, _ = run("demo-data", "--accounts", "15", "--as-of", AS_OF, "--usage-days", "3", "--out", "demo")
    assert code == 0
    for kind, name in [
        ("people", "people.csv"),
        ("accounts", "accounts.csv"),
        ("revenue", "revenue.csv"),
        ("wins", "wins.jsonl"),
    ]:
        code, out, err = run("import", kind, f"demo/{name}")
        assert code == 0, err
    code, out, _ = run("health-snapshot", "--date", AS_OF)
    assert code == 0 and "accounts scored" in out


def test_bad_settings_stop_with_one_line(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.toml").write_text("gross_margin = 7")
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(tmp_path / "bad.toml"))
    code, _, err = run("scorecard")
    assert code == 2 and "gross_margin" in err and "Traceback" not in err


def test_reading_an_empty_database_says_what_to_run(run) -> None:
    code, _, err = run("scorecard")
    assert code == 1 and "has no data yet" in err and "demo-data" in err
    code, _, err = run("health", "acme")
    assert code == 1 and "has no data yet" in err


def test_unknown_segment_lists_the_known_ones(run, tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("external_id,name,segment\nA1,Acme,smb\nA2,Big,enterprise\n")
    run("import", "accounts", "accounts.csv")
    code, _, err = run("scorecard", "--segment", "smbb")
    assert code == 1 and "no account is in segment 'smbb'; the segments are: enterprise, smb" in err


def test_unreachable_database_is_one_line_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:s3cret@127.0.0.1:1/nothing")
    result = CliRunner().invoke(cli, ["scorecard"])
    assert result.exit_code == 1
    assert "cannot open the database postgresql+psycopg://bot:***@127.0.0.1:1/nothing" in result.stderr
    assert "s3cret" not in result.output + result.stderr


def test_cohort_tables_never_drop_a_quarter(run) -> None:
    run("demo-data", "--accounts", "40", "--months", "40", "--as-of", AS_OF, "--usage-days", "1")
    code, out, _ = run("cohorts", "--as-of", AS_OF)
    quarters = len(json.loads(run("cohorts", "--as-of", AS_OF, "--json")[1])["cohorts"][0]["points"])
    assert code == 0 and quarters > 9
    assert f"Q+{quarters - 1}" in out and "…" not in out


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "setting SLACK_BOT_TOKEN: required"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "a bot token starts with xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "setting SLACK_SIGNING_SECRET: required"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}, "setting TOKEN_ENCRYPTION_KEY: required"),
        (
            {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "TOKEN_ENCRYPTION_KEY": "nope"},
            "not a Fernet key",
        ),
    ],
)
def test_serve_stops_with_one_line_naming_the_setting(
    run, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "TOKEN_ENCRYPTION_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = run("serve")
    assert code == 1 and message in err and "Traceback" not in err
    assert "docs/slack.md" in err


def test_serve_names_every_missing_slack_setting_at_once(run, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run("serve")
    assert code == 1 and "SLACK_BOT_TOKEN" in err and "SLACK_SIGNING_SECRET" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_socket_mode_needs_an_app_token(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    code, _, err = run("serve", "--socket-mode")
    assert code == 1 and "SLACK_APP_TOKEN: Socket Mode needs an app-level token (xapp-" in err


def test_subscriptions_from_the_cli(run, tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("external_id,name,segment\nA1,Acme,smb\n")
    run("import", "accounts", "accounts.csv")
    code, out, _ = run("subscriptions", "add", "C0RET", "wed", "16:00", "Europe/Berlin", "smb")
    assert code == 0 and "Wednesdays at 16:00 Europe/Berlin, segment smb" in out
    code, out, _ = run("subscriptions", "list")
    assert "C0RET  Wednesdays at 16:00 Europe/Berlin, segment smb" in out
    code, _, err = run("subscriptions", "add", "#general")
    assert code == 2 and "not a Slack channel id" in err
    assert run("subscriptions", "remove", "C0RET")[0] == 0
    code, _, err = run("subscriptions", "remove", "C0RET")
    assert code == 1 and "has no digest subscription" in err


def test_sla_policies_are_shown_and_a_bad_one_stops_with_one_line(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run("sla", "policies")
    assert code == 0 and "no SLA policies: add [[sla.policies]]" in out
    good = tmp_path / "sla.toml"
    good.write_text(
        '[sla]\nescalation_channel = "C0ESC"\n'
        '[sla.calendars.ny]\ntimezone = "America/New_York"\nholidays = [2026-12-25]\n'
        '[[sla.policies]]\nkind = "sales_to_cs"\nhours = 16\nclock = "business"\ncalendar = "ny"\n'
        'escalation = [{ to = "manager", after_hours = 4 }, { to = "channel", after_hours = 8 }]\n'
    )
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(good))
    code, out, _ = run("sla", "policies")
    assert code == 0
    assert "sales_to_cs/*: sales→cs, 16 business hours (ny: mon, tue, wed, thu, fri 09:00-17:00" in out
    assert "+4 h → manager; +8 h → C0ESC" in out
    bad = tmp_path / "bad-sla.toml"
    bad.write_text('[sla.calendars.x]\nhours = "17:00-09:00"\n')
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(bad))
    code, _, err = run("sla", "policies")
    assert code == 2 and "open before it closes" in err and "Traceback" not in err
