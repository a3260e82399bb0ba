"""The SLA pings: a warning to the owner, a breach to the owner and their manager, an escalation to
the next step — each with the account, the handoff, how late it is, and the buttons that act on it.
Builders take computed facts; nothing here queries."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from blocks import kit
from blocks.format import duration_words, slack_date
from blocks.text import clip, slack_escape
from storage.sla import Event, PingFacts

HEADLINE = {
    "warning": ":hourglass_flowing_sand: *SLA warning*",
    "breach": ":rotating_light: *SLA breached*",
    "escalation": ":rotating_light: *SLA escalation*",
}


def buttons(handoff_id: int) -> dict[str, Any]:
    value = json.dumps({"h": handoff_id})
    return {
        "type": "actions",
        "block_id": f"sla:{handoff_id}",
        "elements": [
            {
                "type": "button",
                "action_id": "sla_ack",
                "style": "primary",
                "value": value,
                "text": {"type": "plain_text", "text": "Acknowledge"},
            },
            {
                "type": "button",
                "action_id": "sla_done",
                "value": value,
                "text": {"type": "plain_text", "text": "Mark done"},
            },
            {
                "type": "button",
                "action_id": "sla_snooze",
                "value": value,
                "text": {"type": "plain_text", "text": "Snooze…"},
            },
        ],
    }


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


def status_line(kind: str, actor: str | None, at: dt.datetime, detail: dict[str, Any] | None) -> str:
    who = f"<@{actor}>" if actor else "someone"
    when = slack_date(at)
    if kind == "ack":
        return f":white_check_mark: Acknowledged by {who} {when}"
    if kind == "done":
        return f":heavy_check_mark: Marked done by {who} {when}"
    if kind == "snooze":
        reason = clip(slack_escape((detail or {}).get("reason", "")), 300)
        return f":zzz: Snoozed {float((detail or {}).get('hours', 0)):g} h by {who} {when}: {reason}"
    return f"{kind} by {who} {when}"


def ping_with_status(
    facts: PingFacts, headline: str, history: list[str], done: bool, due: dt.datetime | None
) -> dict[str, Any]:
    """The ping after people acted on it: what it was, who did what and when, and the buttons while
    there is still something to do."""
    owner = f"<@{facts.owner_slack}>" if facts.owner_slack else slack_escape(facts.owner or "nobody")
    what = (
        f"{headline}: *{clip(slack_escape(facts.account), 200)}* — {slack_escape(facts.kind)} handoff "
        f"({facts.from_team}→{facts.to_team}), owner {owner}"
        + (f", due {slack_date(due)}" if due and not done else "")
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(what, 3000)}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": clip(line, 2000)} for line in history[-10:]],
        },
    ]
    if not done:
        blocks.append(buttons(facts.handoff_id))
    return {"text": clip(what, 3000), "blocks": blocks if history else [blocks[0], *blocks[2:]]}


def snooze_modal(
    handoff_id: int, account: str, channel: str | None, ts: str | None, max_hours: float
) -> dict[str, Any]:
    """The Snooze dialog: how long (within the policy's allowance) and why."""
    choices = [
        {"text": {"type": "plain_text", "text": f"{h:g} h"}, "value": f"{h:g}"}
        for h in ([h for h in (1, 4, 8, 24, 48) if h <= max_hours] or [max_hours])
    ]
    return kit.modal(
        "sla_snooze",
        "Snooze the SLA clock",
        "Snooze",
        {"h": handoff_id, "c": channel, "ts": ts},
        f"*{clip(slack_escape(account), 200)}*: the clock stops for the time you choose; "
        "the due time moves with it.",
        [
            kit.input_block(
                "hours",
                "For how long",
                {"type": "static_select", "initial_option": choices[0], "options": choices},
            ),
            kit.input_block(
                "reason",
                "Why",
                kit.text_input("e.g. waiting for the customer's signed SOW", multiline=False, max_length=500),
            ),
        ],
    )


def checklist_modal(account: str, kind: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The sales→CS handoff checklist: what CS needs to take the customer over."""
    return kit.modal(
        "handoff_checklist",
        "Handoff checklist",
        "Open handoff",
        metadata,
        f"*{clip(slack_escape(account), 200)}* — {slack_escape(kind)}: what the receiving team needs.",
        [
            kit.input_block(
                "success_plan", "Success plan", kit.text_input("Goals, use cases, what success looks like")
            ),
            kit.input_block(
                "contacts", "Contacts", kit.text_input("Champion, decision maker, admin — names and roles")
            ),
            kit.input_block(
                "targets",
                "SOW and usage targets",
                kit.text_input("Seats, usage targets, scope"),
                optional=True,
            ),
            kit.input_block("first_value", "First-value target", {"type": "datepicker"}),
        ],
    )
