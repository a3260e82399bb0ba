"""/scorecard [SEGMENT] [week|month|quarter]: the shared scorecard, privately, with "Post to channel"."""

from __future__ import annotations

from slack_bolt import App

from commands import cuts, replies
from commands.answer import Reply
from commands.context import Context, SlashCommand, slash_command
from commands.subscriptions import subscription_reply
from services import scorecard
from services.errors import UnknownSegment
from storage.periods import PERIOD_KINDS

USAGE = [
    ("/scorecard", "this week's shared scorecard, every KPI with its change and owner teams"),
    ("/scorecard month", "the same for the last month (or `quarter`)"),
    (
        "/scorecard SEGMENT [week|month|quarter]",
        "only accounts of one segment, e.g. `/scorecard enterprise month`",
    ),
    (
        "/scorecard subscribe #channel [WEEKDAY] [HH:MM] [Area/City] [segment]",
        "weekly digest in a channel (admins; default Monday 09:00 in the workspace's time zone)",
    ),
    cuts.USAGE,
    ("/scorecard subscriptions", "the channels that get the weekly digest"),
    ("/scorecard unsubscribe #channel", "stop a channel's digest (admins)"),
]


def scorecard_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    raw = cmd.text.split()
    if raw[:1] and raw[0].lower() in ("subscribe", "subscriptions", "unsubscribe"):
        return subscription_reply(ctx, cmd, raw[0].lower(), raw[1:])
    words = cmd.text.lower().split()
    if words[:1] in (["help"], ["?"]):
        return replies.help_reply("/scorecard", USAGE)
    if words[:1] == ["by"]:
        return cuts.cut_reply(ctx, cmd, words[1:])
    period = next((w for w in words if w in PERIOD_KINDS), "week")
    rest = [w for w in words if w not in PERIOD_KINDS]
    if len(rest) > 1:
        return replies.error_reply(
            "I understand one segment and one period.", "Try `/scorecard enterprise month`."
        )
    segment = rest[0] if rest else None
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    try:
        card = scorecard.scorecard(
            ctx.db,
            ws,
            as_of=ctx.clock().date(),
            period=period,  # type: ignore[arg-type]
            policies=ctx.policies,
            segment=segment,
        )
    except UnknownSegment as refusal:
        return replies.unknown_segment(refusal)
    return replies.scorecard(card)


def register(app: App, ctx: Context) -> None:
    slash_command(app, ctx, "/scorecard", scorecard_reply)
