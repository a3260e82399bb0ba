"""No secret in the logs at any level: an OAuth install and a forged request logged at DEBUG through the
real server, and the redaction of each kind of secret."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet

from bot.logs import RedactSecrets, redact_secrets
from storage.db import Database
from testkit.fake_slack import FakeSlack
from tests.support.slack_harness import Bot, install

KEY = Fernet.generate_key()
HOOK = "https://hooks.slack.com/commands/T1/1234567890/AbCdEfGhIjKlMnOp"
BOT_TOKEN = "xoxb-1111-2222-SecretBotTokenValue"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    """Everything logged anywhere, formatted as an operator's log handler would write it."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = root.level
    root.addHandler(handler)
    yield stream, root
    root.removeHandler(handler)
    root.setLevel(level)


def oauth_bot(db: Database, fake: FakeSlack) -> Bot:
    return Bot(
        db,
        fake,
        SLACK_CLIENT_ID=fake.client_id,
        SLACK_CLIENT_SECRET=fake.client_secret,
        TOKEN_ENCRYPTION_KEY=KEY.decode(),
    )


def forged_command(bot: Bot) -> int:
    """A slash command with a real-looking response URL, signed with the wrong secret."""
    form = {"team_id": "T1", "user_id": "U1", "command": "/health", "text": "acme", "response_url": HOOK}
    return bot.signed(urlencode(form), "application/x-www-form-urlencoded", secret="not-the-secret").status


def test_an_oauth_install_logged_at_debug_shows_no_secret(
    db: Database, captured: tuple[io.StringIO, logging.Logger]
) -> None:
    stream, root = captured
    root.setLevel(logging.DEBUG)  # before the app is built: Bolt's loggers copy the root level then
    with FakeSlack() as fake:
        bot = oauth_bot(db, fake)
        try:
            redact_secrets(bot.settings)
            assert install(bot, "code-1", user="U1", team="T1", token=BOT_TOKEN).status == 200
            assert forged_command(bot) == 401
        finally:
            bot.close()
    log = stream.getvalue()
    # The records were there: slack_sdk logged the token exchange, the server the forged request's body.
    assert "oauth.v2.access" in log and "the refused request's body" in log
    assert "xox" not in log and "SecretBotTokenValue" not in log
    assert "hooks.slack.com/commands" not in log and "AbCdEfGhIjKlMnOp" not in log
    assert fake.client_secret not in log and "test-signing-secret" not in log
    assert "[redacted]" in log


def test_a_rejected_request_body_is_not_logged_above_debug(
    db: Database, captured: tuple[io.StringIO, logging.Logger]
) -> None:
    stream, root = captured
    root.setLevel(logging.INFO)
    with FakeSlack() as fake:
        bot = oauth_bot(db, fake)
        try:
            redact_secrets(bot.settings)
            assert forged_command(bot) == 401
        finally:
            bot.close()
    assert "refused a request" in stream.getvalue()
    assert "response_url" not in stream.getvalue() and "acme" not in stream.getvalue()


@pytest.mark.parametrize(
    "secret",
    [
        "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
        "xoxp-2-3-4-abcdef",
        "xoxa-2-abc",
        "xoxe-1-My0xLTIyMTk",
        "xoxe.xoxp-1-Mi0yLTIyMTk",
        "xoxe.xoxb-1-MS0yLTIyMTk",
        "xapp-1-A0123-456-abcdef",
        "https://hooks.slack.com/actions/T1/2/abc",
        "https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F2%2Fabc",
        "https://hooks.slack.com/services/T1/B2/xyz",
    ],
)
def test_each_kind_of_slack_secret_is_redacted(secret: str) -> None:
    record = logging.LogRecord(
        "x", logging.DEBUG, __file__, 1, "got %s and %r", (secret, {"k": secret}), None
    )
    RedactSecrets().filter(record)
    message = record.getMessage()
    tail = secret.rsplit("-", 1)[-1].rsplit("%2F", 1)[-1].rsplit("/", 1)[-1]
    assert tail not in message and message.count("[redacted]") == 2, message


def test_secret_fields_and_setting_values_are_redacted() -> None:
    redactor = RedactSecrets(["my-signing-secret-value", "short"])
    text = redactor.redact(
        "client_secret=abc123&code=x token=legacy-token {'signing_secret': 'zzz'} "
        "my-signing-secret-value short"
    )
    assert text == (
        "client_secret=[redacted]&code=x token=[redacted] {'signing_secret': '[redacted]'} [redacted] short"
    )
    try:
        raise ValueError(f"bad {BOT_TOKEN}")
    except ValueError as exc:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, (type(exc), exc, None))
    redactor.filter(record)
    assert "SecretBotTokenValue" not in logging.Formatter().format(record)
