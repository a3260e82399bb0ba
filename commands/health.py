"""/health [ACCOUNT]: the account health card, privately, with a "Share in channel" button.

No argument: the requester's own accounts, worst health first.
"""

from __future__ import annotations

from slack_bolt import App

from commands import replies
from commands.answer import Reply
from commands.context import Context, SlashCommand, slash_command
from services import accounts
from services.errors import NoSingleAccount

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
    if not query:
        mine = accounts.my_accounts(ctx.db, ws, cmd.user_id, limit=replies.MAX_LIST, today=now.date())
        if mine is None:
            return replies.error_reply(
                "I don't know which accounts are yours: your Slack user isn't in the people list yet.",
                "Ask RevOps to import people with your slack_user_id, or look one up: `/health ACCOUNT`.",
            )
        return replies.my_accounts(mine.rows, mine.total, mine.histories)
    try:
        card = accounts.card(ctx.db, ws, query, now=now, policy=ctx.policies.health)
    except NoSingleAccount as refusal:
        return replies.no_single_account(refusal)
    titles = {p.key: p.title for p in ctx.policies.plays}
    return replies.health_card(card, now, ctx.policies.currency, typo_of=card.typo_of, play_titles=titles)


def register(app: App, ctx: Context) -> None:
    slash_command(app, ctx, "/health", health_reply)
