"""Slack Web API errors in words people (or an operator) can act on."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

DEAD_TOKEN_ERRORS = ("account_inactive", "token_revoked", "invalid_auth", "not_authed")

# What to tell a person (or an operator) for each error Slack names (docs/slack.md).
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


def error_name(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or exc.response.status_code)


def advice(exc: SlackApiError) -> str:
    name = error_name(exc)
    return ERROR_ADVICE.get(name, f"Slack answered {name}")
