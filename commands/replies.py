"""Block Kit builders for slash-command replies: one function per message, computed data in, a reply
dict (``text`` fallback + ``blocks``) out. They never query. All user and database text goes through
``slack_escape``, the fallback ``text`` included; plain_text (headers, button labels) takes raw text and
``plain`` escapes it. Owners are shown by name, not mentioned, so a shared card pings nobody."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from blocks import format as fmt
from blocks import goals as goal_words
from blocks import kit
from blocks.spark import spark_words, sparkline
from blocks.text import (
    MAX_MESSAGE_TEXT,
    clip,
    slack_escape,
)
from commands.answer import Reply
from commands.context import HealthShare, ScorecardShare
from services.accounts import AccountCard
from services.errors import NoSingleAccount, UnknownSegment
from services.goals import MatrixRow, TargetUpdate
from services.scorecard import Scorecard
from storage.lookup import Match
from storage.targets import TargetChange

BAND_EMOJI = {"green": ":large_green_circle:", "yellow": ":large_yellow_circle:", "red": ":red_circle:"}
MAX_LIST = 15
HOME_SPARK_WIDTH = 15  # characters for 90 days on a list line: each is the mean of six days


def text_reply(text: str) -> Reply:
    """A private plain answer; ``text`` is already safe mrkdwn written by us."""
    return {"text": clip(text, MAX_MESSAGE_TEXT), "blocks": [kit.section(text)]}


def echo(query: str) -> str:
    """What the person typed, escaped and short enough to quote back."""
    return clip(slack_escape(" ".join(query.split())), 200)


def error_reply(problem: str, what_to_type: str) -> Reply:
    return text_reply(f":warning: {problem}\n{what_to_type}")


def help_reply(command: str, usage: list[tuple[str, str]]) -> Reply:
    lines = [f"*{command}* — what you can type:"] + [f"• `{form}` — {meaning}" for form, meaning in usage]
    return text_reply("\n".join(lines))


# --- /health -------------------------------------------------------------------------------------


def health_card(
    card: AccountCard,
    now: dt.datetime,
    currency: str,
    *,
    shared_by: str | None = None,
    typo_of: str | None = None,
    play_titles: Mapping[str, str] | None = None,
) -> Reply:
    """``typo_of``: what the person typed, when the account was taken as the closest name to it;
    ``play_titles``: the play definitions' titles by key (else the open plays show their keys)."""
    a, h = card.account, card.health
    if h.now.score is None:
        score = "Health: n/a (no data for any component yet)"
    else:
        trend = "" if h.trend is None else f"  {fmt.arrow(h.trend)} {abs(h.trend):.0f} in 30 days"
        score = f"{BAND_EMOJI.get(h.now.band or '', '')} *Health {h.now.score:.0f}* ({h.now.band}){trend}"
    spark = spark_words(card.history)
    if spark:
        score += f"\n`{spark}`"
    facts = [
        f"*ARR*\n{fmt.money(card.arr, currency)}",
        f"*Stage*\n{card.stage.replace('_', ' ')}",
        f"*Renewal*\n{a.renewal_on or 'n/a'}",
        f"*Segment*\n{slack_escape(a.segment)}",
    ]
    blocks: list[dict[str, Any]] = [
        # A mrkdwn line, not a header block: the name is escaped like all database text.
        kit.section(f"*{clip(slack_escape(a.name), 300)}* — account health\n{score}"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in facts]},
    ]
    if typo_of is not None:
        closest = clip(slack_escape(a.name), 300)
        blocks.insert(
            1, kit.context(f"“{echo(typo_of)}” is not an account name: showing the closest, *{closest}*.")
        )
    if h.drivers:
        moved = "; ".join(fmt.driver(d) for d in h.drivers)
        blocks.append(kit.context(f"Why it moved: {moved}"))
    if card.owners:
        owners = " · ".join(f"*{o.team}* {slack_escape(o.name)}" for o in card.owners)
        blocks.append(kit.section(f"Owners: {owners}"))
    if card.handoffs:
        rows = [
            f"• {slack_escape(x.kind)} {x.from_team}→{x.to_team} "
            f"({slack_escape(x.owner or 'no owner')}): {fmt.due_words(x.due_at, x.paused, now)}"
            for x in card.handoffs[:5]
        ]
        more = f"\n…and {len(card.handoffs) - 5} more" if len(card.handoffs) > 5 else ""
        blocks.append(kit.section("*Open handoffs*\n" + "\n".join(rows) + more))
    if card.plays:
        rows = []
        for p in card.plays[:5]:
            who = f"<@{p.owner_slack}>" if p.owner_slack else slack_escape(p.owner_name or "no owner")
            title = slack_escape((play_titles or {}).get(p.play_key, p.play_key))
            due = "" if p.due_at is None else f", {fmt.due_words(p.due_at, p.state == 'snoozed', now)}"
            rows.append(f"• {clip(title, 120)} ({who}, {p.state}{due})")
        extra = len(card.plays) - 5
        more = f"\n…and {extra} more: `/plays {slack_escape(a.external_id)}`" if extra > 0 else ""
        blocks.append(kit.section("*Open plays*\n" + "\n".join(rows) + more))
    if card.wins:
        rows = [f"• {w.won_on} {w.kind}: {slack_escape(w.text)} — {', '.join(w.teams)}" for w in card.wins]
        blocks.append(kit.section("*Recent wins*\n" + "\n".join(rows)))
    if shared_by:
        blocks.append(kit.context(f"Shared by <@{shared_by}>"))
    else:
        actions = [
            kit.button(
                "Share in channel", "share_health", HealthShare(account_id=a.id).model_dump(), primary=True
            )
        ]
        if a.crm_url:
            actions.append(kit.link_button("Open in CRM", "open_crm", a.crm_url))
        blocks.append(kit.actions(actions))
    # The fallback is also the notification, and Slack parses mentions in it: the name is escaped here too.
    health = "n/a" if h.now.score is None else f"{h.now.score:.0f} ({h.now.band})"
    return {"text": f"{clip(slack_escape(a.name), 250)}: health {health}", "blocks": blocks}


