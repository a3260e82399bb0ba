"""The weekly digest: the week's facts (``services.digest.weekly``) written as mrkdwn lines, then
rendered by the Jinja2 templates into one channel message and one thread reply, always within
Slack's limits. Builders only: nothing here queries."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from blocks import cuts as cut_words
from blocks import format as fmt
from blocks import goals as goal_words
from blocks.teams import kpi_line, team_handoff_words, team_health_words
from blocks.text import MAX_MESSAGE_TEXT, MAX_SECTION_TEXT, clip, message_problems, slack_escape
from digests.templates import environment
from services.cuts import NONE_LABEL
from services.digest import MAX_DETAIL, WeeklyFacts
from services.health import Mover
from services.teams import TeamPart
from storage.handoffs import LateHandoff
from storage.metrics import Cohort
from storage.recognition import Credited

TOP = 5  # lines in the message; the rest go to the thread reply


class DigestError(Exception):
    """A digest could not be built (for example an operator's template is not valid Block Kit JSON)."""


@dataclass
class DigestMessage:
    text: str
    blocks: list[dict[str, Any]]
    thread_text: str
    thread_blocks: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)

    def post_args(self, channel: str) -> dict[str, Any]:
        """The chat.postMessage arguments of the digest itself."""
        return {
            "channel": channel,
            "text": self.text,
            "blocks": self.blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }

    def thread_args(self, channel: str, thread_ts: str | None = None) -> dict[str, Any]:
        """The thread reply's arguments; the outbox adds ``thread_ts`` once the message is posted."""
        args: dict[str, Any] = {
            "channel": channel,
            "text": self.thread_text,
            "blocks": self.thread_blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        return args


def _lines(rows: list[str], limit: int, where: str = " (in the thread)", total: int | None = None) -> str:
    """The first ``limit`` rows, then how many more (of ``total``, when the rows are only the first
    ones a query returned) and where they are."""
    total = len(rows) if total is None else total
    more = f"\n…and {total - limit} more{where}" if total > limit else ""
    return clip("\n".join(rows[:limit]), MAX_SECTION_TEXT - 80) + more


def mover_line(mover: Mover) -> str:
    """An account whose health moved most over 30 days, with the component that moved it most."""
    why = f" — mostly {fmt.driver(mover.top, 0)}" if mover.top else ""
    return (
        f"{fmt.arrow(mover.now - mover.then)} *{slack_escape(mover.name)}* "
        f"{mover.then:.0f} → {mover.now:.0f}{why}"
    )


def late_line(late: LateHandoff, now: dt.datetime) -> str:
    """A handoff due in the period and not done in time (done late, or still open)."""
    done = late.completed_at
    when = (
        f"done {fmt.span_words(done - late.due_at)} late" if done else fmt.due_words(late.due_at, False, now)
    )
    return (
        f"• *{slack_escape(late.account)}* {slack_escape(late.kind)} {late.from_team}→{late.to_team} "
        f"({slack_escape(late.owner or 'no owner')}): {when}"
    )


def person_line(person: Credited) -> str:
    """ "• <@U1> (cs): 2 wins, 1 save, 3 handoffs on time" — a name when the person has no Slack id."""
    who = f"<@{person.slack_user_id}>" if person.slack_user_id else f"*{slack_escape(person.name)}*"
    parts = [
        fmt.plural(person.wins, "shared win"),
        fmt.plural(person.saves, "save"),
        fmt.plural(person.on_time, "handoff") + " done on time",
    ]
    counted = [p for p, n in zip(parts, (person.wins, person.saves, person.on_time), strict=True) if n]
    return f"• {who} ({person.team}): {', '.join(counted)}"


def team_text(part: TeamPart, currency: str, now: dt.datetime, *, weekly: bool = False) -> str:
    """The head of a team's digest: the KPIs the team owns, its accounts, handoffs and wins (mrkdwn)."""
    kpis = (
        "\n".join(kpi_line(k, currency, part.team, weekly=weekly) for k in part.kpis) or "_It owns no KPI._"
    )
    return (
        f"*Your team's part — {part.team}*\n{kpis}\n{slack_escape(team_health_words(part))} · "
        f"{slack_escape(team_handoff_words(part))} · shared wins credited to {part.team}: {part.wins}"
    )


def by_source(facts: WeeklyFacts) -> dict[str, Any]:
    """The monthly and quarterly digests' cut by acquisition source (a table in the thread): the pack a
    monthly NRR council reviews. Nothing for a weekly digest or when no account has a source."""
    cut = facts.by_source
    if cut is None or not cut.rows or all(row.value == NONE_LABEL for row in cut.rows):
        return {"by_source_table": None}
    hidden = len(cut.rows) - cut_words.MAX_TABLE_ROWS
    notes = [cut_words.footer(cut)]
    if any(row.small for row in cut.rows[: cut_words.MAX_TABLE_ROWS]):
        notes.insert(0, cut_words.SMALL_NOTE)
    if hidden > 0:
        notes.insert(0, f"…and {hidden} more — `retention-bot scorecard --by source` lists them all")
    scope = " (all segments)" if facts.card.segment else ""
    return {
        "by_source_title": f"*By acquisition source* — {cut.period.label}{scope}",
        "by_source_table": cut_words.table_block(cut),
        "by_source_note": slack_escape("\n".join(notes)),
    }


PREVIOUS = {"week": "the week before", "month": "the month before", "quarter": "the quarter before"}


OUTCOME_WORDS = (
    ("saved", "saved"),
    ("expanded", "expanded"),
    ("churned", "churned"),
    ("no_action", "no action"),
)


def plays_words(facts: WeeklyFacts) -> tuple[str, str]:
    """The week's plays in one line ("" when none opened or closed), and its saves by name."""
    week = facts.plays
    if not week.opened and not week.closed_total:
        return "", ""
    how = ", ".join(
        f"{week.closed.get(key, 0)} {words}" for key, words in OUTCOME_WORDS if week.closed.get(key)
    )
    line = f"{week.opened} opened, {week.closed_total} closed" + (f" ({how})" if how else "")
    saves = [
        f"• :tada: *{clip(slack_escape(account), 120)}* saved — "
        f"{slack_escape(facts.play_titles.get(key, key))}{f' ({slack_escape(by)})' if by else ''}"
        for account, key, by in week.saves
    ]
    more = week.closed.get("saved", 0) - len(saves)
    return line, "\n".join(saves) + (f"\n…and {more} more" if more > 0 else "")


COHORTS_SHOWN = 8  # the most recent start quarters in the thread; `retention-bot cohorts` has them all


def cohort_line(cohort: Cohort) -> str:
    """A start quarter's retention at the latest quarter end it has reached."""
    size = f"{cohort.size} account{'' if cohort.size == 1 else 's'}"
    if not cohort.points:
        return f"• *{cohort.quarter}* {size} — its first quarter has not ended yet"
    last = cohort.points[-1]
    return (
        f"• *{cohort.quarter}* {size} — logo {fmt.percent(last.logo)}, "
        f"revenue {fmt.percent(last.revenue)} at {last.quarter_end:%b %Y}"
    )


def context(facts: WeeklyFacts) -> dict[str, Any]:
    """Everything the templates show, as mrkdwn written from computed facts (templates never query)."""
    card, segment = facts.card, facts.card.segment
    period = card.period
    win_rows = [
        f"• *{slack_escape(account)}* {kind}: {clip(slack_escape(text), 300)} — {', '.join(win_teams)}"
        for _, account, kind, text, win_teams in facts.wins
    ]
    move_rows = [mover_line(mover) for mover in facts.movers]
    breach_rows = [late_line(late, facts.now) for late in facts.late]
    win_total = facts.win_total
    teams = facts.teams
    sla = card.kpi("sla_adherence")
    sla_line = (
        f"{fmt.percent(float(sla.current.value))} on time ({sla.current.detail.get('met', 0)} of "
        f"{sla.current.detail.get('due', 0)} due), {fmt.change(sla.change, 'ratio')}"
        if sla.current.value is not None
        else f"n/a ({slack_escape(sla.current.reason)})"
    )
    notes = [f"• *{k.label}*: {slack_escape(k.current.reason)}" for k in card.kpis if k.current.reason]
    # A value with no change to show: why the period before has none (else the thread would say every
    # KPI is defined beside a table whose change reads n/a).
    notes += [
        f"• *{k.label}*: no change to show — {PREVIOUS[period.kind]}: {slack_escape(k.previous.reason)}"
        for k in card.kpis
        if not k.current.reason and k.previous.value is None and k.previous.reason
    ]
    people_rows = [person_line(p) for p in facts.people]
    plays_line, saves_text = plays_words(facts)
    return {
        "team_text": team_text(facts.team, card.currency, facts.now, weekly=period.kind == "week")
        if facts.team
        else "",
        "people_text": _lines(people_rows, MAX_DETAIL, ""),
        **by_source(facts),
        "previous": PREVIOUS[period.kind],
        "cadence": period.kind,
        "plays_line": plays_line,
        "plays_saves_text": saves_text,
        "period": card.period.label,
        "period_range": f"{period.start:%b %d} – {period.last_day:%b %d}",
        "segment": segment,
        "kpis": [
            {
                "label": k.label,
                "value": goal_words.value(k, card.currency, compact=True),
                "change": goal_words.change(k, card.currency, weekly=period.kind == "week"),
                "owners": ", ".join(k.owners),
                "target": goal_words.target(k, card.currency, compact=True),
                "status": goal_words.status(k),
                "goal": goal_words.status(k)
                + (f" · {goal_words.target(k, card.currency, compact=True)}" if k.target is not None else ""),
                "good": k.good,
            }
            for k in card.kpis
        ],
        "movers_text": _lines(move_rows, TOP),
        "all_movers_text": _lines(move_rows, MAX_DETAIL, ""),
        "sla_line": sla_line,
        "breaches_text": _lines(breach_rows, TOP),
        "all_breaches_text": _lines(breach_rows, MAX_DETAIL, " — `/sla team` lists them"),
        "wins_text": _lines(win_rows, 8, total=win_total),
        "all_wins_text": _lines(
            win_rows,
            MAX_DETAIL,
            " — `/wins last week` lists them" if period.kind == "week" else "",
            total=win_total,
        ),
        "contributions": ", ".join(f"{team} {n}" for team, n in teams),
        "notes_text": _lines(notes, MAX_DETAIL, ""),
        "cohort_month": f"{facts.cohort_month:%B %Y}" if facts.cohort_month else "",
        "cohorts_text": _lines(
            [cohort_line(c) for c in reversed(facts.cohorts)],
            COHORTS_SHOWN,
            " — `retention-bot cohorts` lists them",
        ),
        "fallback": "; ".join(
            f"{k.label} {fmt.value(k.current.value, k.unit, card.currency, compact=True)}"
            for k in card.kpis[:4]
        ),
    }


def render(context: dict[str, Any], templates: Path | None = None) -> DigestMessage:
    env = environment(templates)
    try:
        blocks = json.loads(env.get_template("digest.json.j2").render(**context))
        thread = json.loads(env.get_template("digest_detail.json.j2").render(**context))
    except (TemplateError, json.JSONDecodeError) as exc:
        raise DigestError(f"digest template error: {exc} (check the templates in DIGEST_TEMPLATES)") from None
    text = clip(f"Retention scorecard — {context['period']}: {context['fallback']}", MAX_MESSAGE_TEXT)
    thread_text = f"Details for {context['period']}"
    problems = message_problems(blocks, text) + message_problems(thread, thread_text)
    return DigestMessage(text, blocks, thread_text, thread, problems)
