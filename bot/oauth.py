"""OAuth (multi-workspace) mode: slack_sdk's SQLAlchemy stores in our database, tokens encrypted.

slack_sdk stores tokens in plain text; ``EncryptedInstallationStore`` encrypts every token with
Fernet (key from ``TOKEN_ENCRYPTION_KEY``) as it is written to its column and decrypts it as it is read.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, Text
from sqlalchemy.types import TypeDecorator

from bot.settings import Settings

TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
# Least privilege for what the bot calls (docs/slack-manifest.json): slash commands, posting, and reading
# back its own messages — after a Slack error that may hide a post (fatal_error, a 5xx, a dropped
# connection) the outbox looks for the message before it ever sends it again (bot.outbox): in channels
# (channels:history, groups:history) and in DMs, whose conversation id conversations.open gives
# (im:write) and whose history needs im:history. files:write: the digest's charts, uploaded into its thread.
# (im:write) and whose history needs im:history.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "channels:history",
    "groups:history",
    "im:write",
    "im:history",
    "files:write",
    "users:read",
    "users:read.email",
    "reactions:read",
    "channels:read",
    "groups:read",
)


class EncryptedToken(TypeDecorator[str]):
    """A token column encrypted with Fernet: encrypted when written, decrypted when read."""

    impl = Text  # encrypted, a rotating token takes over 300 characters (migration 0006)
    cache_ok = True

    def __init__(self, fernet: Fernet) -> None:
        super().__init__()
        self.fernet = fernet

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else self.fernet.encrypt(value.encode()).decode()

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else self.fernet.decrypt(value.encode()).decode()


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's store with its token columns typed ``EncryptedToken``: tokens are encrypted and
    decrypted at the database boundary only, so every entity the store hands around holds plain
    tokens. (Decrypting the entities its methods return instead decrypted twice whenever one method
    copied a token from another's result: ``find_installation(user_id=…)`` takes the bot token from
    ``find_bot``, and a second installer locked the first one out.)"""

    def __init__(self, client_id: str, engine: Engine, key: bytes) -> None:
        super().__init__(client_id=client_id, engine=engine)
        encrypted = EncryptedToken(Fernet(key))
        for table in (self.bots, self.installations):
            for name in TOKEN_FIELDS:
                if name in table.c:
                    table.c[name].type = encrypted


def oauth_settings(settings: Settings, engine: Engine) -> OAuthSettings:
    assert settings.slack_client_id and settings.slack_client_secret and settings.token_encryption_key
    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        installation_store=EncryptedInstallationStore(
            settings.slack_client_id, engine, settings.token_encryption_key.get_secret_value().encode()
        ),
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine),
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
    )
