"""Why a service did nothing: exceptions that carry what the person should be told."""

from __future__ import annotations


class Refusal(Exception):
    """Raised by a service when the person should be told why nothing happened (the message says).
    The message is sent as mrkdwn, as written: text from data in it goes through ``slack_escape``."""


class ConfigError(Exception):
    """A setting or policy file is wrong; the message says which and how to fix it."""
