"""A manager's daily roll-up DM (``services.rollups``): their team's new SLA breaches in one message,
instead of one DM each. Each line says the account, the handoff, its owner, when it breached and
where it stands now; the list is capped within Slack's limits, the rest counted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from blocks import kit
from blocks.format import slack_date
from blocks.text import MAX_MESSAGE_BLOCKS, clip, slack_escape
from services import rollups
from services.policies import SlaConfig
from storage.db import Database
from storage.rollups import TeamBreach

LINES_PER_SECTION = 10  # ten lines of ≤ 280 characters stay under a section's 3,000
MAX_LINES = 200  # 20 sections: well within the 50 blocks of a message


def _state(b: TeamBreach) -> str:
    if b.completed_at is not None:
        return "done since"
    if b.acknowledged_at is not None:
        return "acknowledged, open"
    return "*still open, not acknowledged*"


def breach_line(b: TeamBreach) -> str:
    owner = f"<@{b.owner_slack}>" if b.owner_slack else slack_escape(b.owner)
    return (
        f"• *{clip(slack_escape(b.account), 80)}* — {slack_escape(b.kind)} handoff "
        f"`{clip(slack_escape(b.external_id), 40)}`, owner {owner}, breached {slack_date(b.breached_at)}: "
        f"{_state(b)}"
    )


def rollup_args(rollup: rollups.Rollup, now: dt.datetime) -> dict[str, Any]:
    """chat.postMessage arguments (no channel) for one manager's roll-up."""
    breaches = rollup.breaches
    n = len(breaches)
    open_now = sum(1 for b in breaches if b.completed_at is None and b.acknowledged_at is None)
    title = f"Your team's SLA breaches: {n} new since yesterday"
    blocks: list[dict[str, Any]] = [
        kit.header(title),
        kit.context(
            f"From {slack_date(rollup.since)} to {slack_date(rollup.until)} · {open_now} still open and "
            "not acknowledged · each owner was pinged at once; you get one roll-up a day instead of "
            "one DM per breach"
        ),
    ]
    shown = breaches[:MAX_LINES]
    for start in range(0, len(shown), LINES_PER_SECTION):
        lines = [breach_line(b) for b in shown[start : start + LINES_PER_SECTION]]
        blocks.append(kit.section("\n".join(lines)))
    if n > len(shown):
        blocks.append(kit.context(f"…and {n - len(shown)} more. `/sla team` lists every open one."))
    else:
        blocks.append(kit.context("`/sla team` lists every open handoff of your team."))
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    return {"text": clip(title, 200), "blocks": blocks, "unfurl_links": False}


def queue(db: Database, ws: int, now: dt.datetime, config: SlaConfig) -> int:
    """Queue the managers' roll-ups that are due (``services.rollups.queue`` with this builder)."""
    return rollups.queue(db, ws, now, config, rollup_args)
