"""/handoff and /sla: open handoffs with their SLA state, worst first; opening a handoff under its SLA
policy, finishing it, and pausing or resuming its clock (the owner, their manager or an admin).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from blocks.format import due_words, slack_date
from blocks.slack_errors import advice
from blocks.text import slack_escape
from commands import replies
from commands.answer import Reply
from commands.context import Context, SlashCommand, ViewSubmission, slash_command
from commands.dialogs import ChecklistMeta, ChecklistState, checklist_modal, meta_of
from commands.wins import MENTION
from services import handoffs
from services.authority import NotAllowed
from services.errors import NoSingleAccount
from services.sla import SlaError
from storage.handoffs import OpenHandoffRow

HANDOFF_USAGE = [
    ("/handoff list [ACCOUNT]", "open handoffs: yours, or one account's"),
    ("/handoff open ACCOUNT KIND [@owner]", "open a handoff; its SLA policy sets the due time"),
    ("/handoff done ID", "mark one done"),
    ("/handoff pause ID REASON", "stop its SLA clock"),
    ("/handoff resume ID", "restart its SLA clock (the due time moves by the time paused)"),
]
SLA_USAGE = [
    ("/sla", "your open handoffs with time left or overdue, worst first"),
    ("/sla team", "your reports' open handoffs"),
    ("/sla ACCOUNT", "one account's open handoffs"),
]
logger = logging.getLogger(__name__)

NOT_LISTED = "Ask RevOps to import you into the people list with your slack_user_id."
DOING = {
    "ack": "acknowledge it",
    "done": "mark it done",
    "snooze": "snooze it",
    "pause": "pause it",
    "resume": "resume it",
}


@dataclass(frozen=True)
class Words:
    """A refusal in words: ``mrkdwn`` for a message, ``plain`` for a dialog's field error, and what the
    person can do about it (``hint``, our own text)."""

    mrkdwn: str
    plain: str
    hint: str = "Ask one of them, or an admin."


Say = Callable[[str], str]


def not_allowed_words(refusal: NotAllowed) -> Words:
    """Who may do it instead, said twice: with data escaped for mrkdwn (ids as code), and as it is."""

    def sentence(text: Say, code: Say) -> str:
        if refusal.action == "open":
            return (
                "Only people in the people list or an admin can open a handoff, and your Slack user "
                "isn't in the people list."
            )
        doing = DOING[refusal.action]
        ref = code(refusal.external_id or "")
        if not refusal.chain:
            return (
                f"Handoff {ref} has no owner: only people in the people list "
                f"or an admin can {doing}, and your Slack user isn't in the people list."
            )
        roles = ["the owner of {x} ({0})", "their manager ({1})", "that manager's manager ({2})"]
        names = [text(name) for name in refusal.chain]
        who = [r.format(*names, x=ref) for r in roles[: len(refusal.chain)]]
        return f"Only {', '.join(who)} or an admin can {doing}."

    words = Words(mrkdwn=sentence(slack_escape, lambda v: f"`{slack_escape(v)}`"), plain=sentence(str, str))
    return words if refusal.chain else Words(words.mrkdwn, words.plain, NOT_LISTED)


def handoff_rows(
    handoffs: list[OpenHandoffRow], now: dt.datetime
) -> list[tuple[str, str, str, str, str | None, str]]:
    """What the handoff list builder shows for each open handoff."""
    return [
        (h.account, h.external_id, h.kind, h.route, h.owner, due_words(h.due_at, h.paused, now))
        for h in handoffs
    ]


def _for_account(ctx: Context, ws: int, query: str, title: str) -> Reply:
    try:
        found = handoffs.for_account(ctx.db, ws, query)
    except NoSingleAccount as refusal:
        return replies.which_account(refusal)
    return replies.handoffs(
        f"{title}: {slack_escape(found.account)}", handoff_rows(found.handoffs, ctx.clock()), "none open"
    )


def sla_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    arg = " ".join(cmd.text.split())
    if arg.lower() in ("help", "?"):
        return replies.help_reply("/sla", SLA_USAGE)
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    if arg.lower() not in ("", "mine", "team"):
        return _for_account(ctx, ws, arg, "Open handoffs")
    team = arg.lower() == "team"
    try:
        rows = handoffs.owned_by(ctx.db, ws, cmd.user_id, team=team)
    except handoffs.NotListed:
        return replies.error_reply(
            "Your Slack user isn't in the people list, so I can't tell which handoffs are yours.",
            "Ask RevOps to import people with slack_user_id, or try `/sla ACCOUNT`.",
        )
    except handoffs.NoReports:
        return replies.text_reply("Nobody reports to you in the people list, so there is no team view.")
    if team:
        return replies.handoffs(
            "Your team's open handoffs", handoff_rows(rows, ctx.clock()), "none open: well done"
        )
    return replies.handoffs("Your open handoffs", handoff_rows(rows, ctx.clock()), "none open")


def handoff_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    words = cmd.text.split()
    sub = words[0].lower() if words else "list"
    if sub in ("help", "?"):
        return replies.help_reply("/handoff", HANDOFF_USAGE)
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    if sub == "list":
        if len(words) > 1:
            return _for_account(ctx, ws, " ".join(words[1:]), "Open handoffs")
        return sla_reply(ctx, cmd.model_copy(update={"text": "mine"}))
    if sub == "open":
        return open_reply(ctx, cmd, ws, words[1:])
    if sub in ("done", "pause", "resume"):
        if len(words) < 2 or (sub == "pause" and len(words) < 3):
            form = next(f for f, _ in HANDOFF_USAGE if f.startswith(f"/handoff {sub}"))
            return replies.error_reply(f"`/handoff {sub}` needs more.", f"Type `{form}`.")
        verb = cast(Literal["done", "pause", "resume"], sub)
        return change_reply(ctx, cmd, ws, verb, words[1], " ".join(words[2:]))
    return replies.help_reply("/handoff", HANDOFF_USAGE)


def open_reply(ctx: Context, cmd: SlashCommand, ws: int, args: list[str]) -> Reply:
    if len(args) < 2:
        return replies.error_reply(
            "`/handoff open` needs an account and a kind.", "Try `/handoff open acme sales_to_cs @ana`."
        )
    mentioned = MENTION.findall(" ".join(args[2:]))
    now = ctx.clock()
    try:
        result = handoffs.open_handoff(
            ctx.db,
            ws,
            account_query=args[0],
            kind=args[1].lower(),
            owner_slack=mentioned[0] if mentioned else None,
            requester_slack=cmd.user_id,
            seed=cmd.trigger_id or now.isoformat(),
            can_ask_checklist=bool(cmd.trigger_id and ctx.clients is not None),
            now=now,
            config=ctx.policies.sla,
            admins=ctx.admin_user_ids,
        )
    except NotAllowed as refusal:
        words = not_allowed_words(refusal)
        return replies.error_reply(words.mrkdwn, words.hint)
    except NoSingleAccount as refusal:
        return replies.which_account(refusal)
    except handoffs.NoPolicy as refusal:
        kinds = ", ".join(f"`{k}`" for k in refusal.kinds) or "none yet"
        return replies.error_reply(
            f"There is no SLA policy for `{slack_escape(refusal.kind)}` handoffs "
            f"(segment {slack_escape(refusal.segment)}).",
            f"Policies exist for: {kinds}. RevOps adds them under [sla] in the policy file.",
        )
    except handoffs.UnknownOwner as refusal:
        return replies.error_reply(
            f"<@{refusal.slack_id}> is not in the people list.",
            "Ask RevOps to import them with slack_user_id.",
        )
    if isinstance(result, handoffs.Opened):
        return opened_reply(result)
    # The dialog opens after the transaction has ended: a Slack call must not hold the database.
    assert ctx.clients is not None and cmd.trigger_id is not None
    try:
        ctx.clients(ws).views_open(
            trigger_id=cmd.trigger_id, view=checklist_modal(result.account, result.kind, result.meta)
        )
    except SlackApiError as exc:
        return replies.error_reply(f"I couldn't open the checklist: {advice(exc)}.", "Try again.")
    return replies.text_reply(
        "Fill in the handoff checklist in the dialog; the handoff opens when you submit it."
    )


def opened_reply(opened: handoffs.Opened) -> Reply:
    """Say the handoff is open (from the command, or from the checklist dialog)."""
    ref = slack_escape(opened.external_id)  # from data: a CRM id, or the dialog's metadata sent back
    if not opened.new:
        return replies.text_reply(f"Handoff `{ref}` was already opened.")
    who = f"<@{opened.owner_slack}>" if opened.owner_slack else slack_escape(opened.owner_name or "nobody")
    clock = "business hours" if opened.business_hours else "hours"
    teams = f"{slack_escape(opened.from_team)}→{slack_escape(opened.to_team)}"
    assert opened.due is not None
    return replies.text_reply(
        f":inbox_tray: Opened handoff `{ref}`: *{slack_escape(opened.account)}* {slack_escape(opened.kind)} "
        f"({teams}), owner {who}, due {slack_date(opened.due)} "
        f"({opened.hours:g} {clock}). `/handoff done {ref}` when it is done."
    )


def submit_checklist(
    ctx: Context, body: dict[str, Any], view: dict[str, Any]
) -> tuple[dict[str, str] | None, Reply | None]:
    """The checklist dialog's answer: (errors for the dialog, None), or (None, the confirmation)."""
    meta = ChecklistMeta.model_validate_json(meta_of(view))
    answers = ChecklistState.of(view)
    now = ctx.clock()
    try:
        checklist = handoffs.check_checklist(
            answers.success_plan.value,
            answers.contacts.value,
            answers.targets.value,
            answers.first_value.selected_date,
            now,
        )
    except handoffs.FieldError as error:
        return {error.field: error.message}, None
    who = ViewSubmission.from_body(body)
    ws = ctx.workspace(who.team_id, who.enterprise_id)
    try:
        opened = handoffs.open_from_checklist(
            ctx.db,
            ws,
            account_id=meta.a,
            kind=meta.k,
            owner_id=meta.o,
            external_id=meta.x,
            checklist=checklist,
            user_slack=who.user_id,
            admins=ctx.admin_user_ids,
            now=now,
            config=ctx.policies.sla,
        )
    except NotAllowed as refusal:
        return {"success_plan": not_allowed_words(refusal).plain}, None
    except handoffs.FieldError as error:
        return {error.field: error.message}, None
    return None, opened_reply(opened)