def choose_account(query: str, options: list[Match], *, did_you_mean: bool, more: int = 0) -> Reply:
    """``more``: how many other names also contain what was typed (not offered as buttons)."""
    q = echo(query)
    head = f"No account is named “{q}”. Did you mean:" if did_you_mean else f"“{q}” matches several accounts:"
    if more:
        head = f"{head}\n(and {more} more: type more of the name)"
    buttons = [
        kit.button(
            f"{m.name} ({m.external_id})", f"pick_account_{i}", HealthShare(account_id=m.id).model_dump()
        )
        for i, m in enumerate(options[:10])
    ]
    return {
        "text": clip(head, MAX_MESSAGE_TEXT),
        "blocks": [kit.section(head), kit.actions(buttons)],
    }


def no_single_account(refusal: NoSingleAccount) -> Reply:
    """What /health answers when the text names several accounts or none: the choices as buttons."""
    if refusal.candidates:
        return choose_account(refusal.query, refusal.candidates, did_you_mean=False)
    if refusal.suggestions:
        return choose_account(refusal.query, refusal.suggestions, did_you_mean=True, more=refusal.more)
    return not_found(refusal.query)


def which_account(refusal: NoSingleAccount) -> Reply:
    """What a command that writes (/win, /handoff) answers when the text names several accounts, none,
    or only one by a typo: the names to choose from, as text to type again (nothing was recorded)."""
    options = refusal.candidates or refusal.suggestions
    listed = ", ".join(f"`{slack_escape(o.external_id)}` {slack_escape(o.name)}" for o in options[:5])
    hint = "Use its CRM id or domain."
    if listed:
        hint = f"Did you mean {listed}? Use the CRM id or a quoted name."
    return error_reply(f"No single account matches “{echo(refusal.query)}”.", hint)


def unknown_segment(refusal: UnknownSegment) -> Reply:
    listed = ", ".join(f"`{s}`" for s in refusal.known) or "none yet"
    return error_reply(f"There is no segment “{echo(refusal.segment)}”.", f"Segments: {listed}.")


