"""/scorecard [SEGMENT] [week|month|quarter]: the shared scorecard, privately, with "Post to channel"."""

from __future__ import annotations

from slack_bolt import App

from bot.answer import Reply
from commands import replies
from commands.context import Services, SlashCommand, slash_command
from digests.scorecard import build_scorecard
from storage.lookup import segments
from storage.periods import PERIOD_KINDS

USAGE = [
    ("/scorecard", "this week's shared scorecard, every KPI with its change and owner teams"),
    ("/scorecard month", "the same for the last month (or `quarter`)"),
    (
        "/scorecard SEGMENT [week|month|quarter]",
        "only accounts of one segment, e.g. `/scorecard enterprise month`",
    ),
]


def scorecard_reply(services: Services, cmd: SlashCommand) -> Reply:
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
    ws = services.workspace(cmd.team_id, cmd.enterprise_id)
    with services.db.read() as session:
        if segment is not None:
            known = segments(session, ws)
            if segment not in known:
                listed = ", ".join(f"`{s}`" for s in known) or "none yet"
                return replies.error_reply(
                    f"There is no segment “{replies.echo(segment)}”.", f"Segments: {listed}."
                )
        card = build_scorecard(
            session,
            ws,
            as_of=services.clock().date(),
            period_kind=period,  # type: ignore[arg-type]
            policies=services.settings.policies,
            segment=segment,
        )
    return replies.scorecard(card)


def register(app: App, services: Services) -> None:
    slash_command(app, services, "/scorecard", scorecard_reply)
