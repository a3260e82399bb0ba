"""Secrets never reach the logs, at any level.

slack_sdk logs every Web API response at DEBUG, ``oauth.v2.access``'s with the new bot token in it, and
Bolt logs the body of a request whose signature it rejects (with its response URL, which lets anyone
post into the channel for half an hour). ``redact_secrets`` puts a filter on the root logger's
handlers that rewrites every record before it is written: Slack tokens, response and webhook URLs,
``token``/``client_secret``-style fields, and the values of the secret settings (their exact text).
``demote_rejected_bodies`` makes Bolt's rejected-request line a DEBUG record.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

from pydantic import SecretStr

from bot.settings import Settings

# xoxb- (bot), xoxp- (user), xoxa-/xoxr- (legacy app/refresh), xoxe- (refresh), xoxe.xoxb-/xoxe.xoxp-
# (rotating), xapp- (app-level).
SLACK_TOKEN = re.compile(r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9.\-]+")
# Response URLs and incoming webhooks, plain or URL-encoded (a form body).
SLACK_HOOK = re.compile(r"https?(?::|%3A)(?://|%2F%2F)hooks\.slack(?:-gov)?\.com[^\s\"'<>&,)}\]]*", re.I)
SECRET_FIELD = re.compile(
    r"""\b((?:client_secret|signing_secret|token|access_token|refresh_token)["']?\s*[:=]\s*["']?)"""
    r"""[^\s"'&,;)}\]]+""",
    re.I,
)
REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    """Rewrites each record's message (its arguments merged in), traceback and stack with secrets
    replaced; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole; very short values would
        # blank out ordinary words.
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = SLACK_TOKEN.sub(REDACTED, text)
        text = SLACK_HOOK.sub("https://hooks.slack.com/" + REDACTED, text)
        return SECRET_FIELD.sub(lambda m: m.group(1) + REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it; still hide what it holds
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def secret_values(settings: Settings) -> list[str]:
    """The text of every secret setting (tokens, client and signing secrets, the encryption key), and
    the warehouse password of ``[sync] url`` (docs/sync.md)."""
    values = [getattr(settings, name) for name in type(settings).model_fields]
    secrets = [value.get_secret_value() for value in values if isinstance(value, SecretStr)]
    return secrets + _warehouse_password(settings)


def _warehouse_password(settings: Settings) -> list[str]:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    from services.errors import ConfigError

    sync = settings.policies.sync
    if sync.url is None:
        return []
    try:
        resolved = sync.resolved_url(os.environ)
    except ConfigError:  # a variable not set yet: the sync says so when it runs
        return []
    try:
        password = make_url(resolved).password
    except (ArgumentError, ValueError):  # not a URL (the sync says so): keep all of it out of the logs
        return [resolved]
    return [str(password)] if password else []


def redact_secrets(settings: Settings, logger: logging.Logger | None = None) -> RedactSecrets:
    """Install the filter on every handler of ``logger`` (the root logger): a handler's filters see the
    records of every logger below it, which a logger's own filters do not. Call it after the handlers
    are configured."""
    redactor = RedactSecrets(secret_values(settings))
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(redactor)
    return redactor


class OnlyAtDebug(logging.Filter):
    """This logger's records are DEBUG records, whatever level they were logged at."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def demote_rejected_bodies() -> None:
    """Bolt logs a request it refuses for a bad signature, body included, at INFO: anyone on the
    internet can write lines to the log that way. Logged at DEBUG only (and redacted)."""
    verification = logging.getLogger("slack_bolt.RequestVerification")
    if not any(isinstance(f, OnlyAtDebug) for f in verification.filters):
        verification.addFilter(OnlyAtDebug())


class JsonLines(logging.Formatter):
    """``LOG_FORMAT=json``: one JSON object per line (time in UTC, level, logger, message, and the
    traceback when there is one), for a log shipper to parse. The message is the redacted one: the
    redaction filter has rewritten the record before any formatter sees it."""

    def format(self, record: logging.LogRecord) -> str:
        import datetime as dt
        import json

        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["traceback"] = record.exc_text
        if record.threadName and record.threadName != "MainThread":
            line["thread"] = record.threadName
        return json.dumps(line, ensure_ascii=False)


def use_json_lines(logger: logging.Logger | None = None) -> None:
    """Every handler of ``logger`` (the root logger) writes JSON lines."""
    for handler in (logger or logging.getLogger()).handlers:
        handler.setFormatter(JsonLines())
