"""/handoff and /sla: open handoffs with their SLA state, worst first.

Both parse every form the SLA issue will implement; the forms that change a handoff (open, done,
pause, resume) are checked and answered, and say that they arrive with SLA policies.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_bolt import App

from bot.answer import Reply
from bot.slack_text import slack_escape
from commands import replies
from commands.context import Services, SlashCommand, slash_command
from storage.accounts import sla_state
from storage.lookup import find_account
from storage.slack_queries import (
    OpenHandoffRow,
    handoff_by_external_id,
    open_handoffs,
    person_by_slack_id,
    reports_of,
)

HANDOFF_USAGE = [
    ("/handoff list [ACCOUNT]", "open handoffs: yours, or one account's"),
    ("/handoff open ACCOUNT KIND [@owner]", "open a handoff (arrives with SLA policies)"),
    ("/handoff done ID", "mark one done (arrives with SLA policies)"),
    ("/handoff pause ID REASON", "stop its SLA clock (arrives with SLA policies)"),
    ("/handoff resume ID", "restart its SLA clock (arrives with SLA policies)"),
]
SLA_USAGE = [
    ("/sla", "your open handoffs with time left or overdue, worst first"),
    ("/sla team", "your reports' open handoffs"),
    ("/sla ACCOUNT", "one account's open handoffs"),
]
COMING = "Changing handoffs from Slack arrives with SLA policies; until then they come from your CRM import."


def handoff_rows(
    handoffs: list[OpenHandoffRow], now: dt.datetime
) -> list[tuple[str, str, str, str, str | None, str]]:
    """What the handoff list builder shows for each open handoff."""
    return [
        (h.account, h.external_id, h.kind, h.route, h.owner, sla_state(h.due_at, h.paused, now))
        for h in handoffs
    ]


def _for_account(services: Services, session: Any, ws: int, query: str, title: str) -> Reply:
    found = find_account(session, ws, query)
    if found.match is None:
        return replies.not_found(query)
    rows = open_handoffs(session, ws, account_id=found.match.id)
    return replies.handoffs(
        f"{title}: {slack_escape(found.match.name)}", handoff_rows(rows, services.clock()), "none open"
    )


def sla_reply(services: Services, cmd: SlashCommand) -> Reply:
    arg = " ".join(cmd.text.split())
    if arg.lower() in ("help", "?"):
        return replies.help_reply("/sla", SLA_USAGE)
    ws = services.workspace(cmd.team_id, cmd.enterprise_id)
    with services.db.read() as session:
        if arg.lower() not in ("", "mine", "team"):
            return _for_account(services, session, ws, arg, "Open handoffs")
        me = person_by_slack_id(session, ws, cmd.user_id)
        if me is None:
            return replies.error_reply(
                "Your Slack user isn't in the people list, so I can't tell which handoffs are yours.",
                "Ask RevOps to import people with slack_user_id, or try `/sla ACCOUNT`.",
            )
        if arg.lower() == "team":
            reports = reports_of(session, ws, me.id)
            if not reports:
                return replies.text_reply(
                    "Nobody reports to you in the people list, so there is no team view."
                )
            rows = open_handoffs(session, ws, owner_ids=reports)
            return replies.handoffs(
                "Your team's open handoffs", handoff_rows(rows, services.clock()), "none open: well done"
            )
        rows = open_handoffs(session, ws, owner_ids=[me.id])
    return replies.handoffs("Your open handoffs", handoff_rows(rows, services.clock()), "none open")


def handoff_reply(services: Services, cmd: SlashCommand) -> Reply:
    words = cmd.text.split()
    sub = words[0].lower() if words else "list"
    if sub in ("help", "?"):
        return replies.help_reply("/handoff", HANDOFF_USAGE)
    ws = services.workspace(cmd.team_id, cmd.enterprise_id)
    with services.db.read() as session:
        if sub == "list":
            if len(words) > 1:
                return _for_account(services, session, ws, " ".join(words[1:]), "Open handoffs")
            return sla_reply(services, cmd.model_copy(update={"text": "mine"}))
        if sub == "open":
            if len(words) < 3:
                return replies.error_reply(
                    "`/handoff open` needs an account and a kind.", "Try `/handoff open acme sales_to_cs`."
                )
            found = find_account(session, ws, words[1])
            if found.match is None:
                return replies.not_found(words[1])
            return replies.text_reply(f"Handoff for *{slack_escape(found.match.name)}* not opened. {COMING}")
        if sub in ("done", "pause", "resume"):
            if len(words) < 2 or (sub == "pause" and len(words) < 3):
                form = next(f for f, _ in HANDOFF_USAGE if f.startswith(f"/handoff {sub}"))
                return replies.error_reply(f"`/handoff {sub}` needs more.", f"Type `{form}`.")
            handoff = handoff_by_external_id(session, ws, words[1])
            if handoff is None:
                return replies.error_reply(
                    f"There is no handoff `{slack_escape(words[1])}`.", "`/handoff list` shows the ids."
                )
            return replies.text_reply(f"Handoff `{slack_escape(handoff.external_id)}` unchanged. {COMING}")
    return replies.help_reply("/handoff", HANDOFF_USAGE)


def register(app: App, services: Services) -> None:
    slash_command(app, services, "/handoff", handoff_reply)
    slash_command(app, services, "/sla", sla_reply)
