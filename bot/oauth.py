"""OAuth (multi-workspace) mode: slack_sdk's SQLAlchemy stores in our database, tokens encrypted.

slack_sdk stores tokens in plain text; ``EncryptedInstallationStore`` encrypts every token with
Fernet (key from ``TOKEN_ENCRYPTION_KEY``) before it is written and decrypts it when read.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from cryptography.fernet import Fernet
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from bot.settings import Settings

TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
# Least privilege for what the bot calls (docs/slack-manifest.json): slash commands, posting, and reading
# back its own messages — after a Slack error that may hide a post (fatal_error, a 5xx, a dropped
# connection) the outbox looks for the message before it ever sends it again (bot.outbox): in channels
# (channels:history, groups:history) and in DMs, whose conversation id conversations.open gives
# (im:write) and whose history needs im:history.
BOT_SCOPES = ("commands", "chat:write", "channels:history", "groups:history", "im:write", "im:history")


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    def __init__(self, client_id: str, engine: Engine, key: bytes) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self._fernet = Fernet(key)
        self._saving = threading.local()

    def _crypt(self, entity: Any, fn: Any) -> Any:
        out = copy.copy(entity)
        for name in TOKEN_FIELDS:
            value = getattr(out, name, None)
            if value:
                setattr(out, name, fn(value))
        return out

    def _encrypt(self, entity: Any) -> Any:
        return self._crypt(entity, lambda v: self._fernet.encrypt(v.encode()).decode())

    def _decrypt(self, entity: Any) -> Any:
        return (
            None
            if entity is None
            else self._crypt(entity, lambda v: self._fernet.decrypt(v.encode()).decode())
        )

    def save(self, installation: Installation) -> None:
        self._saving.active = True  # save() calls save_bot() with tokens it already encrypted
        try:
            super().save(self._encrypt(installation))
        finally:
            self._saving.active = False

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(bot if getattr(self._saving, "active", False) else self._encrypt(bot))

    def find_bot(self, **kwargs: Any) -> Bot | None:
        return self._decrypt(super().find_bot(**kwargs))

    def find_installation(self, **kwargs: Any) -> Installation | None:
        return self._decrypt(super().find_installation(**kwargs))


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
