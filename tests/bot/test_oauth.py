"""OAuth (multi-workspace) mode: tokens encrypted at rest, the install page, one workspace per team."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select, text

from bot.oauth import EncryptedInstallationStore
from services.tenancy import workspace_for_team
from storage.db import Database
from storage.models import Workspace
from testkit.fake_slack import FakeSlack
from tests.support.slack_harness import Bot

KEY = Fernet.generate_key()


def installation(team: str, token: str) -> Installation:
    return Installation(
        app_id="A0APP",
        enterprise_id=None,
        team_id=team,
        bot_token=token,
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes=["commands", "chat:write"],
        user_id="UINSTALLER",
        installed_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC).timestamp(),
    )


def test_bot_tokens_are_encrypted_at_rest(db: Database) -> None:
    store = EncryptedInstallationStore("123.456", db.engine, KEY)
    store.save(installation("T1", "xoxb-secret-one"))
    store.save(installation("T2", "xoxb-secret-two"))
    with db.engine.connect() as conn:
        stored = (
            conn.execute(
                text("SELECT bot_token FROM slack_bots UNION ALL SELECT bot_token FROM slack_installations")
            )
            .scalars()
            .all()
        )
    assert stored and all(value.startswith("gAAAA") and "xoxb" not in value for value in stored)
    assert store.find_bot(enterprise_id=None, team_id="T1").bot_token == "xoxb-secret-one"
    assert store.find_installation(enterprise_id=None, team_id="T2").bot_token == "xoxb-secret-two"
    wrong_key = EncryptedInstallationStore("123.456", db.engine, Fernet.generate_key())
    with pytest.raises(Exception):  # noqa: B017 - a token encrypted with another key never decrypts
        wrong_key.find_bot(enterprise_id=None, team_id="T1")


def test_each_installed_team_gets_its_own_workspace(db: Database) -> None:
    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    with db.write() as s:
        a = workspace_for_team(s, team_id="TA", enterprise_id=None, single_workspace=None, now=now)
        b = workspace_for_team(s, team_id="TB", enterprise_id="E1", single_workspace=None, now=now)
        again = workspace_for_team(s, team_id="TA", enterprise_id=None, single_workspace=None, now=now)
    assert a == again != b
    with db.read() as s:
        teams = dict(s.execute(select(Workspace.slack_team_id, Workspace.slack_enterprise_id)).all())
    assert teams == {"TA": None, "TB": "E1"}


@pytest.fixture
def oauth_bot(db: Database) -> Iterator[Bot]:
    with FakeSlack() as fake:
        bot = Bot(
            db,
            fake,
            SLACK_CLIENT_ID="123.456",
            SLACK_CLIENT_SECRET="client-secret",
            TOKEN_ENCRYPTION_KEY=KEY.decode(),
        )
        yield bot
        bot.close()


def test_install_page_starts_the_oauth_flow(oauth_bot: Bot) -> None:
    page = oauth_bot.http("/slack/install", method="GET")
    assert page.status == 200
    assert "https://slack.com/oauth/v2/authorize?state=" in page.body and "client_id=123.456" in page.body
    assert "scope=commands" in page.body
    bad = oauth_bot.http("/slack/oauth_redirect?code=x&state=forged", method="GET")
    assert bad.status in (400, 401, 403)


def test_commands_from_an_uninstalled_team_are_refused(oauth_bot: Bot) -> None:
    r = oauth_bot.command("/health", "acme")
    assert r.status == 200 and "Acme" not in str(r.body)


def test_scheduled_posts_use_each_workspace_own_token(db: Database) -> None:
    """OAuth mode: the outbox posts a workspace's digest with that workspace's (decrypted) bot token,
    and a workspace without an installation has no token rather than someone else's."""
    from bot.settings import build_settings
    from bot.tokens import NoToken, WorkspaceClients

    now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    with FakeSlack(tokens={"xoxb-team-a", "xoxb-team-b"}) as fake:
        settings = build_settings(
            DATABASE_URL=db.url,
            SLACK_CLIENT_ID="123.456",
            SLACK_CLIENT_SECRET="secret",
            TOKEN_ENCRYPTION_KEY=KEY.decode(),
            SLACK_API_URL=fake.api_url,
        )
        store = EncryptedInstallationStore("123.456", db.engine, KEY)
        store.save(installation("TA", "xoxb-team-a"))
        store.save(installation("TB", "xoxb-team-b"))
        with db.write() as s:
            a = workspace_for_team(s, team_id="TA", enterprise_id=None, single_workspace=None, now=now)
            b = workspace_for_team(s, team_id="TB", enterprise_id=None, single_workspace=None, now=now)
            c = workspace_for_team(s, team_id="TC", enterprise_id=None, single_workspace=None, now=now)
        clients = WorkspaceClients(settings, db)
        assert clients(a).token == "xoxb-team-a"
        assert clients(b).token == "xoxb-team-b"
        with pytest.raises(NoToken, match="reinstall"):
            clients(c)
        assert clients(a).chat_postMessage(channel="C1", text="hi")["ok"]
