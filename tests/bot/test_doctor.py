"""`retention-bot doctor` on a good set-up and on broken ones: no token, wrong scopes, the bot not in
a channel, an unmigrated database, people without Slack ids, a broken policy file or template, a
worker that never ran. Real databases, the fake Slack, the real CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from services import subscriptions
from storage.db import Database
from storage.job_runs import claim_job_run
from testkit.fake_slack import FakeSlack
from testkit.pg import create_database, drop_database
from tests.conftest import PG_URL
from tests.support import NOW
from tests.support.data import ACCOUNTS, PEOPLE
from tests.support.helpers import load


@pytest.fixture
def setup(
    db: Database, ws: int, fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Database:
    """A set-up that works: people with Slack ids, a digest channel the bot is in, a worker that ran."""
    load(db, ws, "people", PEOPLE, tmp_path)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    subscriptions.subscribe(db, ws, "CDIGEST", ["monday"], by=None, now=NOW)
    with db.write() as s:
        claim_job_run(s, ws, "health_snapshot", "today", dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DATABASE_URL": db.url,
        "RETENTION_BOT_WORKSPACE": "test",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": fake.api_url,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("RETENTION_BOT_CONFIG", "DIGEST_TEMPLATES", "SLACK_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    return db


def doctor() -> tuple[int, dict[str, dict[str, str]], str]:
    """Exit status, the checks by name (as --json says), and the human output."""
    runner = CliRunner()
    as_json = runner.invoke(cli, ["doctor", "--json"], catch_exceptions=False)
    human = runner.invoke(cli, ["doctor"], catch_exceptions=False)
    assert human.exit_code == as_json.exit_code
    data = json.loads(as_json.stdout)
    assert data["ok"] is (as_json.exit_code == 0)
    return as_json.exit_code, {c["name"]: c for c in data["checks"]}, human.stdout


def test_a_good_set_up_is_ready(setup: Database, fake: FakeSlack) -> None:
    code, checks, out = doctor()
    assert code == 0, out
    assert {name: c["status"] for name, c in checks.items()} == {
        "settings": "ok",
        "database": "ok",
        "slack token": "ok",
        "slack scopes": "ok",
        "channel CDIGEST": "ok",
        "data": "ok",
        "people": "ok",
        "policies": "ok",
        "templates": "ok",
        "worker": "ok",
    }
    assert f"schema at {setup.head_revision()} (current)" in checks["database"]["detail"]
    assert checks["slack token"]["detail"] == "bot UBOT in team Test (T0TEST)"
    assert checks["people"]["detail"] == "all 3 people have a Slack id"
    assert checks["worker"]["detail"].endswith("(health_snapshot), 2 h ago")
    assert "ready" in out and "✓ database" in out
    assert [c["channel"] for c in fake.calls("conversations.info")] == ["CDIGEST"] * 2  # --json, then not


def test_no_token_blocks(setup: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    code, checks, out = doctor()
    assert code == 1
    assert checks["slack token"]["status"] == "fail" and "SLACK_BOT_TOKEN" in checks["slack token"]["detail"]
    assert "channel CDIGEST" not in checks  # cannot be checked without a token
    assert "✗ slack token" in out and "fix: create the app from docs/slack-manifest.json" in out
    assert "1 problem(s) block the bot" in out


def test_a_revoked_token_and_missing_scopes_block(setup: Database, fake: FakeSlack) -> None:
    fake.fail("auth.test", "token_revoked", times=2)
    code, checks, _ = doctor()
    assert code == 1 and checks["slack token"]["detail"] == "auth.test answered token_revoked"
    fake.scopes = ("commands", "chat:write", "channels:history", "groups:history", "im:write", "im:history")
    code, checks, _ = doctor()
    assert code == 1 and checks["slack token"]["status"] == "ok"
    assert checks["slack scopes"] == {
        "name": "slack scopes",
        "status": "fail",
        "detail": "the token lacks files:write, users:read, users:read.email, "
        "reactions:read, channels:read, groups:read",
        "fix": "add the scopes of docs/slack-manifest.json to the app (OAuth & Permissions) and reinstall it",
    }


def test_the_bot_not_in_a_channel_blocks(setup: Database, ws: int, fake: FakeSlack) -> None:
    from services.wins import set_wins_channel

    set_wins_channel(setup, ws, "CWINS")
    fake.not_in = {"CDIGEST"}
    code, checks, _ = doctor()
    assert code == 1
    assert checks["channel CDIGEST"]["status"] == "fail"
    assert (
        checks["channel CDIGEST"]["fix"] == "invite the bot: in channel CDIGEST type `/invite @retention-bot`"
    )
    assert checks["channel CWINS"]["status"] == "ok" and "win shout-outs" in checks["channel CWINS"]["detail"]
    # Without channels:read (which the app does not ask for), reading one message tells as well.
    fake.fail("conversations.info", "missing_scope", times=4)  # two channels, two runs
    code, checks, _ = doctor()
    assert checks["channel CDIGEST"]["status"] == "fail" and checks["channel CWINS"]["status"] == "ok"
    fake.not_in = set()
    fake.archived = {"CDIGEST"}
    code, checks, _ = doctor()
    assert code == 1 and checks["channel CDIGEST"]["detail"] == "weekly digest: the channel is archived"


def test_people_without_slack_ids_and_a_worker_that_never_ran_warn(
    db: Database, ws: int, fake: FakeSlack, setup: Database, tmp_path: Path
) -> None:
    load(db, ws, "people", "email,name,team\nnew@x.io,New Person,cs\nnewer@x.io,Newer One,cs\n", tmp_path)
    with db.write() as s:
        from sqlalchemy import delete

        from storage import models as m

        s.execute(delete(m.JobRun))
    code, checks, out = doctor()
    assert code == 0  # warnings do not block
    assert checks["people"]["status"] == "warn"
    assert checks["people"]["detail"] == "2 of 5 people have no Slack id (new@x.io, newer@x.io)"
    assert "people link-slack" in checks["people"]["fix"]
    assert checks["worker"]["status"] == "warn" and "never run" in checks["worker"]["detail"]
    assert "ready, 2 warning(s)" in out


def test_a_broken_policy_file_or_template_blocks(
    setup: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policy.toml").write_text("[health]\nweights = 3\n")
    monkeypatch.setenv("RETENTION_BOT_CONFIG", str(tmp_path / "policy.toml"))
    code, checks, _ = doctor()
    assert (
        code == 1 and checks["policies"]["status"] == "fail" and "policy.toml" in checks["policies"]["detail"]
    )
    assert checks["database"]["status"] == "ok"  # the rest is still checked
    monkeypatch.delenv("RETENTION_BOT_CONFIG")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "digest.json.j2").write_text("[{% for x in %}]")
    monkeypatch.setenv("DIGEST_TEMPLATES", str(tmp_path / "templates"))
    code, checks, _ = doctor()
    assert code == 1 and checks["templates"]["status"] == "fail"
    assert "digest.json.j2" in checks["templates"]["detail"]


def test_bad_settings_block_before_anything_else(setup: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://x/y")
    code, checks, _ = doctor()
    assert code == 1 and list(checks) == ["settings", "database"]
    assert "DATABASE_URL" in checks["settings"]["detail"] and checks["database"]["status"] == "skip"


def test_an_unmigrated_postgresql_database_blocks(
    fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str | None
) -> None:
    if pg_url is None:
        pytest.skip("PostgreSQL is not reachable")
    url = create_database(PG_URL, "rb_doctor")
    try:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setenv("SLACK_API_URL", fake.api_url)
        code, checks, _ = doctor()
        assert code == 1
        db = Database(url)
        head = db.head_revision()
        db.dispose()
        assert checks["database"]["status"] == "fail"
        assert f"schema at nothing, the code needs {head}" in checks["database"]["detail"]
        assert "***" in checks["database"]["detail"] or "@" in checks["database"]["detail"]  # which database
        assert checks["database"]["fix"] == "run `retention-bot db upgrade`"
        assert checks["slack token"]["status"] == "ok"  # Slack is checked all the same
    finally:
        drop_database(PG_URL, url)


def test_an_old_or_missing_sqlite_file_warns(
    fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    _, checks, _ = doctor()
    assert checks["database"]["status"] == "warn" and "does not exist yet" in checks["database"]["detail"]
    assert f"(in {tmp_path})" in checks["database"]["detail"]  # which file
    assert not (tmp_path / "retention_bot.db").exists()  # the doctor creates nothing
    old = Database(f"sqlite:///{tmp_path / 'retention_bot.db'}")
    old.upgrade("0006")
    old.dispose()
    _, checks, _ = doctor()
    assert checks["database"]["status"] == "warn" and "schema at 0006" in checks["database"]["detail"]


def test_oauth_without_an_installation_says_how_to_install(
    setup: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", Fernet.generate_key().decode())
    code, checks, _ = doctor()
    assert code == 1 and checks["workspace"]["status"] == "fail"  # "test" names no Slack workspace
    assert "slack-<TEAM_ID>" in checks["workspace"]["detail"]
    monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "slack-T0TEST")
    code, checks, _ = doctor()
    assert code == 1 and checks["slack token"]["status"] == "fail"
    assert "no installation of the app" in checks["slack token"]["detail"]
    assert "/slack/install" in checks["slack token"]["fix"]
