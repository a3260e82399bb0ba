"""/handoff and /sla: open handoffs with their SLA state, worst first; opening a handoff under its SLA
policy, finishing it, and pausing or resuming its clock (the owner, their manager or an admin).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from blocks.format import due_words, slack_date
from blocks.slack_errors import advice
from blocks.text import slack_escape
from commands import replies
from commands.answer import Reply
from commands.authority import may_finish, may_open_handoff, may_pause, may_resume
from commands.context import Context, SlashCommand, slash_command
from commands.wins import MENTION
from digests.sla_pings import checklist_modal
from services.policies import SlaConfig, SlaPolicy
from storage import models as m
from storage import sla
from storage.handoffs import OpenHandoffRow, handoff_by_external_id, open_handoffs
from storage.lookup import find_account
from storage.people import person_by_slack_id, reports_of
from storage.upsert import insert_ignore

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

# Who takes a new handoff by default: the account's owner in the receiving team.
OWNER_BY_TEAM = {
    "cs": "csm_id",
    "support": "support_lead_id",
    "sales": "ae_id",
    "leadership": "exec_sponsor_id",
}


def handoff_rows(
    handoffs: list[OpenHandoffRow], now: dt.datetime
) -> list[tuple[str, str, str, str, str | None, str]]:
    """What the handoff list builder shows for each open handoff."""
    return [
        (h.account, h.external_id, h.kind, h.route, h.owner, due_words(h.due_at, h.paused, now))
        for h in handoffs
    ]


def _for_account(ctx: Context, session: Any, ws: int, query: str, title: str) -> Reply:
    found = find_account(session, ws, query)
    if found.match is None:
        return replies.not_found(query)
    rows = open_handoffs(session, ws, account_id=found.match.id)
    return replies.handoffs(
        f"{title}: {slack_escape(found.match.name)}", handoff_rows(rows, ctx.clock()), "none open"
    )


def sla_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    arg = " ".join(cmd.text.split())
    if arg.lower() in ("help", "?"):
        return replies.help_reply("/sla", SLA_USAGE)
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    with ctx.db.read() as session:
        if arg.lower() not in ("", "mine", "team"):
            return _for_account(ctx, session, ws, arg, "Open handoffs")
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
                "Your team's open handoffs", handoff_rows(rows, ctx.clock()), "none open: well done"
            )
        rows = open_handoffs(session, ws, owner_ids=[me.id])
    return replies.handoffs("Your open handoffs", handoff_rows(rows, ctx.clock()), "none open")


def handoff_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    words = cmd.text.split()
    sub = words[0].lower() if words else "list"
    if sub in ("help", "?"):
        return replies.help_reply("/handoff", HANDOFF_USAGE)
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    if sub == "list":
        if len(words) > 1:
            with ctx.db.read() as session:
                return _for_account(ctx, session, ws, " ".join(words[1:]), "Open handoffs")
        return sla_reply(ctx, cmd.model_copy(update={"text": "mine"}))
    if sub == "open":
        return open_reply(ctx, cmd, ws, words[1:])
    if sub in ("done", "pause", "resume"):
        if len(words) < 2 or (sub == "pause" and len(words) < 3):
            form = next(f for f, _ in HANDOFF_USAGE if f.startswith(f"/handoff {sub}"))
            return replies.error_reply(f"`/handoff {sub}` needs more.", f"Type `{form}`.")
        return change_reply(ctx, cmd, ws, sub, words[1], " ".join(words[2:]))
    return replies.help_reply("/handoff", HANDOFF_USAGE)


def open_reply(ctx: Context, cmd: SlashCommand, ws: int, args: list[str]) -> Reply:
    if len(args) < 2:
        return replies.error_reply(
            "`/handoff open` needs an account and a kind.", "Try `/handoff open acme sales_to_cs @ana`."
        )
    config = ctx.settings.policies.sla
    mentioned = MENTION.findall(" ".join(args[2:]))
    now = ctx.clock()
    with ctx.db.write() as session:
        refusal = may_open_handoff(session, ws, cmd.user_id, ctx.settings.admin_user_ids)
        if refusal is not None:
            return replies.error_reply(refusal.mrkdwn, refusal.hint)
        found = find_account(session, ws, args[0])
        if found.match is None:
            return replies.not_found(args[0])
        account = session.get(m.Account, found.match.id)
        assert account is not None
        kind = args[1].lower()
        policy = config.policy_for(kind, account.segment)
        if policy is None:
            kinds = ", ".join(f"`{k}`" for k in sorted({p.kind for p in config.policies})) or "none yet"
            return replies.error_reply(
                f"There is no SLA policy for `{slack_escape(kind)}` handoffs "
                f"(segment {slack_escape(account.segment)}).",
                f"Policies exist for: {kinds}. RevOps adds them under [sla] in the policy file.",
            )
        if mentioned:
            owner = person_by_slack_id(session, ws, mentioned[0])
            if owner is None:
                return replies.error_reply(
                    f"<@{mentioned[0]}> is not in the people list.",
                    "Ask RevOps to import them with slack_user_id.",
                )
        else:
            owner_id = getattr(account, OWNER_BY_TEAM.get(policy.to_team, ""), None)
            owner = (
                session.get(m.Person, owner_id) if owner_id else person_by_slack_id(session, ws, cmd.user_id)
            )
        external_id = "S" + hashlib.sha1((cmd.trigger_id or now.isoformat()).encode()).hexdigest()[:8].upper()
        if not (policy.asks_checklist and cmd.trigger_id and ctx.clients is not None):
            return _opened(session, ws, config, policy, account, owner, external_id, now)
        meta = {"a": account.id, "k": kind, "o": owner.id if owner else None, "x": external_id}
        dialog = checklist_modal(account.name, kind, meta)
    # The dialog opens after the transaction has ended: a Slack call must not hold the database.
    assert ctx.clients is not None
    try:
        ctx.clients(ws).views_open(trigger_id=cmd.trigger_id, view=dialog)
    except SlackApiError as exc:
        return replies.error_reply(f"I couldn't open the checklist: {advice(exc)}.", "Try again.")
    return replies.text_reply(
        "Fill in the handoff checklist in the dialog; the handoff opens when you submit it."
    )


def _opened(
    session: Any,
    ws: int,
    config: SlaConfig,
    policy: SlaPolicy,
    account: m.Account,
    owner: m.Person | None,
    external_id: str,
    now: dt.datetime,
    checklist: dict[str, Any] | None = None,
) -> Reply:
    """Open the handoff and say so (from the command, or from the checklist dialog)."""
    handoff = sla.open_handoff(
        session,
        ws,
        account=account,
        policy=policy,
        config=config,
        owner=owner,
        external_id=external_id,
        now=now,
        checklist=checklist,
    )
    if handoff is None:
        return replies.text_reply(f"Handoff `{external_id}` was already opened.")
    who = (
        f"<@{owner.slack_user_id}>"
        if owner and owner.slack_user_id
        else slack_escape(owner.name if owner else "nobody")
    )
    clock = "business hours" if policy.clock == "business" else "hours"
    return replies.text_reply(
        f":inbox_tray: Opened handoff `{external_id}`: *{slack_escape(account.name)}* {policy.kind} "
        f"({policy.from_team}→{policy.to_team}), owner {who}, due {slack_date(handoff.effective_due_at)} "
        f"({policy.hours:g} {clock}). `/handoff done {external_id}` when it is done."
    )


def submit_checklist(
    ctx: Context, body: dict[str, Any], view: dict[str, Any]
) -> tuple[dict[str, str] | None, Reply | None]:
    """The checklist dialog's answer: (errors for the dialog, None), or (None, the confirmation)."""
    meta = json.loads(view.get("private_metadata") or "{}")
    values = {k: v["value"] for k, v in view["state"]["values"].items()}
    now = ctx.clock()
    first_value = values["first_value"].get("selected_date")
    if not first_value or dt.date.fromisoformat(first_value) < now.date():
        return {"first_value": "Pick a first-value target date from today on."}, None
    checklist = {
        "success_plan": (values["success_plan"].get("value") or "").strip(),
        "contacts": (values["contacts"].get("value") or "").strip(),
        "targets": (values.get("targets", {}).get("value") or "").strip(),
        "first_value_target": first_value,
    }
    for field_name in ("success_plan", "contacts"):
        if not checklist[field_name]:
            return {field_name: "This is what the receiving team needs: please fill it in."}, None
    user = body["user"]
    ws = ctx.workspace((body.get("team") or {}).get("id") or user.get("team_id"), None)
    config = ctx.settings.policies.sla
    with ctx.db.write() as session:
        refusal = may_open_handoff(session, ws, user["id"], ctx.settings.admin_user_ids)
        if refusal is not None:
            return {"success_plan": refusal.plain}, None
        account = session.get(m.Account, meta.get("a"))
        if account is None or account.workspace_id != ws:
            return {"success_plan": "That account is no longer available."}, None
        policy = config.policy_for(str(meta.get("k")), account.segment)
        if policy is None:
            return {"success_plan": "That SLA policy was removed meanwhile."}, None
        owner = session.get(m.Person, meta["o"]) if meta.get("o") else None
        if owner is not None and owner.workspace_id != ws:
            owner = None
        insert_ignore(  # the first-value milestone's target, unless the account has one already
            session,
            m.Milestone,
            [
                {
                    "workspace_id": ws,
                    "account_id": account.id,
                    "kind": "first_value",
                    "target_on": dt.date.fromisoformat(first_value),
                }
            ],
            ["account_id", "kind"],
        )
        return None, _opened(session, ws, config, policy, account, owner, str(meta.get("x")), now, checklist)


