"""A team's part in words and blocks: ``/scorecard team cs`` and the head of a team's digest
(``retention-bot scorecard --team cs`` prints the same words). Builders only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from blocks import format as fmt
from blocks import goals as goal_words
from blocks import kit
from blocks.text import slack_escape
from services.scorecard import Kpi
from services.teams import TeamPart, TeamView


def team_health_words(part: TeamPart) -> str:
    """ "Accounts its people own: 3 red, 10 yellow, 20 green (2 not scored yet)" (plain text)."""
    h = part.health
    owned = sum(h.bands.values()) + h.no_score
    if part.people == 0:
        return f"Nobody in the people list is on the {part.team} team yet."
    if owned == 0:
        return f"The {part.team} team's {fmt.plural(part.people, 'person', 'people')} own no accounts."
    bands = ", ".join(f"{h.bands.get(b, 0)} {b}" for b in ("red", "yellow", "green"))
    unscored = f" ({h.no_score} not scored yet)" if h.no_score else ""
    return f"Accounts its people own: {bands}{unscored}"


def team_handoff_words(part: TeamPart) -> str:
    handoffs = (
        "Open handoffs: none"
        if part.open_total == 0
        else f"Open handoffs: {part.open_total}, {part.overdue} overdue"
    )
    plays = (
        "open plays: none"
        if part.plays_open == 0
        else f"open plays: {part.plays_open}, {part.plays_overdue} overdue (`/plays team`)"
    )
    return f"{handoffs} · {plays}"


def kpi_line(k: Kpi, currency: str, team: str, *, weekly: bool = False) -> str:
    """ "*Save rate* 50.0% (from 2 flags) (▲ 5.0 pts good) · 🟡 at risk · target 55.0% · shared with
    support" (mrkdwn)."""
    value = goal_words.value(k, currency)
    change = goal_words.change(k, currency, weekly=weekly)
    goal = goal_words.status(k) + (
        f" · target {goal_words.target(k, currency)}" if k.target is not None else ""
    )
    shared = [o for o in k.owners if o != team]
    with_ = f" · shared with {', '.join(shared)}" if shared else ""
    why = f" — _{slack_escape(k.current.reason)}_" if k.current.reason else ""
    return f"*{k.label}* {value} ({change}) · {goal}{with_}{why}"


def team_part_blocks(
    part: TeamPart, currency: str, now: dt.datetime, *, title: str, weekly: bool = False
) -> list[dict[str, Any]]:
    kpis = (
        "\n".join(kpi_line(k, currency, part.team, weekly=weekly) for k in part.kpis)
        or f"_The {part.team} team owns no KPI._"
    )
    health = slack_escape(team_health_words(part))
    worst = "".join(
        f"\n• {slack_escape(name)} {score:.0f} ({band})"
        for name, score, band in part.health.worst
        if band == "red"
    )
    handoffs = slack_escape(team_handoff_words(part)) + "".join(
        f"\n• *{slack_escape(h.account)}* {slack_escape(h.kind)} {h.route} "
        f"({slack_escape(h.owner or 'no owner')}): {fmt.due_words(h.due_at, h.paused, now)}"
        for h in part.open_handoffs
    )
    wins = f"Shared wins credited to {part.team}: {part.wins}" + "".join(
        f"\n• *{slack_escape(account)}* {kind}: {slack_escape(text)[:200]}"
        for _, account, kind, text in part.win_lines
    )
    return [
        kit.section(f"*{title}*\n{kpis}"),
        kit.section(f"{health}{worst}\n{handoffs}\n{wins}"),
    ]


def team_view(view: TeamView, now: dt.datetime) -> dict[str, Any]:
    """The private reply to ``/scorecard team cs``."""
    card, part = view.card, view.part
    seg = f" · segment {slack_escape(card.segment)}" if card.segment else ""
    blocks = [kit.header(f"The {part.team} team's part — {card.period.label}")]
    blocks += team_part_blocks(
        part, card.currency, now, title="KPIs the team owns", weekly=card.period.kind == "week"
    )
    blocks.append(
        kit.context(
            f"As of {card.as_of}{seg}; revenue KPIs use {card.period.revenue_month:%B %Y}. "
            "`/scorecard` shows every team's KPIs."
        )
    )
    return {"text": f"The {part.team} team's part — {card.period.label}", "blocks": blocks}
