"""Answer a slash command inside Slack's 3 seconds, always.

The work runs on a worker thread. When it finishes within ``budget`` seconds, its reply goes back in
the HTTP response itself (no extra round trip); otherwise the command is acknowledged with a short
"working on it" and the reply follows through ``response_url`` when it is ready.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from services.errors import Refusal

logger = logging.getLogger(__name__)

Reply = dict[str, Any]  # {"text": ..., "blocks": [...], "response_type": ...}
ANSWER_BUDGET_SECONDS = 2.0
WORKING = {"text": "Working on it… the answer follows here in a moment."}
FAILED = {"text": "Sorry, that failed on our side and has been logged. Please try again in a minute."}


class Answerer:
    def __init__(self, workers: int = 8, budget: float = ANSWER_BUDGET_SECONDS) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer")
        self.budget = budget

    def __call__(
        self, ack: Callable[..., None], respond: Callable[..., Any], work: Callable[[], Reply]
    ) -> None:
        future: Future[Reply] = self.pool.submit(_safe, work)
        try:
            reply = future.result(timeout=self.budget)
        except FutureTimeout:
            ack(**WORKING)
            future.add_done_callback(lambda f: _follow_up(respond, f.result()))
            return
        ack(**reply)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)


def _safe(work: Callable[[], Reply]) -> Reply:
    try:
        return work()
    except Refusal as exc:
        return {
            "text": str(exc),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": str(exc)}}],
        }
    except Exception:
        logger.exception("slash command failed")
        return FAILED


def _follow_up(respond: Callable[..., Any], reply: Reply) -> None:
    try:
        respond(replace_original=True, **reply)
    except Exception:
        logger.exception("could not post the late answer to response_url")
