"""Buttons: "Share in channel" on a health card, "Post to channel" on a scorecard, and the account
choices offered for ambiguous or misspelled lookups.

Sharing is claimed once in the delivery ledger (unique key: the message and what it shares), so a
second press, a double click or a retried request posts nothing more.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App

from commands import replies
from commands.context import ButtonPress, Context, HealthShare, ScorecardShare
from services import scorecard
from services.accounts import card_by_id, share_card
from services.errors import AlreadyShared

logger = logging.getLogger(__name__)


def share_health(ctx: Context, press: ButtonPress, respond: Any) -> None:
    account_id = HealthShare.parse(press.value).account_id
    now = ctx.clock()
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    try:
        card = share_card(
            ctx.db,
            ws,
            account_id,
            channel_id=press.channel_id or "",
            subject=f"health:{press.channel_id}:{press.message_ts}:{account_id}",
            now=now,
            policy=ctx.policies.health,
        )
    except AlreadyShared:
        return  # already shared from this message
    if card is None:
        respond(replace_original=False, **replies.text_reply("That account is no longer available."))
        return
    reply = replies.health_card(card, now, ctx.policies.currency, shared_by=press.user_id)
    respond(response_type="in_channel", replace_original=False, **reply)
    respond(delete_original=True)


def share_scorecard(ctx: Context, press: ButtonPress, respond: Any) -> None:
    value = ScorecardShare.parse(press.value)
    now = ctx.clock()
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    try:
        card = scorecard.share(
            ctx.db,
            ws,
            channel_id=press.channel_id or "",
            subject=f"scorecard:{press.channel_id}:{press.message_ts}:{value.period}:{value.segment}",
            as_of=value.as_of or now.date(),
            period=value.period,
            policies=ctx.policies,
            segment=value.segment,
            now=now,
        )
    except AlreadyShared:
        return
    respond(
        response_type="in_channel", replace_original=False, **replies.scorecard(card, shared_by=press.user_id)
    )
    respond(delete_original=True)


def pick_account(ctx: Context, press: ButtonPress, respond: Any) -> None:
    account_id = HealthShare.parse(press.value).account_id
    now = ctx.clock()
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    card = card_by_id(ctx.db, ws, account_id, now=now, policy=ctx.policies.health)
    if card is None:
        respond(replace_original=True, **replies.text_reply("That account is no longer available."))
        return
    respond(replace_original=True, **replies.health_card(card, now, ctx.policies.currency))


def register(app: App, ctx: Context) -> None:
    def handler(fn: Any) -> Any:
        def listener(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
            ack()
            fn(ctx, ButtonPress.from_body(body, action), respond)

        return listener

    app.action("share_health")(handler(share_health))
    app.action("share_scorecard")(handler(share_scorecard))
    app.action(re.compile(r"^pick_account_\d+$"))(handler(pick_account))
    app.action("open_crm")(lambda ack: ack())  # a link button: Slack opens the URL, we only acknowledge
