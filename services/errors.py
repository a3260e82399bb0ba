"""Why a service did nothing: exceptions that carry what the person should be told."""

from __future__ import annotations

from storage.lookup import Match


class Refusal(Exception):
    """Raised by a service when the person should be told why nothing happened (the message says).
    The message is sent as mrkdwn, as written: text from data in it goes through ``slack_escape``."""


class ConfigError(Exception):
    """A setting or policy file is wrong; the message says which and how to fix it."""


class NoSingleAccount(Refusal):
    """No account, or more than one, matches ``query``: the candidates to choose from (ambiguous) or
    the suggestions (not found)."""

    def __init__(self, query: str, candidates: list[Match], suggestions: list[Match]) -> None:
        super().__init__(f"no single account matches {query!r}")
        self.query, self.candidates, self.suggestions = query, candidates, suggestions


class UnknownPeople(Refusal):
    """People named by Slack id who are not in the people list, so they cannot be credited."""

    def __init__(self, slack_ids: list[str]) -> None:
        super().__init__(f"not in the people list: {', '.join(slack_ids)}")
        self.slack_ids = slack_ids


class NothingToCredit(Refusal):
    """A win that names no person and no team to credit."""
