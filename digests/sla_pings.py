"""The SLA pings: a warning to the owner, a breach to the owner (and their manager, unless the
manager gets the daily roll-up, ``digests.rollups``), an escalation to the next step — each with the
account, the handoff, how late it is, and the buttons that act on it (``blocks.pings``).
Builders take computed facts; the sweep (``services.sla``) decides and queues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from blocks.format import duration_words, slack_date
from blocks.pings import HEADLINE, buttons
from blocks.text import clip, slack_escape
from services import sla
from services.policies import SlaConfig
from services.sla import Event
from storage.db import Database
from storage.handoffs import PingFacts

ROLE_NOTE = {
    "manager": " You get this as the owner's manager.",
    "managers_manager": " You get this as the manager of the owner's manager.",
}


def ping_text(event: Event, facts: PingFacts, now: dt.datetime) -> str:
    """What happened, to whom and how late — the same for every recipient of the event."""
    owner = f"<@{facts.owner_slack}>" if facts.owner_slack else slack_escape(facts.owner or "nobody")
    what = (
        f"*{clip(slack_escape(facts.account), 200)}* — {slack_escape(facts.kind)} handoff "
        f"({facts.from_team}→{facts.to_team}), owner {owner}"
    )
    if event.kind == "warning":
        tail = f"due {slack_date(facts.due)}: {duration_words(facts.due - now)} left."
    elif event.kind == "breach":
        tail = f"was due {slack_date(facts.due)}: *{duration_words(now - facts.due)} late*."
    else:
        tail = (
            f"was due {slack_date(facts.due)}, {duration_words(now - facts.due)} ago, and nobody has "
            f"acknowledged it (escalation step {event.step})."
        )
    return clip(f"{HEADLINE[event.kind]}: {what} {tail}", 2900)


def ping_args(event: Event, facts: PingFacts, roles: list[str], now: dt.datetime) -> list[dict[str, Any]]:
    """chat.postMessage arguments (no channel) for each recipient role of one SLA event: built once
    per event (a sweep may build tens of thousands), with a line saying why each recipient gets it."""
    text = ping_text(event, facts, now)
    notification = f"{HEADLINE[event.kind].replace('*', '')}: {clip(slack_escape(facts.account), 200)}"
    context = {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f"Handoff `{clip(slack_escape(facts.external_id), 80)}` · "
                "Acknowledge stops the escalation · `/sla team` shows every open one",
            }
        ],
    }
    actions = buttons(facts.handoff_id)
    return [
        {
            "text": notification,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text + ROLE_NOTE.get(role, "")}},
                context,
                actions,
            ],
            "unfurl_links": False,
        }
        for role in roles
    ]


BATCH_LINES = 100  # ten sections of ten lines


def batch_line(event: Event, facts: PingFacts, now: dt.datetime) -> str:
    owner = f"<@{facts.owner_slack}>" if facts.owner_slack else slack_escape(facts.owner or "nobody")
    if event.kind == "warning":
        when = f"due {slack_date(facts.due)}: {duration_words(facts.due - now)} left"
    else:
        when = f"was due {slack_date(facts.due)}: *{duration_words(now - facts.due)} late*"
    step = f" (step {event.step})" if event.kind == "escalation" else ""
    return (
        f"• {HEADLINE[event.kind]}{step} — *{clip(slack_escape(facts.account), 80)}*, "
        f"{slack_escape(facts.kind)} handoff `{clip(slack_escape(facts.external_id), 40)}`, "
        f"owner {owner}, {when}"
    )


def batch_args(items: list[tuple[Event, PingFacts]], now: dt.datetime) -> dict[str, Any]:
    """One message for a storm: every ping a recipient would have got from one sweep, listed (the
    worst first: escalations, breaches, warnings), instead of one DM each."""
    order = {"escalation": 0, "breach": 1, "warning": 2}
    items = sorted(items, key=lambda i: (order.get(i[0].kind, 3), i[1].due, i[1].handoff_id))
    counts = {k: sum(1 for e, _ in items if e.kind == k) for k in ("escalation", "breach", "warning")}
    words = {"escalation": "escalations", "breach": "breaches", "warning": "warnings"}
    said = ", ".join(f"{n} {k if n == 1 else words[k]}" for k, n in counts.items() if n)
    title = f"{len(items)} SLA alerts at once: {said}"
    lines = [batch_line(e, f, now) for e, f in items[:BATCH_LINES]]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, 150)}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "One message instead of one DM each. `/handoff done ID` finishes one; "
                    "`/sla` (or `/sla team`) lists them with time left.",
                }
            ],
        },
    ]
    for start in range(0, len(lines), 10):
        text = "\n".join(lines[start : start + 10])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 2900)}})
    if len(items) > BATCH_LINES:
        more = f"…and {len(items) - BATCH_LINES} more: `/sla` lists them."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return {"text": title, "blocks": blocks, "unfurl_links": False}


def sweep_and_queue(
    db: Database, now: dt.datetime, config: SlaConfig, admins: Collection[str]
) -> sla.SweepReport:
    """The SLA sweep with these pings: every warning, breach and escalation that is due is recorded and
    its pings queued in the delivery ledger, in one transaction (``services.sla.sweep``)."""
    return sla.sweep(db, now, config, admins=admins, pings=ping_args, batch=batch_args)
