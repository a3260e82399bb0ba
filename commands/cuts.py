"""/scorecard by source|campaign|ae|csm|segment [week|month|quarter]: the scorecard cut by an account
attribute, privately, as a table block (the first rows, then "…and N more")."""

from __future__ import annotations

from typing import Any

from blocks import cuts as words
from blocks import kit
from blocks.text import clip, slack_escape
from commands import replies
from commands.answer import Reply
from commands.context import Context, SlashCommand
from services import cuts
from storage.periods import PERIOD_KINDS

USAGE = (
    "/scorecard by source|campaign|ae|csm|segment [week|month|quarter]",
    "one row per value: churn, NRR, GRR, time to value, first value on time, early churn",
)


def cut_blocks(cut: cuts.Cut) -> Reply:
    blocks: list[dict[str, Any]] = [kit.header(words.title(cut))]
    if not cut.rows:
        blocks.append(kit.section("_No accounts yet: import accounts first._"))
        return {"text": words.title(cut), "blocks": blocks}
    blocks.append(words.table_block(cut))
    notes = []
    hidden = len(cut.rows) - words.MAX_TABLE_ROWS
    if hidden > 0:
        notes.append(f"…and {hidden} more — `retention-bot scorecard --by {cut.by}` lists them all")
    if any(row.small for row in cut.rows[: words.MAX_TABLE_ROWS]):
        notes.append(words.SMALL_NOTE)
    notes.append(words.footer(cut))
    blocks.append(kit.context("\n".join(notes)))
    first = cut.rows[0]
    largest = slack_escape(clip(first.value, 64))
    fallback = f"{words.title(cut)}: {len(cut.rows)} rows, largest {largest} ({first.accounts} accounts)"
    return {"text": fallback, "blocks": blocks}


def cut_reply(ctx: Context, cmd: SlashCommand, words_typed: list[str]) -> Reply:
    """``words_typed``: what follows ``by``."""
    period = next((w for w in words_typed if w in PERIOD_KINDS), "week")
    rest = [w for w in words_typed if w not in PERIOD_KINDS]
    if len(rest) != 1 or rest[0] not in cuts.CUTS:
        return replies.error_reply(
            f"I can cut the scorecard by {', '.join(cuts.CUTS)}.", "Try `/scorecard by source month`."
        )
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    cut = cuts.cut(ctx.db, ws, by=rest[0], as_of=ctx.clock().date(), period=period)  # type: ignore[arg-type]
    return cut_blocks(cut)
