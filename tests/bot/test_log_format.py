"""LOG_FORMAT=json: one JSON object per line for a log shipper, secrets redacted as in plain lines."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import redact_secrets, use_json_lines
from bot.settings import build_settings
from services.errors import ConfigError

TOKEN = "xoxb-1111-2222-SecretBotTokenValue"


def test_json_lines_carry_the_redacted_message_and_traceback() -> None:
    logger = logging.getLogger("test.json_lines")
    logger.propagate = False
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    logger.setLevel(logging.INFO)
    settings = build_settings(SLACK_BOT_TOKEN=TOKEN, LOG_FORMAT="json")
    assert settings.log_format == "json"
    redact_secrets(settings, logger)
    use_json_lines(logger)
    logger.info("posting with %s to %s", TOKEN, "C1")
    try:
        raise RuntimeError(f"Slack said no to {TOKEN}")
    except RuntimeError:
        logger.exception("delivery failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{"))
    assert (first["level"], first["logger"], first["message"]) == (
        "INFO",
        "test.json_lines",
        "posting with [redacted] to C1",
    )
    assert first["time"].endswith("+00:00")
    assert second["message"] == "delivery failed" and "RuntimeError" in second["traceback"]
    assert TOKEN not in stream.getvalue()


def test_an_unknown_log_format_is_one_line() -> None:
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        build_settings(LOG_FORMAT="xml")
