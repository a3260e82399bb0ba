"""Bot tokens for work nobody asked for in a request (digests, shout-outs, notices).

Single-workspace mode has one bot token in the settings. OAuth mode reads each workspace's bot from
the (encrypted) installation store and, when Slack's token rotation is on, refreshes a token that is
about to expire and saves the new one: Bolt only rotates tokens on incoming requests (docs/slack.md).
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.oauth.token_rotation import TokenRotator

from bot.oauth import oauth_settings
from bot.settings import Settings
from bot.slack_api import make_client
from storage.db import Database
from storage.workspaces import slack_installation

logger = logging.getLogger(__name__)


class NoToken(Exception):
    """The workspace has no usable bot token (not installed, or no Slack settings at all)."""


class WorkspaceClients:
    """One outbox ``WebClient`` per workspace, built on first use."""

    def __init__(self, settings: Settings, db: Database, *, refresh_seconds: float = 300) -> None:
        self.settings = settings
        self.db = db
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._clients: dict[int, tuple[WebClient, float]] = {}
        self._oauth = oauth_settings(settings, db.engine) if settings.oauth else None

    def __call__(self, ws: int) -> WebClient:
        """The workspace's client; in OAuth mode its token is read (and rotated if about to expire)
        again after ``refresh_seconds``, not for every message of a fan-out."""
        with self._lock:
            cached = self._clients.get(ws)
            if cached is None or (self._oauth is not None and time.monotonic() >= cached[1]):
                cached = (
                    make_client(self.settings, self._token(ws), outbox=True),
                    time.monotonic() + self.refresh_seconds,
                )
                self._clients[ws] = cached
            return cached[0]

    def _token(self, ws: int) -> str:
        if self._oauth is None:
            if self.settings.slack_bot_token is None:
                raise NoToken("no SLACK_BOT_TOKEN is set")
            return self.settings.slack_bot_token.get_secret_value()
        with self.db.read() as session:
            team = slack_installation(session, ws)
        if team is None or (team[0] is None and team[1] is None):
            raise NoToken(f"workspace {ws} has no Slack installation")
        store = self._oauth.installation_store
        bot = store.find_bot(enterprise_id=team[1], team_id=team[0]) or store.find_bot(
            enterprise_id=team[1], team_id=None, is_enterprise_install=True
        )
        if bot is None or not bot.bot_token:
            raise NoToken(f"workspace {ws} ({team[0] or team[1]}) has no bot token: reinstall the app")
        if bot.bot_refresh_token:
            rotator = TokenRotator(
                client_id=self._oauth.client_id,
                client_secret=self._oauth.client_secret,
                client=make_client(self.settings),
            )
            # Rotated when it expires within the next refresh (plus a margin), so a cached client
            # never holds an expired token.
            minutes = int(self.refresh_seconds // 60) + 10
            fresh = rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=minutes)
            if fresh is not None:
                store.save_bot(fresh)
                bot = fresh
        return str(bot.bot_token)
