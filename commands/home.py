"""App Home (``app_home_opened`` → ``views.publish``): my accounts with health, my open handoffs and
the latest scorecard. Slack retries events; each ``event_id`` is handled once."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from blocks import kit
from blocks.slack_errors import DEAD_TOKEN_ERRORS, advice, error_name
from blocks.text import MAX_VIEW_BLOCKS
from commands import replies
from commands.context import Context
from commands.handoffs import handoff_rows
from services.scorecard import build_scorecard
from services.tenancy import disable_workspace
from storage.accounts import owned_accounts
from storage.events import claim_event
from storage.handoffs import open_handoffs
from storage.people import person_by_slack_id

logger = logging.getLogger(__name__)


def first_time(ctx: Context, session: Any, event_id: str | None, team_id: str | None) -> bool:
    """Claim the event; False when it was handled already (a Slack retry)."""
    if not event_id:
        return True
    return claim_event(session, event_id, team_id, ctx.clock())


def home_view(ctx: Context, session: Any, ws: int, user_id: str) -> dict[str, Any]:
    now = ctx.clock()
    blocks: list[dict[str, Any]] = [kit.header("Retention — your part in it")]
    me = person_by_slack_id(session, ws, user_id)
    if me is None:
        blocks.append(
            kit.section(
                "Your Slack user isn't in the people list yet, so I can't show your accounts. "
                "Ask RevOps to import people with `slack_user_id`; meanwhile `/health ACCOUNT` works."
            )
        )
    else:
        rows, total = owned_accounts(session, ws, me.id, limit=replies.MAX_LIST)
        blocks += replies.my_accounts(rows, total)["blocks"]
        mine = open_handoffs(session, ws, owner_ids=[me.id])
        blocks += replies.handoffs("Your open handoffs", handoff_rows(mine, now), "none open")["blocks"]
    card = build_scorecard(session, ws, as_of=now.date(), period_kind="week", policies=ctx.policies)
    score = replies.scorecard(card, shared_by=None)["blocks"]
    blocks += [b for b in score if b["type"] != "actions"]  # no "post" button on the Home tab
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


def register(app: App, ctx: Context) -> None:
    @app.event("app_home_opened")
    def app_home_opened(body: dict[str, Any], event: dict[str, Any], client: Any) -> None:
        if event.get("tab") not in (None, "home"):
            return
        team_id, enterprise_id = body.get("team_id"), body.get("enterprise_id")
        ws = ctx.workspace(team_id, enterprise_id)
        with ctx.db.write() as session:
            if not first_time(ctx, session, body.get("event_id"), team_id):
                return
            view = home_view(ctx, session, ws, event["user"])
        try:
            client.views_publish(user_id=event["user"], view=view)
        except SlackApiError as exc:
            logger.warning("App Home for %s not published: %s", event["user"], advice(exc))
            if error_name(exc) in DEAD_TOKEN_ERRORS:
                with ctx.db.write() as session:
                    disable_workspace(session, ws, advice(exc))