def not_found(query: str) -> Reply:
    return error_reply(
        f"No account matches “{echo(query)}”.",
        "Try its CRM id, its domain (`/health acme.com`) or the start of its name (`/health acme`).",
    )


def my_accounts(
    rows: list[tuple[str, str, float | None, str | None]],
    total: int,
    histories: dict[str, list[float | None]] | None = None,
) -> Reply:
    """``rows``: (name, external id, score, band), worst first; ``histories``: each one's daily health
    scores (90 days), drawn as a sparkline."""
    histories = histories or {}
    if not rows:
        return text_reply(
            "You own no accounts yet (as AE, CSM, support lead or exec sponsor). "
            "Look one up with `/health ACCOUNT`."
        )
    lines = [
        f"{BAND_EMOJI.get(band or '', ':white_circle:')} {'n/a' if score is None else f'{score:.0f}'}  "
        f"{slack_escape(name)} ({slack_escape(ext)})"
        + (f"  `{line}`" if (line := sparkline(histories.get(ext, []), HOME_SPARK_WIDTH)) else "")
        for name, ext, score, band in rows
    ]
    more = f"\n…and {total - len(rows)} more" if total > len(rows) else ""
    return {
        "text": "Your accounts, worst health first",
        "blocks": [
            kit.section("*Your accounts, worst health first*\n" + "\n".join(lines) + more),
            kit.context("Type `/health ACCOUNT` for one account's card."),
        ],
    }


# --- /scorecard ----------------------------------------------------------------------------------


def scorecard(card: Scorecard, *, shared_by: str | None = None) -> Reply:
    seg = f" · segment {slack_escape(card.segment)}" if card.segment else ""
    blocks: list[dict[str, Any]] = [kit.header(f"Shared scorecard — {card.period.label}")]
    weekly = card.period.kind == "week"
    for k in card.kpis:
        value = goal_words.value(k, card.currency)
        change = goal_words.change(k, card.currency, weekly=weekly)
        note = f"\n_{slack_escape(k.current.reason)}_" if k.current.reason else ""
        goal = goal_words.status(k) + (
            f" · target {goal_words.target(k, card.currency)}" if k.target is not None else ""
        )
        blocks.append(
            kit.fields(f"*{k.label}*\n{value}  ({change})", f"{goal}\nOwners: {', '.join(k.owners)}{note}")
        )
    blocks.append(
        kit.context(
            f"As of {card.as_of}{seg}; revenue KPIs use {card.period.revenue_month:%B %Y}; "
            f"change against {card.previous.label}, marked good or bad by the KPI's direction; "
            "status against the period's target (`/scorecard owners`). Definitions: docs/metrics.md"
        )
    )
    if shared_by:
        blocks.append(kit.context(f"Posted by <@{shared_by}>"))
    else:
        payload = ScorecardShare(period=card.period.kind, segment=card.segment, as_of=card.as_of)
        button = kit.button(
            "Post to channel", "share_scorecard", payload.model_dump(mode="json"), primary=True
        )
        blocks.append(kit.actions([button]))
    return {"text": f"Shared scorecard — {card.period.label}", "blocks": blocks}


# --- /win, /wins ---------------------------------------------------------------------------------


def win_recorded(account: str, text: str, people: list[str], teams: list[str]) -> Reply:
    credit = ", ".join([f"<@{u}>" for u in people] + [f"*{t}*" for t in teams])
    return text_reply(
        f":trophy: Win recorded for *{slack_escape(account)}*: {clip(slack_escape(text), 1500)}\n"
        f"Credited: {credit}"
    )


def wins_list(title: str, rows: list[tuple[dt.date, str, str, str, list[str]]]) -> Reply:
    """``rows``: (date, account, kind, text, teams)."""
    if not rows:
        return text_reply(
            f"*{title}*: no shared wins yet. Record one with `/win ACCOUNT what happened @people #team`."
        )
    lines = [
        f"• {day:%b %d} *{slack_escape(acc)}* {kind}: {clip(slack_escape(text), 300)} — {', '.join(teams)}"
        for day, acc, kind, text, teams in rows[:MAX_LIST]
    ]
    more = f"\n…and {len(rows) - MAX_LIST} more" if len(rows) > MAX_LIST else ""
    return {"text": title, "blocks": [kit.section(f"*{title}*\n" + "\n".join(lines) + more)]}


