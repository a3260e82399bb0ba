"""/scorecard subscribe #channel [WEEKDAY] [HH:MM] [Area/City] [segment], /scorecard subscriptions and
/scorecard unsubscribe #channel: the weekly digest's channels (``services.subscriptions``)."""

from __future__ import annotations

from blocks.format import schedule_words
from commands import replies
from commands.answer import Reply
from commands.context import CHANNEL, Context, SlashCommand
from services import subscriptions as subs

DELIVERY = (
    "The first one is posted at the next scheduled time, then once per period. "
    "Make sure I'm in the channel (`/invite @retention-bot`)."
)


def admin_channel(
    ctx: Context, cmd: SlashCommand, args: list[str], command: str
) -> tuple[str, list[str]] | Reply:
    """For subscribe / unsubscribe (``/scorecard``, ``/feedback``): admins only, and the channel picked
    from Slack's autocomplete as the first word, else the one it was typed in; the channel id and the
    words after it, or the refusal to send."""
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
        return replies.error_reply("Which channel?", f"Type `{command} subscribe #channel`.")
    return channel, args


def subscription_reply(ctx: Context, cmd: SlashCommand, verb: str, args: list[str]) -> Reply:
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    if verb == "subscriptions":
        listed = subs.subscriptions(ctx.db, ws)
        if not listed:
            return replies.text_reply(
                "No channel gets the weekly digest yet. An admin can type `/scorecard subscribe #channel`."
            )
        lines = [f"• <#{s.channel_id}>: {replies.slack_escape(schedule_words(s))}" for s in listed]
        return replies.text_reply("*Weekly scorecard digests*\n" + "\n".join(lines))
    target = admin_channel(ctx, cmd, args, "/scorecard")
    if not isinstance(target, tuple):
        return target
    channel, args = target
    if verb == "unsubscribe":
        gone = subs.unsubscribe(ctx.db, ws, channel)
        return replies.text_reply(
            f"<#{channel}> will no longer get the weekly digest."
            if gone
            else f"<#{channel}> had no digest subscription."
        )
    try:
        saved = subs.subscribe(ctx.db, ws, channel, args, by=cmd.user_id, now=ctx.clock())
    except subs.SubscriptionError as exc:
        return replies.error_reply(
            replies.slack_escape(str(exc)) + ".", "Type `/scorecard help` for the form."
        )
    when = replies.slack_escape(schedule_words(saved))
    cadence = {"week": "weekly", "month": "monthly", "quarter": "quarterly"}[saved.cadence]
    team = f", led by the {saved.team} team's part" if saved.team else ""
    return replies.text_reply(
        f":calendar: <#{channel}> gets the {cadence} scorecard{team}: {when}. {DELIVERY}"
    )