def change_reply(ctx: Context, cmd: SlashCommand, ws: int, verb: str, external_id: str, reason: str) -> Reply:
    now = ctx.clock()
    config = ctx.settings.policies.sla
    with ctx.db.write() as session:
        handoff = handoff_by_external_id(session, ws, external_id)
        if handoff is None:
            return replies.error_reply(
                f"There is no handoff `{slack_escape(external_id)}`.", "`/handoff list` shows the ids."
            )
        rule = {"done": may_finish, "pause": may_pause, "resume": may_resume}[verb]
        refusal = rule(session, handoff, cmd.user_id, ctx.settings.admin_user_ids)
        if refusal is not None:
            return replies.error_reply(refusal.mrkdwn, refusal.hint)
        me = person_by_slack_id(session, ws, cmd.user_id)
        actor = me.id if me else None
        ref = f"`{slack_escape(external_id)}`"
        try:
            if verb == "done":
                if not sla.finish(session, handoff, actor, now, cmd.user_id):
                    return replies.text_reply(f"Handoff {ref} was already done.")
                text = f":heavy_check_mark: Handoff {ref} is done."
            elif verb == "pause":
                sla.pause(session, config, handoff, reason[:500], actor, now)
                text = (
                    f":double_vertical_bar: Handoff {ref} paused: {slack_escape(reason[:500])}. "
                    f"`/handoff resume {slack_escape(external_id)}` restarts the clock."
                )
            else:
                sla.resume(session, config, handoff, actor, now)
                due = slack_date(handoff.effective_due_at)
                text = f":arrow_forward: Handoff {ref} resumed; now due {due}."
        except sla.SlaError as exc:
            return replies.error_reply(slack_escape(str(exc)) + ".", "`/sla ACCOUNT` shows its state.")
    return replies.text_reply(text)


def register(app: App, ctx: Context) -> None:
    def checklist_submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        errors, confirmation = submit_checklist(ctx, body, view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        if confirmation:
            try:
                client.chat_postMessage(channel=body["user"]["id"], **confirmation)
            except SlackApiError:
                logger.exception("could not confirm the opened handoff to %s", body["user"]["id"])

    app.view("handoff_checklist")(checklist_submitted)
    slash_command(app, ctx, "/handoff", handoff_reply)
    slash_command(app, ctx, "/sla", sla_reply)
