"""Buttons: "Share in channel" on a health card, "Post to channel" on a scorecard, and the account
choices offered for ambiguous or misspelled lookups.

Sharing is claimed once in the delivery ledger (unique key: the message and what it shares), so a
second press, a double click or a retried request posts nothing more.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

from slack_bolt import App

from commands import replies
from commands.context import ButtonPress, Context
from digests.scorecard import build_scorecard
from storage.accounts import account_card
from storage.models import Account, Delivery
from storage.upsert import insert_ignore

logger = logging.getLogger(__name__)


def _claim(ctx: Context, session: Any, ws: int, press: ButtonPress, subject: str) -> bool:
    now = ctx.clock()
    return bool(
        insert_ignore(
            session,
            Delivery,
            [
                {
                    "workspace_id": ws,
                    "kind": "share",
                    "subject": subject[:200],
                    "channel_id": press.channel_id or "",
                    "state": "posted",
                    "attempts": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
            ["workspace_id", "kind", "subject"],
        )
    )


def _account(session: Any, ws: int, account_id: object) -> Account | None:
    """The account a button names, only if it still exists in this workspace (values come from Slack)."""
    account = session.get(Account, account_id) if isinstance(account_id, int) else None
    return account if account is not None and account.workspace_id == ws else None


def _value(press: ButtonPress) -> dict[str, Any]:
    try:
        value = json.loads(press.value)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def share_health(ctx: Context, press: ButtonPress, respond: Any) -> None:
    account_id = _value(press).get("account_id")
    now = ctx.clock()
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    with ctx.db.write() as session:
        if _account(session, ws, account_id) is None:
            respond(replace_original=False, **replies.text_reply("That account is no longer available."))
            return
        if not _claim(
            ctx, session, ws, press, f"health:{press.channel_id}:{press.message_ts}:{account_id}"
        ):
            return  # already shared from this message
        card = account_card(session, ws, account_id, now=now, policy=ctx.policies.health)
    reply = replies.health_card(card, now, ctx.policies.currency, shared_by=press.user_id)
    respond(response_type="in_channel", replace_original=False, **reply)
    respond(delete_original=True)


def share_scorecard(ctx: Context, press: ButtonPress, respond: Any) -> None:
    value = _value(press)
    period = value.get("period") if value.get("period") in ("week", "month", "quarter") else "week"
    segment = value.get("segment") if isinstance(value.get("segment"), str) else None
    try:
        as_of = dt.date.fromisoformat(value.get("as_of", ""))
    except ValueError:
        as_of = ctx.clock().date()
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    with ctx.db.write() as session:
        subject = f"scorecard:{press.channel_id}:{press.message_ts}:{period}:{segment}"
        if not _claim(ctx, session, ws, press, subject):
            return
        card = build_scorecard(
            session, ws, as_of=as_of, period_kind=period, policies=ctx.policies, segment=segment
        )
    respond(
        response_type="in_channel", replace_original=False, **replies.scorecard(card, shared_by=press.user_id)
    )
    respond(delete_original=True)


def pick_account(ctx: Context, press: ButtonPress, respond: Any) -> None:
    account_id = _value(press).get("account_id")
    now = ctx.clock()
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    with ctx.db.read() as session:
        account = _account(session, ws, account_id)
        if account is None:
            respond(replace_original=True, **replies.text_reply("That account is no longer available."))
            return
        card = account_card(session, ws, account.id, now=now, policy=ctx.policies.health)
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
