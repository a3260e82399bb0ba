"""App Home (``app_home_opened`` → ``views.publish``): my accounts with health, my open handoffs and
plays, and the latest scorecard. Slack retries events; each ``event_id`` is handled once."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from blocks import kit
from blocks.plays import play_lines
from blocks.slack_errors import DEAD_TOKEN_ERRORS, advice, error_name
from blocks.text import MAX_VIEW_BLOCKS
from commands import replies
from commands.context import Context
from commands.handoffs import handoff_rows
from services.home import Home, first_time, home
from services.tenancy import disable_workspace_now

logger = logging.getLogger(__name__)


def home_of(ctx: Context, ws: int, user_id: str, now: dt.datetime) -> Home:
    """What the Home tab shows ``user_id`` at ``now``."""
    return home(ctx.db, ws, user_id, now=now, policies=ctx.policies, limit=replies.MAX_LIST)


def home_plays(data: Home, now: dt.datetime) -> list[dict[str, Any]]:
    """My open plays, due first (at most 30 listed; `/plays` has them all)."""
    overdue = sum(1 for v in data.plays if v.overdue)
    head = f"*Your open plays* ({len(data.plays)}{f', {overdue} overdue' if overdue else ''})"
    if not data.plays:
        return [kit.section(f"{head}: none open")]
    return [kit.section(head), *(kit.section(c) for c in play_lines(data.plays, now, owner=False, limit=30))]


def home_view(data: Home, now: dt.datetime) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [kit.header("Retention — your part in it")]
    if data.mine is None:
        blocks.append(
            kit.section(
                "Your Slack user isn't in the people list yet, so I can't show your accounts. "
                "Ask RevOps to import people with `slack_user_id`; meanwhile `/health ACCOUNT` works."
            )
        )
    else:
        blocks += replies.my_accounts(data.mine.rows, data.mine.total, data.mine.histories)["blocks"]
        mine = handoff_rows(data.handoffs, now)
        blocks += replies.handoffs("Your open handoffs", mine, "none open")["blocks"]
        blocks += home_plays(data, now)
    score = replies.scorecard(data.scorecard, shared_by=None)["blocks"]
    blocks += [b for b in score if b["type"] != "actions"]  # no "post" button on the Home tab
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


def register(app: App, ctx: Context) -> None:
    @app.event("app_home_opened")
    def app_home_opened(body: dict[str, Any], event: dict[str, Any], client: Any) -> None:
        if event.get("tab") not in (None, "home"):
            return
        team_id, enterprise_id = body.get("team_id"), body.get("enterprise_id")
        ws = ctx.workspace(team_id, enterprise_id)
        if not first_time(ctx.db, body.get("event_id"), team_id, ctx.clock()):
            return
        ctx.identify_user(team_id, enterprise_id, event["user"])
        now = ctx.clock()
        view = home_view(home_of(ctx, ws, event["user"], now), now)
        try:
            client.views_publish(user_id=event["user"], view=view)
        except SlackApiError as exc:
            logger.warning("App Home for %s not published: %s", event["user"], advice(exc))
            if error_name(exc) in DEAD_TOKEN_ERRORS:
                disable_workspace_now(ctx.db, ws, advice(exc))
