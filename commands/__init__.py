"""Slack verbs: a module per slash command with its dialogs, the SLA pings' buttons (``sla_actions``), the
share and pick buttons (``actions``) and App Home (``home``) — docs/architecture.md says why this cut.

Each listener acknowledges first (``commands.answer``), parses its payload into a pydantic model
(``commands.context``), calls one service, and sends what a builder (``commands.replies``) returns.
"""

from __future__ import annotations

from slack_bolt import App

from commands import actions, feedback, handoffs, health, home, plays, renewals, scorecard, sla_actions, wins
from commands.context import Context


def register(app: App, ctx: Context) -> None:
    for module in (health, scorecard, wins, handoffs, actions, sla_actions, home, plays, renewals, feedback):
        module.register(app, ctx)