def change_reply(
    ctx: Context,
    cmd: SlashCommand,
    ws: int,
    verb: Literal["done", "pause", "resume"],
    external_id: str,
    reason: str,
) -> Reply:
    ref = f"`{slack_escape(external_id)}`"
    try:
        changed = handoffs.change(
            ctx.db,
            ws,
            external_id,
            verb,
            reason,
            user_slack=cmd.user_id,
            admins=ctx.admin_user_ids,
            now=ctx.clock(),
            config=ctx.policies.sla,
        )
    except handoffs.NoSuchHandoff:
        return replies.error_reply(
            f"There is no handoff `{slack_escape(external_id)}`.", "`/handoff list` shows the ids."
        )
    except NotAllowed as refusal:
        words = not_allowed_words(refusal)
        return replies.error_reply(words.mrkdwn, words.hint)
    except SlaError as exc:
        return replies.error_reply(slack_escape(str(exc)) + ".", "`/sla ACCOUNT` shows its state.")
    if verb == "done":
        if changed.already:
            return replies.text_reply(f"Handoff {ref} was already done.")
        return replies.text_reply(f":heavy_check_mark: Handoff {ref} is done.")
    if verb == "pause":
        return replies.text_reply(
            f":double_vertical_bar: Handoff {ref} paused: {slack_escape(changed.reason)}. "
            f"`/handoff resume {slack_escape(external_id)}` restarts the clock."
        )
    assert changed.due is not None
    return replies.text_reply(f":arrow_forward: Handoff {ref} resumed; now due {slack_date(changed.due)}.")


def register(app: App, ctx: Context) -> None:
    def checklist_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        errors, confirmation = submit_checklist(ctx, body, view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        if confirmation:
            user_id = ViewSubmission.from_body(body).user_id
            try:
                client.chat_postMessage(channel=user_id, **confirmation)
            except SlackApiError:
                logger.exception("could not confirm the opened handoff to %s", user_id)

    app.view("handoff_checklist")(checklist_submitted)
    slash_command(app, ctx, "/handoff", handoff_reply)
    slash_command(app, ctx, "/sla", sla_reply)
