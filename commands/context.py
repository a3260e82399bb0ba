"""What every listener gets: the policies, the admins, the database, the clock, the answer helper, the
shout-out hook, and typed payloads."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError, field_validator
from slack_bolt import App

from commands.answer import Answerer, Reply
from services.plays import Notify, no_notify
from services.policies import Policies
from services.tenancy import workspace_for_team
from services.wins import Announce
from storage.db import Database
from storage.periods import PERIOD_KINDS, PeriodKind

# A channel picked from Slack's autocomplete arrives as <#C123|name> (the manifest sets should_escape).
CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")


class _FromSlack(BaseModel):
    """Who sent a payload and from where: the fields every payload the bot reads has (Slack sends more)."""

    model_config = ConfigDict(extra="ignore")
    team_id: str
    enterprise_id: str | None = None
    user_id: str
    channel_id: str | None = None


class SlashCommand(_FromSlack):
    """The fields of a slash-command request the bot uses."""

    command: str
    text: str = ""
    response_url: str | None = None
    trigger_id: str | None = None


def _where(body: dict[str, Any]) -> dict[str, Any]:
    """Who sent an interactivity payload (a button, a dialog's submission) and from which team and
    Enterprise Grid org, read where Slack puts them and in Bolt's order (``extract_team_id``,
    ``extract_enterprise_id``): through an org-wide install ``team`` may be null, and the team is the
    user's (or the view's); the org is ``enterprise`` (an object, or its id) or ``team.enterprise_id``."""
    team = body.get("team") or {}
    user = body.get("user") or {}
    enterprise = body.get("enterprise")
    if isinstance(enterprise, dict):
        enterprise = enterprise.get("id")
    return {
        "team_id": team.get("id") or user.get("team_id") or (body.get("view") or {}).get("team_id") or "",
        "enterprise_id": enterprise or team.get("enterprise_id"),
        "user_id": user.get("id"),  # required: a payload without one is refused by the model
    }


class ButtonPress(_FromSlack):
    """One button of a ``block_actions`` payload."""

    action_id: str
    value: str = ""
    message_ts: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any], action: dict[str, Any]) -> ButtonPress:
        return cls(
            **_where(body),
            channel_id=(body.get("channel") or body.get("container") or {}).get("id")
            or (body.get("container") or {}).get("channel_id"),
            action_id=action["action_id"],
            value=action.get("value", ""),
            message_ts=(body.get("container") or {}).get("message_ts") or body.get("action_ts"),
        )


class ViewSubmission(_FromSlack):
    """Who submitted a dialog (a ``view_submission`` payload) and from where; the answers are read from
    the view by the dialog's own model (``commands.dialogs``)."""

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ViewSubmission:
        return cls(**_where(body))


class _ButtonValue(BaseModel):
    """A button's JSON value as we wrote it; what Slack sends back is checked, never trusted."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def parse(cls, value: str) -> Any:
        """The value, or the defaults when it is not JSON or not what we wrote."""
        try:
            return cls.model_validate_json(value)
        except ValidationError:
            return cls()


class HealthShare(_ButtonValue):
    """ "Share in channel" on a health card and the account choices: the account's id."""

    account_id: StrictInt | None = None


class ScorecardShare(_ButtonValue):
    """ "Post to channel" on a scorecard: what it showed. A field that is not valid takes its default
    (the week, no segment, today)."""

    period: PeriodKind = "week"
    segment: str | None = None
    as_of: dt.date | None = None

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: object) -> object:
        return value if value in PERIOD_KINDS else "week"

    @field_validator("segment", mode="before")
    @classmethod
    def _segment(cls, value: object) -> object:
        return value if isinstance(value, str) else None

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, value: object) -> dt.date | None:
        try:
            return dt.date.fromisoformat(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None


def slash_command(app: App, ctx: Context, name: str, reply: Callable[[Context, SlashCommand], Reply]) -> None:
    """Register slash command ``name``: parse its payload, then answer inside Slack's 3 seconds with
    what ``reply`` returns (in the HTTP response, or through response_url when it is slow)."""

    def listener(ack: Any, body: dict[str, Any], respond: Any) -> None:
        cmd = SlashCommand.model_validate(body)

        def work() -> Reply:
            ctx.identify_user(cmd.team_id, cmd.enterprise_id, cmd.user_id)
            return reply(ctx, cmd)

        ctx.answer(ack, respond, work)

    app.command(name)(listener)


@dataclass
class Context:
    """Built by ``bot.app.create_app`` from the settings."""

    db: Database
    clock: Callable[[], dt.datetime]
    answer: Answerer
    policies: Policies
    admin_user_ids: frozenset[str]
    single_workspace: str | None  # the configured workspace; None with OAuth (one per installation)
    announce_wins: Announce  # queues wins' shout-outs in the caller's transaction (digests.shoutout)
    # A Web API client for a workspace, for calls outside Bolt's own reply paths (opening a dialog).
    clients: Callable[[int], Any] | None = None
    # Links a Slack user the people list does not know to their person by e-mail (bot.identity.LazyLinker);
    # called with (workspace, Slack user id) before a command reads the people list.
    identify: Callable[[int, str], bool] | None = None
    # Queue the messages of plays opened by hand / reassigned, in the caller's transaction (digests.plays).
    play_notify: Notify = no_notify
    play_reassign_notify: Notify = no_notify

    _workspaces: dict[tuple[str | None, str | None], int] = field(default_factory=dict)

    def workspace(self, team_id: str | None, enterprise_id: str | None) -> int:
        """The workspace of a request. Resolving may create or bind it, so it runs in its own committed
        transaction: call it before opening yours (on SQLite a second writer would wait for you).
        The id never changes, so it is cached."""
        key = (team_id, enterprise_id)
        if key not in self._workspaces:
            with self.db.write() as own:
                self._workspaces[key] = workspace_for_team(
                    own,
                    team_id=team_id,
                    enterprise_id=enterprise_id,
                    single_workspace=self.single_workspace,
                    now=self.clock(),
                )
        return self._workspaces[key]

    def identify_user(self, team_id: str | None, enterprise_id: str | None, user_id: str) -> None:
        """Before a command reads the people list: link an unknown Slack user by e-mail if we can. A
        request the workspace refuses is left for the command to refuse in its own words."""
        if self.identify is None:
            return
        try:
            ws = self.workspace(team_id, enterprise_id)
        except Exception:
            return
        self.identify(ws, user_id)

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admin_user_ids
