"""OAuth installs through the real flow (install page, state cookie, redirect, oauth.v2.access on the fake
Slack): several installers of one team, tokens encrypted at rest, and Enterprise Grid org-wide installs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text

from bot.cli import cli
from bot.tokens import WorkspaceClients
from storage.db import Database
from storage.models import Account, Handoff, Workspace
from storage.workspaces import ensure_workspace
from testkit.fake_slack import FakeSlack
from tests.support import NOW
from tests.support.data import ACCOUNTS as TEAM_ACCOUNTS
from tests.support.data import PEOPLE, SLA_POLICY, checklist
from tests.support.helpers import load
from tests.support.slack_harness import Bot, Reply, install

KEY = Fernet.generate_key()
ACCOUNTS = """
    external_id,name,domain,segment
    A1,Acme Corp,acme.com,smb
"""


def oauth_env(fake: FakeSlack) -> dict[str, str]:
    return {
        "SLACK_CLIENT_ID": fake.client_id,
        "SLACK_CLIENT_SECRET": fake.client_secret,
        "TOKEN_ENCRYPTION_KEY": KEY.decode(),
    }


@pytest.fixture
def oauth_bot(db: Database) -> Iterator[Bot]:
    with FakeSlack() as fake:
        bot = Bot(db, fake, **oauth_env(fake))
        yield bot
        bot.close()


def command(
    bot: Bot,
    text_: str,
    *,
    user: str,
    team: str,
    enterprise: str | None = None,
    org_wide: bool = False,
    name: str = "/health",
) -> Reply:
    """/health (or command ``name``) as Slack sends it from ``team`` (of ``enterprise``, through an
    org-wide install or not)."""
    form = {
        "team_id": team,
        "user_id": user,
        "command": name,
        "text": text_,
        "api_app_id": "A0APP",
        "channel_id": "C0CHAN",
        "response_url": bot.fake.response_url(f"{team}-{user}"),
        "trigger_id": f"trigger-{time.time_ns()}",
        "is_enterprise_install": "true" if org_wide else "false",
    }
    if enterprise:
        form |= {"enterprise_id": enterprise, "enterprise_name": "Org"}
    return bot.signed(urlencode(form), "application/x-www-form-urlencoded")


def submit(
    bot: Bot, view: dict[str, Any], values: dict[str, Any], *, user: str, team: str, enterprise: str
) -> Reply:
    """A ``view_submission`` as Slack sends it through an org-wide install: the org as ``enterprise``
    and ``team.enterprise_id``, the submitter's team as ``team`` and ``user.team_id``."""
    payload = {
        "type": "view_submission",
        "team": {"id": team, "domain": "t", "enterprise_id": enterprise, "enterprise_name": "Org"},
        "enterprise": {"id": enterprise, "name": "Org"},
        "is_enterprise_install": True,
        "user": {"id": user, "team_id": team},
        "api_app_id": "A0APP",
        "trigger_id": "t2",
        "view": {**view, "id": "V1", "team_id": team, "state": {"values": values}},
    }
    return bot.signed(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def raw_token_columns(db: Database) -> list[str]:
    """Every token column of every stored installation and bot, as stored."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT bot_token, bot_refresh_token FROM slack_bots")).all()
        rows += conn.execute(
            text(
                "SELECT bot_token, bot_refresh_token, user_token, user_refresh_token FROM slack_installations"
            )
        ).all()
    return [value for row in rows for value in row if value is not None]


def test_a_second_installer_does_not_lock_the_first_one_out(
    oauth_bot: Bot, db: Database, tmp_path: Path
) -> None:
    with db.write() as s:
        ws = ensure_workspace(s, "slack-T1", now=NOW)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    assert install(oauth_bot, "code-1", user="U1", team="T1", token="xoxb-t1-first").status == 200
    assert install(oauth_bot, "code-2", user="U2", team="T1", token="xoxb-t1-second").status == 200
    for user in ("U1", "U2", "U3"):  # both installers, and someone who installed nothing
        reply = command(oauth_bot, "acme", user=user, team="T1")
        assert reply.status == 200, (user, reply.body)
        assert "Acme Corp" in str(reply.body), user
    stored = raw_token_columns(db)
    assert len(stored) == 4  # two bots, two installations
    assert all(value.startswith("gAAAA") and "xoxb-t1" not in value for value in stored), stored


def test_rotating_tokens_fit_encrypted(oauth_bot: Bot, db: Database, tmp_path: Path) -> None:
    """With token rotation on, Slack's tokens are about 170 characters, over 300 encrypted: they used to
    overflow slack_sdk's VARCHAR(200) on PostgreSQL and the install failed (migration 0006)."""
    with db.write() as s:
        ws = ensure_workspace(s, "slack-T1", now=NOW)
    load(db, ws, "accounts", ACCOUNTS, tmp_path)
    token = "xoxe.xoxb-1-" + "MS0yLTIyMTk5MDYzNDE2MjAtMzc5NDY5ODIwNTEyNi0zNzk0NzAwNzc1NzE4LTM3" * 2
    refresh = "xoxe-1-" + "My0xLTIyMTk5MDYzNDE2MjAtMzc5NDcwMDc3NTcxOC0zNzk0NzAyOTY0NTE4LWFm" * 2
    reply = install(oauth_bot, "code-1", user="U1", team="T1", token=token, refresh_token=refresh)
    assert reply.status == 200, reply.body
    assert "Acme Corp" in str(command(oauth_bot, "acme", user="U1", team="T1").body)
    stored = raw_token_columns(db)
    assert len(stored) == 4 and all(len(v) > 200 and v.startswith("gAAAA") for v in stored)
    assert not any(secret in v for v in stored for secret in ("xoxe", "MS0yLTIy", "My0xLTIy"))
    assert WorkspaceClients(oauth_bot.settings, db)(ws).token == token


def test_an_org_wide_install_gives_every_team_of_the_org_one_workspace(
    oauth_bot: Bot, db: Database, tmp_path: Path
) -> None:
    """Enterprise Grid: the org's teams share the org's workspace (and its data), keyed by the enterprise;
    a team of another org, installed on its own, keeps its own."""
    with db.write() as s:
        org = ensure_workspace(s, "slack-E1", now=NOW)
    load(db, org, "accounts", ACCOUNTS, tmp_path)
    assert install(oauth_bot, "org", user="U1", team=None, enterprise="E1", token="xoxb-org").status == 200
    assert install(oauth_bot, "own", user="U9", team="T9", enterprise="E2", token="xoxb-t9").status == 200
    for team, user in (("T1", "U1"), ("T2", "U2")):
        reply = command(oauth_bot, "acme", user=user, team=team, enterprise="E1", org_wide=True)
        assert reply.status == 200 and "Acme Corp" in str(reply.body), (team, reply.body)
    other = command(oauth_bot, "acme", user="U9", team="T9", enterprise="E2")
    assert other.status == 200 and "Acme Corp" not in str(other.body)
    with db.read() as s:
        rows = s.execute(
            select(Workspace.slug, Workspace.slack_team_id, Workspace.slack_enterprise_id).order_by(
                Workspace.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [("slack-E1", None, "E1"), ("slack-T9", "T9", "E2")]
    # Scheduled posts to the org's workspace go out with the org's bot token.
    assert WorkspaceClients(oauth_bot.settings, db)(org).token == "xoxb-org"


def test_the_checklist_dialog_of_an_org_wide_install_opens_the_handoff_in_the_orgs_workspace(
    db: Database, tmp_path: Path
) -> None:
    """Enterprise Grid: a person of the org's people list opens a sales→CS handoff from a team of the org;
    the checklist dialog's submission is checked against the org's people list and opens the handoff in
    the org's workspace (it used to drop the enterprise: a refusal, and an empty ``slack-T1`` created)."""
    with db.write() as s:
        org = ensure_workspace(s, "slack-E1", now=NOW)
    load(db, org, "people", PEOPLE, tmp_path)
    load(db, org, "accounts", TEAM_ACCOUNTS, tmp_path)
    config = tmp_path / "policy.toml"
    config.write_text(SLA_POLICY, encoding="utf-8")
    with FakeSlack() as fake:
        bot = Bot(db, fake, RETENTION_BOT_CONFIG=str(config), **oauth_env(fake))
        try:
            assert install(bot, "org", user="U1", team=None, enterprise="E1", token="xoxb-org").status == 200
            asked = command(
                bot,
                "open A1 sales_to_cs",
                user="UANA",
                team="T1",
                enterprise="E1",
                org_wide=True,
                name="/handoff",
            )
            assert "checklist in the dialog" in str(asked.body), asked.body
            view = fake.calls("views.open")[-1]["view"]
            view = json.loads(view) if isinstance(view, str) else view
            submitted = submit(bot, view, checklist(), user="UANA", team="T1", enterprise="E1")
            assert submitted.status == 200 and not submitted.body, submitted.body  # no errors in the dialog
            confirmation = [c for c in fake.calls("chat.postMessage") if c["channel"] == "UANA"][-1]
            assert "Opened handoff" in confirmation["text"], confirmation
        finally:
            bot.close()
    with db.read() as s:
        opened = s.execute(select(Handoff.workspace_id, Handoff.kind)).all()
        slugs = list(s.scalars(select(Workspace.slug)))
    assert [tuple(r) for r in opened] == [(org, "sales_to_cs")]
    assert slugs == ["slack-E1"]  # no stray slack-T1


def test_the_cli_and_the_ingest_api_write_to_the_slack_workspace_they_name(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OAuth mode: RETENTION_BOT_WORKSPACE must name a Slack workspace (slack-<TEAM_ID>, or
    slack-<ENTERPRISE_ID> for an org-wide install); the default would be data no Slack user sees."""
    (tmp_path / "accounts.csv").write_text("external_id,name,segment\nA1,Acme Corp,smb\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.delenv("RETENTION_BOT_WORKSPACE", raising=False)
    with FakeSlack() as fake:
        for name, value in {**oauth_env(fake), "INGEST_TOKEN": "i", "SLACK_SIGNING_SECRET": "s"}.items():
            monkeypatch.setenv(name, value)
        runner = CliRunner()
        for args in (["import", "accounts", "accounts.csv"], ["serve"]):
            refused = runner.invoke(cli, args)
            assert refused.exit_code == 1 and "Traceback" not in refused.stderr
            assert "setting RETENTION_BOT_WORKSPACE: 'default' is no Slack workspace" in refused.stderr
            assert "slack-<ENTERPRISE_ID> for an org-wide install" in refused.stderr
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(Account)) == 0

        monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "slack-E1")
        assert runner.invoke(cli, ["import", "accounts", "accounts.csv"]).exit_code == 0
        bot = Bot(db, fake, RETENTION_BOT_WORKSPACE="slack-E1", **oauth_env(fake))
        try:
            ingested = bot.ingest("accounts", [{"external_id": "A2", "name": "Globex", "segment": "smb"}])
            assert ingested.status == 200 and ingested.body["inserted"] == 1
            install(bot, "org", user="U1", team=None, enterprise="E1", token="xoxb-org")
            for team in ("T1", "T2"):
                for name in ("acme", "globex"):
                    reply = command(bot, name, user="U1", team=team, enterprise="E1", org_wide=True)
                    assert name in str(reply.body).lower() and "No account matches" not in str(reply.body)
        finally:
            bot.close()
        with db.read() as s:
            assert list(s.scalars(select(Workspace.slug))) == ["slack-E1"]

        monkeypatch.setenv("RETENTION_BOT_WORKSPACE", "default")
        refused = runner.invoke(cli, ["health", "acme"])
        assert refused.exit_code == 1 and "(installed: slack-E1)" in refused.stderr
