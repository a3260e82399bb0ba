"""/scorecard [SEGMENT] [week|month|quarter]: the shared scorecard, privately, with "Post to channel"."""

from __future__ import annotations

from slack_bolt import App

from blocks import teams as team_blocks
from commands import cuts, goals, replies
from commands.answer import Reply
from commands.context import Context, SlashCommand, slash_command
from commands.subscriptions import subscription_reply
from services import scorecard, teams
from services.errors import UnknownSegment
from storage import vocab
from storage.periods import PERIOD_KINDS

USAGE = [
    ("/scorecard", "this week's shared scorecard, every KPI with its change and owner teams"),
    ("/scorecard month", "the same for the last month (or `quarter`)"),
    (
        "/scorecard SEGMENT [week|month|quarter]",
        "only accounts of one segment, e.g. `/scorecard enterprise month`",
    ),
    (
        "/scorecard subscribe #channel [weekly|monthly|quarterly] [WEEKDAY] [HH:MM] [Area/City] "
        "[segment] [team TEAM]",
        "a digest in a channel (admins; default weekly, Monday 09:00 in the workspace's time zone; "
        "monthly and quarterly go out on the first weekday of the month or quarter; a team's digest "
        "leads with its part)",
    ),
    (
        "/scorecard team TEAM [week|month|quarter]",
        "one team's part: the KPIs it owns, its accounts, handoffs, wins",
    ),
    ("/scorecard owners", "which teams own which KPI, by capability, with the targets in force"),
    (
        "/scorecard target KPI VALUE [week|month|quarter] [segment]",
        "set a target (admins), e.g. `/scorecard target nrr 110% quarter`; no period: all three",
    ),
    ("/scorecard target KPI clear [week|month|quarter] [segment]", "clear a target (admins)"),
    ("/scorecard targets", "the latest target changes: who, when, old and new"),
    cuts.USAGE,
    ("/scorecard subscriptions", "the channels that get the weekly digest"),
    ("/scorecard unsubscribe #channel", "stop a channel's digest (admins)"),
]


def scorecard_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    raw = cmd.text.split()
    if raw[:1] and raw[0].lower() in ("subscribe", "subscriptions", "unsubscribe"):
        return subscription_reply(ctx, cmd, raw[0].lower(), raw[1:])
    if raw[:1] and raw[0].lower() in goals.VERBS:
        return goals.goals_reply(ctx, cmd, raw[0].lower(), raw[1:])
    words = cmd.text.lower().split()
    if words[:1] in (["help"], ["?"]):
        return replies.help_reply("/scorecard", USAGE)
    if words[:1] == ["team"]:
        return team_reply(ctx, cmd, words[1:])
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


def team_reply(ctx: Context, cmd: SlashCommand, words: list[str]) -> Reply:
    """``/scorecard team cs [week|month|quarter]``: the team's part, privately."""
    period = next((w for w in words if w in PERIOD_KINDS), "week")
    rest = [w for w in words if w not in PERIOD_KINDS]
    if len(rest) != 1:
        return replies.error_reply(
            "Which team?", f"Try `/scorecard team cs` — teams: {', '.join(vocab.TEAMS)}."
        )
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    now = ctx.clock()
    try:
        view = teams.team_view(
            ctx.db,
            ws,
            rest[0],
            as_of=now.date(),
            period=period,  # type: ignore[arg-type]
            policies=ctx.policies,
            now=now,
        )
    except teams.UnknownTeam as refusal:
        return replies.error_reply(
            f"{replies.slack_escape(repr(refusal.team))} is not a team.", f"Teams: {', '.join(vocab.TEAMS)}."
        )
    return team_blocks.team_view(view, now)


def register(app: App, ctx: Context) -> None:
    slash_command(app, ctx, "/scorecard", scorecard_reply)
