"""The Slack app factory: ``create_app(settings, db)`` builds the Bolt ``App`` and registers every
listener. Nothing here runs at import time."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from slack_bolt import App, BoltResponse

from bot.logs import demote_rejected_bodies
from bot.oauth import oauth_settings
from bot.scheduler import announce_wins
from bot.settings import Settings
from bot.slack_api import make_client
from bot.tokens import WorkspaceClients
from commands import register
from commands.answer import ANSWER_BUDGET_SECONDS, Answerer
from commands.context import Context
from services.tenancy import ForeignTeam
from storage.db import Database

logger = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: Settings,
    db: Database,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
    answer_budget: float | None = None,
) -> tuple[App, Context]:
    """The Bolt app and the context its listeners share (for shutdown and tests)."""
    # Twice the request threads: a command past its budget keeps its worker until it has answered
    # through response_url, and the next commands should not queue behind it.
    workers = 2 * settings.server_threads
    ctx = Context(
        db,
        clock,
        Answerer(workers, budget=ANSWER_BUDGET_SECONDS if answer_budget is None else answer_budget),
        policies=settings.policies,
        admin_user_ids=frozenset(settings.admin_user_ids),
        single_workspace=None if settings.oauth else settings.workspace,
        announce_wins=announce_wins(settings),
        clients=WorkspaceClients(settings, db),
    )
    common: dict[str, Any] = {
        "signing_secret": settings.slack_signing_secret.get_secret_value()
        if settings.slack_signing_secret
        else None,
        "process_before_response": True,   # listeners answer in the request (commands.answer: < 3 s)
        "name": "retention-bot",
    }
    if settings.oauth:
        app = App(oauth_settings=oauth_settings(settings, db.engine), client=make_client(settings), **common)
    else:
        assert settings.slack_bot_token is not None
        token = settings.slack_bot_token.get_secret_value()
        app = App(client=make_client(settings, token), token_verification_enabled=False, **common)

    demote_rejected_bodies()

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        if isinstance(error, ForeignTeam):
            logger.warning("refused a request from another team: %s", error)
            return BoltResponse(status=200, body="This bot is not installed for your workspace.")
        if isinstance(error, ValidationError):  # a signed payload without the fields a listener reads
            logger.warning("refused a Slack payload: %s", str(error).splitlines()[0])
            return BoltResponse(status=400, body="bad request")
        logger.exception("unhandled error in a Slack listener", exc_info=error)
        return None

    register(app, ctx)
    return app, ctx
