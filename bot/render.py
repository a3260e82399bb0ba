"""Terminal renderings of the scorecard, the cohort table and the account health card.

Builders only: they take computed data and return rich renderables or text; they never query.
Text from the database is escaped for rich markup, so a name like "[bold]" prints literally.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from blocks import format as fmt
from blocks import goals as goal_words
from blocks.spark import spark_words
from blocks.teams import team_handoff_words, team_health_words
from services.accounts import AccountCard
from services.errors import NoSingleAccount, UnknownSegment
from services.goals import STATUS_WORDS
from services.scorecard import Kpi, Scorecard
from services.teams import TeamView
from storage.metrics import Cohort

BAND_STYLES = {"green": "green", "yellow": "yellow", "red": "red"}


def kpi_notes(k: Kpi) -> list[str]:
    """Why a value is n/a, and what was left out of it."""
    notes = [k.current.reason] if k.current.reason else []
    detail = k.current.detail
    if detail.get("without_seat_data"):
        notes.append(f"{detail['without_seat_data']} paying accounts have no seat data and are left out")
    if detail.get("past_target_without_first_value"):
        overdue = detail["past_target_without_first_value"]
        notes.append(f"{overdue} accounts are past their first-value target without it")
    return notes


STATUS_STYLES = {"on_track": "green", "at_risk": "yellow", "off_track": "red"}


def scorecard(card: Scorecard) -> RenderableType:
    seg = f", segment {card.segment}" if card.segment else ""
    table = Table(title=f"Shared scorecard — {card.period.label}{seg}", title_justify="left")
    table.add_column("KPI")
    for name in ("value", "target", "status", "previous", "change"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("owners")
    footnotes: list[str] = []
    weekly = card.period.kind == "week"
    for k in card.kpis:
        label = k.label
        for note in kpi_notes(k):
            footnotes.append(note)
            label += f" [{len(footnotes)}]"
        state = STATUS_STYLES.get(k.status)
        moved = "" if k.good is None else ("green" if k.good else "red")
        table.add_row(
            escape(label),
            escape(goal_words.value(k, card.currency)),
            goal_words.target(k, card.currency),
            Text(STATUS_WORDS[k.status], style=state or ""),
            fmt.value(k.previous.value, k.unit, card.currency),
            Text(goal_words.change(k, card.currency, weekly=weekly), style=moved),
            ", ".join(k.owners),
        )
    lines = [f"[{i}] {note}" for i, note in enumerate(footnotes, start=1)]
    lines.append(
        f"as of {card.as_of}; revenue KPIs use {card.period.revenue_month:%B %Y}, the latest complete "
        f"month; previous period: {card.previous.label}"
    )
    lines.append(
        "status: against the target of the period kind (`retention-bot kpis`); change marked good or "
        "bad by the KPI's direction; a sample under 10 accounts or events is named"
    )
    return Group(table, *(Text(line) for line in lines))


def cohorts(rows: list[Cohort], last: dt.date) -> RenderableType:
    """Two tables, logo then revenue retention: cohorts down, quarters since the start across."""
    width = max((len(c.points) for c in rows), default=0)
    tables = []
    for title, pick in (("Logo retention", lambda p: p.logo), ("Revenue retention", lambda p: p.revenue)):
        table = Table(
            title=f"{title} by start quarter, through {last:%B %Y}",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            padding=(0, 0, 0, 1),
        )
        table.add_column("cohort", no_wrap=True, min_width=7)
        table.add_column("size", justify="right", no_wrap=True, min_width=4)
        for k in range(width):
            table.add_column(f"Q+{k}", justify="right", no_wrap=True, min_width=6)
        for c in rows:
            table.add_row(c.quarter, str(c.size), *(fmt.percent(pick(p)) for p in c.points))
        tables.append(table)
    return Group(*tables)


def health_card(card: AccountCard, now: dt.datetime, currency: str) -> RenderableType:
    h, a = card.health, card.account
    style = BAND_STYLES.get(h.now.band or "", "white")
    trend = "" if h.trend is None else f"  {fmt.arrow(h.trend)} {abs(h.trend):.0f} in 30 days"
    score = "n/a (no data for any component)" if h.now.score is None else f"{h.now.score:.0f} ({h.now.band})"
    lines = [
        f"[bold]{escape(a.name)}[/bold]  {escape(a.external_id)}  {escape(a.domain or '')}",
        f"health [{style}]{score}[/{style}]{trend}",
        *([f"health trend: {spark}"] if (spark := spark_words(card.history)) else []),
        f"ARR {fmt.money(card.arr, currency)} · stage {card.stage} · segment {escape(a.segment)}"
        + (f" · renews {a.renewal_on}" if a.renewal_on else ""),
    ]
    if h.drivers:
        lines.append("why it moved: " + "; ".join(fmt.driver(d) for d in h.drivers))
    if h.now.components:
        lines.append("components: " + ", ".join(f"{k} {v:.0f}" for k, v in h.now.components.items()))
    if card.owners:
        lines.append("owners: " + ", ".join(f"{o.team}: {escape(o.name)}" for o in card.owners))
    for x in card.handoffs:
        owner, state = escape(x.owner or "no owner"), fmt.due_words(x.due_at, x.paused, now)
        lines.append(f"handoff {escape(x.external_id)} {x.kind} {x.from_team}→{x.to_team} ({owner}): {state}")
    for w in card.wins:
        lines.append(f"win {w.won_on} {w.kind}: {escape(w.text)} — {', '.join(w.teams)}")
    return Group(*(Text.from_markup(line) for line in lines))


def health_json(card: AccountCard, now: dt.datetime) -> dict[str, Any]:
    """The card as `retention-bot health --json` prints it."""
    h, account = card.health, card.account
    return {
        "account": {
            "external_id": account.external_id,
            "name": account.name,
            "domain": account.domain,
            "segment": account.segment,
            "stage": card.stage,
            "renewal_on": None if account.renewal_on is None else account.renewal_on.isoformat(),
            "mrr": str(card.mrr),
            "arr": str(card.arr),
            "crm_url": account.crm_url,
        },
        "health": {
            "score": h.now.score,
            "band": h.now.band,
            "score_30_days_ago": h.then.score,
            "trend": h.trend,
            "components": {k: round(v, 1) for k, v in h.now.components.items()},
            # Every component's share of the trend (they add up to it, to rounding), largest first.
            "drivers": [
                {
                    "component": d.component,
                    "change": round(d.change, 1),
                    "then": None if d.then is None else round(d.then, 1),
                    "now": None if d.now is None else round(d.now, 1),
                }
                for d in h.changes
            ],
        },
        "owners": [o.__dict__ for o in card.owners],
        "open_handoffs": [
            {
                "id": x.external_id,
                "kind": x.kind,
                "from": x.from_team,
                "to": x.to_team,
                "owner": x.owner,
                "due_at": x.due_at.isoformat(),
                "state": fmt.due_words(x.due_at, x.paused, now),
            }
            for x in card.handoffs
        ],
        "recent_wins": [
            {
                "won_on": w.won_on.isoformat(),
                "kind": w.kind,
                "text": w.text,
                "amount": None if w.amount is None else str(w.amount),
                "teams": w.teams,
                "people": w.people,
            }
            for w in card.wins
        ],
    }


def no_single_account(refusal: NoSingleAccount) -> str:
    """What the CLI says when the text names several accounts or none."""
    text, options = refusal.query, refusal.candidates or refusal.suggestions
    lines = [f"  {c.external_id}  {c.name}" + (f"  ({c.domain})" if c.domain else "") for c in options]
    if refusal.candidates:
        return f"{text!r} matches several accounts; name one:\n" + "\n".join(lines)
    if refusal.more:
        lines.append(f"  …and {refusal.more} more: type more of the name")
    if not lines:
        return f"no account matches {text!r}; try a CRM id, a domain or the start of the name"
    return f"no account is named {text!r}; did you mean:\n" + "\n".join(lines)


def unknown_segment(refusal: UnknownSegment) -> str:
    listed = ", ".join(refusal.known) or "none yet"
    return f"no account is in segment {refusal.segment!r}; the segments are: {listed}"


def team_view(view: TeamView, now: dt.datetime) -> RenderableType:
    """``retention-bot scorecard --team cs``: the team's KPIs, its accounts' health, its open handoffs
    and its shared wins in the period."""
    card, part = view.card, view.part
    seg = f", segment {card.segment}" if card.segment else ""
    table = Table(title=f"The {part.team} team's part — {card.period.label}{seg}", title_justify="left")
    table.add_column("KPI the team owns")
    for name in ("value", "target", "status", "previous", "change"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("shared with")
    weekly = card.period.kind == "week"
    for k in part.kpis:
        moved = "" if k.good is None else ("green" if k.good else "red")
        table.add_row(
            escape(k.label),
            escape(goal_words.value(k, card.currency)),
            goal_words.target(k, card.currency),
            Text(STATUS_WORDS[k.status], style=STATUS_STYLES.get(k.status) or ""),
            fmt.value(k.previous.value, k.unit, card.currency),
            Text(goal_words.change(k, card.currency, weekly=weekly), style=moved),
            ", ".join(o for o in k.owners if o != part.team) or "—",
        )
    lines: list[RenderableType] = [table] if part.kpis else [Text(f"The {part.team} team owns no KPI.")]
    lines.append(Text(team_health_words(part)))
    for account, score, band in part.health.worst:
        lines.append(Text(f"  {account}: {score:.0f} ({band})"))
    lines.append(Text(team_handoff_words(part)))
    for h in part.open_handoffs:
        lines.append(
            Text(
                f"  {h.account} {h.kind} {h.route} ({h.owner or 'no owner'}): "
                + fmt.due_words(h.due_at, h.paused, now)
            )
        )
    lines.append(Text(f"Shared wins credited to {part.team} this period: {part.wins}"))
    for day, account, kind, text in part.win_lines:
        lines.append(Text(f"  {day:%b %d} {account} {kind}: {text}"))
    return Group(*lines)
# --- the digest as a person reads it -------------------------------------------------------------

EMOJI = {":trophy:": "🏆", ":tada:": "🎉", ":warning:": "⚠️", ":chart_with_upwards_trend:": "📈"}
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_MARKS = [
    re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"),
    re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"),
    re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"),
    re.compile(r"`([^`\n]+)`"),
]


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith(("@", "#")):
        return f"{target[0]}{label or target[1:]}"
    if target.startswith("!"):
        return "@" + (label or target[1:].split("^")[0])
    return f"{label} ({target})" if label and label != target else target


def mrkdwn_plain(text: str) -> str:
    """Slack mrkdwn as plain text: links as "label (url)", mentions as @name, bold, italics, strikes and
    code without their marks, the three entities decoded, a few emoji codes as emoji."""
    out = _LINK.sub(_link, text)
    for mark in _MARKS:
        out = mark.sub(r"\1", out)
    for code, emoji in EMOJI.items():
        out = out.replace(code, emoji)
    return out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _cell(cell: dict[str, Any]) -> str:
    if cell.get("type") == "raw_text":
        return str(cell.get("text", ""))
    texts = []
    for element in cell.get("elements") or []:  # rich_text: sections of text runs
        for run in element.get("elements") or []:
            texts.append(str(run.get("text") or run.get("url") or ""))
    return "".join(texts)


def _table(block: dict[str, Any]) -> list[str]:
    rows = [[mrkdwn_plain(_cell(c)) for c in row] for row in block.get("rows") or []]
    if not rows:
        return []
    settings = block.get("column_settings") or []
    width = max(len(r) for r in rows)
    sizes = [max((len(r[k]) if k < len(r) else 0) for r in rows) for k in range(width)]
    right = [k < len(settings) and (settings[k] or {}).get("align") == "right" for k in range(width)]

    def line(row: list[str]) -> str:
        cells = [
            (row[k] if k < len(row) else "").rjust(sizes[k])
            if right[k]
            else (row[k] if k < len(row) else "").ljust(sizes[k])
            for k in range(width)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * s for s in sizes)
    return [line(rows[0]), rule, *(line(r) for r in rows[1:])]


def blocks_text(blocks: list[dict[str, Any]]) -> list[str]:
    """Block Kit blocks as terminal lines: headers underlined, tables aligned, sections and context
    in plain words, dividers as rules."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = mrkdwn_plain(str((block.get("text") or {}).get("text", "")))
            lines += [title, "=" * len(title)]
        elif kind == "section":
            text = block.get("text") or {}
            if text:
                lines += mrkdwn_plain(str(text.get("text", ""))).splitlines()
            for f in block.get("fields") or []:
                lines.append("  " + mrkdwn_plain(str(f.get("text", ""))))
        elif kind == "context":
            words = [
                mrkdwn_plain(str(e.get("text", e.get("alt_text", "")))) for e in block.get("elements") or []
            ]
            lines.append("  " + " · ".join(w for w in words if w))
        elif kind == "table":
            lines += _table(block)
        elif kind == "divider":
            lines.append("─" * 40)
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "actions":
            labels = [str((e.get("text") or {}).get("text", "")) for e in block.get("elements") or []]
            lines.append("  ".join(f"[ {label} ]" for label in labels))
        else:
            lines.append(f"[{kind} block]")
        lines.append("")
    return lines


def digest_text(blocks: list[dict[str, Any]], thread_blocks: list[dict[str, Any]], charts: list[str]) -> str:
    """The weekly digest as a person reads it in Slack: the message, then its thread reply (and the
    charts that follow it there, by title)."""
    lines = blocks_text(blocks)
    lines += ["── in the thread ──", ""]
    lines += blocks_text(thread_blocks)
    if charts:
        lines += ["── charts in the thread ──", *(f"  • {title}" for title in charts), ""]
    return "\n".join(lines).rstrip() + "\n"
