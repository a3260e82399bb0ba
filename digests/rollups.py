"""A manager's daily roll-up DM (``services.rollups``): their team's new SLA breaches and overdue
plays in one message, instead of one DM each. Each breach line says the account, the handoff, its
owner, when it breached and where it stands now; each play line the account, the play, its owner
and how late it is. Each list is capped within Slack's limits, the rest counted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from blocks import kit
from blocks.format import duration_words, slack_date
from blocks.text import MAX_MESSAGE_BLOCKS, clip, slack_escape
from services import rollups
from services.policies import Policies
from storage.db import Database
from storage.rollups import TeamBreach, TeamOverduePlay

LINES_PER_SECTION = 10  # ten lines of ≤ 280 characters stay under a section's 3,000
MAX_LINES = 200  # 20 sections per list, two lists: 45 blocks at most, within a message's 50


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


def play_line(p: TeamOverduePlay, titles: dict[str, str], now: dt.datetime) -> str:
    owner = f"<@{p.owner_slack}>" if p.owner_slack else slack_escape(p.owner)
    title = clip(slack_escape(titles.get(p.play_key, p.play_key)), 80)
    return (
        f"• *{clip(slack_escape(p.account), 80)}* — {title}, "
        f"owner {owner}, {p.state}, was due {slack_date(p.due)} (*{duration_words(now - p.due)} late*)"
    )


def _sections(lines: list[str], more: str) -> list[dict[str, Any]]:
    shown = lines[:MAX_LINES]
    blocks = [
        kit.section("\n".join(shown[start : start + LINES_PER_SECTION]))
        for start in range(0, len(shown), LINES_PER_SECTION)
    ]
    if len(lines) > len(shown):
        blocks.append(kit.context(f"…and {len(lines) - len(shown)} more. {more}"))
    return blocks


def rollup_args(rollup: rollups.Rollup, now: dt.datetime) -> dict[str, Any]:
    """chat.postMessage arguments (no channel) for one manager's roll-up."""
    breaches, late = rollup.breaches, rollup.overdue
    n = len(breaches)
    open_now = sum(1 for b in breaches if b.completed_at is None and b.acknowledged_at is None)
    if late:
        k = len(late)
        breach_words = f"{n} new SLA breach{'es' if n != 1 else ''}"
        title = f"Your team's roll-up: {breach_words}, {k} overdue play{'s' if k != 1 else ''}"
    else:
        title = f"Your team's SLA breaches: {n} new since yesterday"
    blocks: list[dict[str, Any]] = [kit.header(title)]
    if breaches:
        blocks.append(
            kit.context(
                f"SLA breaches from {slack_date(rollup.since)} to {slack_date(rollup.until)} · "
                f"{open_now} still open and not acknowledged · each owner was pinged at once; "
                "you get one roll-up a day instead of one DM per breach"
            )
        )
        blocks += _sections([breach_line(b) for b in breaches], "`/sla team` lists every open one.")
    if late:
        blocks.append(kit.section(f"*Overdue plays* ({len(late)}), the most overdue first"))
        lines = [play_line(p, rollup.play_titles, now) for p in late]
        blocks += _sections(lines, "`/plays team` lists them all.")
    blocks.append(kit.context("`/sla team` and `/plays team` list everything open in your team."))
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    return {"text": clip(title, 200), "blocks": blocks, "unfurl_links": False}


def queue(db: Database, ws: int, now: dt.datetime, policies: Policies) -> int:
    """Queue the managers' roll-ups that are due (``services.rollups.queue`` with this builder)."""
    titles = {p.key: p.title for p in policies.plays}
    return rollups.queue(db, ws, now, policies.sla, rollup_args, titles)