# --- /handoff, /sla ------------------------------------------------------------------------------


def handoffs(title: str, rows: list[tuple[str, str, str, str, str | None, str]], empty: str) -> Reply:
    """``rows``: (account, handoff id, kind, from→to, owner, state), worst first."""
    if not rows:
        return text_reply(f"*{title}*: {empty}")
    lines = [
        f"• *{slack_escape(acc)}* `{slack_escape(hid)}` {slack_escape(kind)} {route} "
        f"({slack_escape(owner or 'no owner')}): {state}"
        for acc, hid, kind, route, owner, state in rows[:MAX_LIST]
    ]
    more = f"\n…and {len(rows) - MAX_LIST} more" if len(rows) > MAX_LIST else ""
    return {"text": title, "blocks": [kit.section(f"*{title}*\n" + "\n".join(lines) + more)]}


# --- /scorecard owners, /scorecard target --------------------------------------------------------


def owner_matrix(rows: list[MatrixRow], currency: str) -> Reply:
    """The capability / owner teams / KPIs / targets matrix, one section per capability."""
    blocks: list[dict[str, Any]] = [kit.header("Who owns which KPI")]
    by_capability: dict[str, list[MatrixRow]] = {}
    for row in rows:
        by_capability.setdefault(row.capability, []).append(row)
    for capability, kpis in by_capability.items():
        lines = [f"*{slack_escape(capability)}*"]
        for row in kpis:
            targets = "; ".join(
                goal_words.target_line(t, row.unit, currency, slack=True) for t in row.targets
            )
            better = "higher" if row.direction == "higher" else "lower"
            lines.append(
                f"• {row.label} — {', '.join(row.owners)} — {better} is better — "
                + (f"targets: {targets}" if targets else "_no target_")
            )
        blocks.append(kit.section("\n".join(lines)))
    blocks.append(
        kit.context(
            "Owners and policy-file targets: `[kpis.&lt;key&gt;]` in the policy file "
            "(docs/configuration.md). "
            "Admins set a target with `/scorecard target nrr 110% quarter [segment]`; it replaces the "
            "policy file's for that KPI, period and segment. `/scorecard targets` lists the changes."
        )
    )
    return {"text": "Who owns which KPI, and their targets", "blocks": blocks}


def target_set(update: TargetUpdate, currency: str) -> Reply:
    where = ", ".join(update.kinds) + (
        f", segment {slack_escape(update.segment)}" if update.segment else ", every segment"
    )
    if update.value is None:
        head = (
            f":dart: *{update.label}* target cleared ({where}); "
            f"{goal_words.after_clear(update, currency, slack=True)}."
        )
    else:
        head = f":dart: *{update.label}* target: {fmt.value(update.value, update.unit, currency)} ({where})."
    if not update.changes:
        return text_reply(head + "\nNothing changed: it already was so.")
    lines = [
        goal_words.change_line(c, update.label, update.unit, currency, slack=True) for c in update.changes
    ]
    return text_reply(head + "\n" + "\n".join(f"• {line}" for line in lines))


def target_history(changes: list[tuple[TargetChange, str, str]], currency: str) -> Reply:
    """``changes``: (change, KPI label, unit), newest first."""
    if not changes:
        return text_reply(
            "*Target changes*: none yet. An admin sets one with `/scorecard target nrr 110% quarter`."
        )
    lines = [
        f"• {goal_words.change_line(c, label, unit, currency, slack=True)}" for c, label, unit in changes
    ]
    more = (
        f"\n…and {len(lines) - MAX_LIST} more: `retention-bot kpis history`" if len(lines) > MAX_LIST else ""
    )
    return text_reply("*Target changes, newest first*\n" + "\n".join(lines[:MAX_LIST]) + more)
