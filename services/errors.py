"""Why a service did nothing: exceptions that carry what the person should be told."""

from __future__ import annotations

from storage.lookup import Match


class Refusal(Exception):
    """Raised by a service when the person should be told why nothing happened (the message says).
    The message is sent as mrkdwn, as written: text from data in it goes through ``slack_escape``."""


class ConfigError(Exception):
    """A setting or policy file is wrong; the message says which and how to fix it."""


class NoSingleAccount(Exception):
    """What was typed names no account, or several: the candidates (several match equally) or
    the suggestions ("did you mean"); ``more`` suggestions were left out. Each surface writes its
    own words for it (the Slack builders, the CLI's render)."""

    def __init__(self, query: str, candidates: list[Match], suggestions: list[Match], more: int = 0) -> None:
        super().__init__(query)
        self.query = query
        self.candidates = candidates
        self.suggestions = suggestions
        self.more = more


class UnknownSegment(Exception):
    """No account of the workspace is in ``segment``; ``known`` lists the segments there are."""

    def __init__(self, segment: str, known: list[str]) -> None:
        super().__init__(segment)
        self.segment = segment
        self.known = known


class AlreadyShared(Exception):
    """This message's card was shared already (a second press, a double click, a retried request)."""


class UnknownPeople(Refusal):
    """People named by Slack id who are not in the people list, so they cannot be credited."""

    def __init__(self, slack_ids: list[str]) -> None:
        super().__init__(f"not in the people list: {', '.join(slack_ids)}")
        self.slack_ids = slack_ids


class NothingToCredit(Refusal):
    """A win that names no person and no team to credit."""
