"""/scorecard [SEGMENT] [week|month|quarter]: the shared scorecard, privately, with "Post to channel"."""

from __future__ import annotations

from slack_bolt import App

from commands import replies
from commands.answer import Reply
from commands.context import CHANNEL, Context, SlashCommand, slash_command
from services import scorecard
from services.errors import UnknownSegment
from storage.accounts import segments
from storage.periods import PERIOD_KINDS
from storage.subscriptions import (
    SubscriptionError,
    describe,
    parse_schedule,
    subscribe,
    subscriptions,
    unsubscribe,
)

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
    ("/scorecard subscriptions", "the channels that get the weekly digest"),
    ("/scorecard unsubscribe #channel", "stop a channel's digest (admins)"),
]
DELIVERY = (
    "The first one is posted at the next scheduled time, once per week. "
    "Make sure I'm in the channel (`/invite @retention-bot`)."
)


def subscription_reply(ctx: Context, cmd: SlashCommand, verb: str, args: list[str]) -> Reply:
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    if verb == "subscriptions":
        with ctx.db.read() as session:
            subs = subscriptions(session, ws)
        if not subs:
            return replies.text_reply(
                "No channel gets the weekly digest yet. An admin can type `/scorecard subscribe #channel`."
            )
        lines = [f"• <#{s.channel_id}>: {replies.slack_escape(describe(s))}" for s in subs]
        return replies.text_reply("*Weekly scorecard digests*\n" + "\n".join(lines))
    if not ctx.is_admin(cmd.user_id):
        return replies.error_reply(
            "Only admins can change digest subscriptions.", "Ask one of your RevOps admins."
        )
    channel = cmd.channel_id
    if args and args[0].startswith(("<#", "#")):
        found = CHANNEL.match(args[0])
        if found is None:
            return replies.error_reply(
                "I need the channel picked from Slack's autocomplete (so I get its id).",
                "Type `#` and choose the channel from the list.",
            )
        channel, args = found.group(1), args[1:]
    if not channel:
        return replies.error_reply("Which channel?", "Type `/scorecard subscribe #channel`.")
    now = ctx.clock()
    with ctx.db.write() as session:
        if verb == "unsubscribe":
            gone = unsubscribe(session, ws, channel)
            return replies.text_reply(
                f"<#{channel}> will no longer get the weekly digest."
                if gone
                else f"<#{channel}> had no digest subscription."
            )
        try:
            schedule = parse_schedule(args, segments(session, ws))
        except SubscriptionError as exc:
            return replies.error_reply(
                replies.slack_escape(str(exc)) + ".", "Type `/scorecard help` for the form."
            )
        saved = subscribe(session, ws, channel, schedule, by=cmd.user_id, now=now)
        when = replies.slack_escape(describe(saved))
        text = f":calendar: <#{channel}> gets the weekly scorecard: {when}. {DELIVERY}"
    return replies.text_reply(text)


def scorecard_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    raw = cmd.text.split()
    if raw[:1] and raw[0].lower() in ("subscribe", "subscriptions", "unsubscribe"):
        return subscription_reply(ctx, cmd, raw[0].lower(), raw[1:])
    words = cmd.text.lower().split()
    if words[:1] in (["help"], ["?"]):
        return replies.help_reply("/scorecard", USAGE)
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
            policies=ctx.settings.policies,
            segment=segment,
        )
    except UnknownSegment as refusal:
        return replies.unknown_segment(refusal)
    return replies.scorecard(card)


def register(app: App, ctx: Context) -> None:
    slash_command(app, ctx, "/scorecard", scorecard_reply)
