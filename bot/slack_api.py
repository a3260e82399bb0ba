"""Calling the Slack Web API: one configured client (its errors' words: ``blocks.slack_errors``)."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.keepalive import KeepAliveWebClient
from bot.settings import Settings


class ServerErrorRetryHandler(RetryHandler):
    """Retry 5xx answers with backoff (slack_sdk retries only connection errors by default)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


def make_client(settings: Settings, token: str | None = None, *, outbox: bool = False) -> WebClient:
    """The Web API client. ``outbox=True``: no automatic retries at all, because a retried
    chat.postMessage can post twice (no idempotency key); the outbox decides (``bot.outbox``). The
    outbox's client reuses its connections (``bot.keepalive``): a fan-out sends thousands of calls."""
    if outbox:
        pooled = KeepAliveWebClient(token=token, base_url=settings.slack_api_url, timeout=10)
        pooled.retry_handlers = []
        return pooled
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5)
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
    ]
    return client
