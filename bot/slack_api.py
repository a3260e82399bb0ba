"""Calling the Slack Web API: one configured client, and errors turned into words people can act on."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler

from bot.settings import Settings

DEAD_TOKEN_ERRORS = ("account_inactive", "token_revoked", "invalid_auth", "not_authed")

# What to tell a person (or an operator) for each error Slack names (SLACK.md).
ERROR_ADVICE = {
    "not_in_channel": "the bot is not in that channel: type /invite @retention-bot there, then try again",
    "channel_not_found": "that channel does not exist or the bot cannot see it (invite it to private ones)",
    "is_archived": "that channel is archived: unarchive it or pick another channel",
    "user_not_found": "that person is not in this Slack workspace any more",
    "user_disabled": "that person's Slack account is deactivated",
    "account_inactive": "the bot's token is no longer valid: reinstall the app in this workspace",
    "token_revoked": "the bot's token was revoked: reinstall the app in this workspace",
    "invalid_auth": "the bot's token is not valid: check SLACK_BOT_TOKEN or reinstall the app",
    "ratelimited": "Slack is rate-limiting the bot: it will retry shortly",
    "fatal_error": "Slack had an internal error; the message may or may not have been posted",
}


class ServerErrorRetryHandler(RetryHandler):
    """Retry 5xx answers with backoff (slack_sdk retries only connection errors by default)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:  # type: ignore[no-untyped-def, override]
        return response is not None and response.status_code >= 500


def make_client(settings: Settings, token: str | None = None, *, outbox: bool = False) -> WebClient:
    """The Web API client. ``outbox=True``: no automatic retries at all, because a retried
    chat.postMessage can post twice (no idempotency key); the outbox decides (``bot.outbox``)."""
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
    if outbox:
        client.retry_handlers = []
        return client
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5)
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
    ]
    return client


def error_name(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or exc.response.status_code)


def advice(exc: SlackApiError) -> str:
    name = error_name(exc)
    return ERROR_ADVICE.get(name, f"Slack answered {name}")
