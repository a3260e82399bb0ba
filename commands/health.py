"""/health [ACCOUNT]: the account health card, privately, with a "Share in channel" button.

No argument: the requester's own accounts, worst health first.
"""

from __future__ import annotations

from slack_bolt import App

from commands import replies
from commands.answer import Reply
from commands.context import Context, SlashCommand, slash_command
from storage.accounts import account_card, owned_accounts
from storage.lookup import find_account
from storage.people import person_by_slack_id

USAGE = [
    (
        "/health ACCOUNT",
        "one account's card: CRM id, domain, name, the start of a name, or a name with a typo",
    ),
    ("/health", "your own accounts, worst health first"),
    ("/health help", "this help"),
]


def health_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    query = " ".join(cmd.text.split())
    if query.lower() in ("help", "?"):
        return replies.help_reply("/health", USAGE)
    now = ctx.clock()
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    with ctx.db.read() as session:
        if not query:
            me = person_by_slack_id(session, ws, cmd.user_id)
            if me is None:
                return replies.error_reply(
                    "I don't know which accounts are yours: your Slack user isn't in the people list yet.",
                    "Ask RevOps to import people with your slack_user_id, or look one up: `/health ACCOUNT`.",
                )
            rows, total = owned_accounts(session, ws, me.id, limit=replies.MAX_LIST)
            return replies.my_accounts(rows, total)
        found = find_account(session, ws, query)
        if found.match is None:
            if found.candidates:
                return replies.choose_account(query, found.candidates, did_you_mean=False)
            if found.suggestions:
                return replies.choose_account(query, found.suggestions, did_you_mean=True, more=found.more)
            return replies.not_found(query)
        card = account_card(session, ws, found.match.id, now=now, policy=ctx.policies.health)
    typo_of = query if found.guessed else None
    return replies.health_card(card, now, ctx.policies.currency, typo_of=typo_of)


def register(app: App, ctx: Context) -> None:
    slash_command(app, ctx, "/health", health_reply)
