"""The buttons on SLA pings — Acknowledge, Mark done, Snooze… — and the Snooze dialog.

Each asks its rule in ``commands.authority`` (the same as ``/handoff``'s) before it changes anything:
pings are posted to escalation channels too, and anyone there can press a button.

Every action is recorded as an SLA event (unique per handoff, kind and step), so pressing twice
does nothing twice; the message is then redrawn from the database to show who did what and when.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import App
from sqlalchemy import select
from sqlalchemy.orm import Session

from commands import replies
from commands.authority import Refusal, may_acknowledge, may_finish, may_snooze
from commands.context import ButtonPress, Context
from digests.sla_pings import ping_with_status, snooze_modal, status_line
from storage import models as m
from storage import sla
from storage.people import person_by_slack_id

logger = logging.getLogger(__name__)
HEADLINE = {sla.NONE: ":hourglass_flowing_sand: *SLA*", sla.WARNED: ":hourglass_flowing_sand: *SLA warning*"}


def _handoff(session: Session, ws: int, handoff_id: object) -> m.Handoff | None:
    """The handoff a button names, only if it is in this workspace (values come from Slack)."""
    handoff = session.get(m.Handoff, handoff_id) if isinstance(handoff_id, int) else None
    return handoff if handoff is not None and handoff.workspace_id == ws else None


def _id(value: str) -> object:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return None
    return parsed.get("h") if isinstance(parsed, dict) else None


def redraw(session: Session, handoff: m.Handoff) -> dict[str, Any]:
    """The ping as it stands now: its state and everything people did."""
    facts = sla.ping_facts(session, [handoff.id])[handoff.id]
    events = session.execute(
        select(m.SlaEvent.kind, m.Person.slack_user_id, m.SlaEvent.occurred_at, m.SlaEvent.detail)
        .outerjoin(m.Person, m.Person.id == m.SlaEvent.actor_id)
        .where(m.SlaEvent.handoff_id == handoff.id, m.SlaEvent.kind.in_(("ack", "done", "snooze")))
        .order_by(m.SlaEvent.occurred_at, m.SlaEvent.id)
    ).all()
    history = [
        status_line(kind, actor or (detail or {}).get("by"), at, detail) for kind, actor, at, detail in events
    ]
    headline = HEADLINE.get(handoff.sla_stage, ":rotating_light: *SLA breached*")
    return ping_with_status(
        facts, headline, history, handoff.completed_at is not None, handoff.effective_due_at
    )


def press_button(ctx: Context, press: ButtonPress, respond: Any) -> None:
    """Acknowledge or Mark done, then redraw the message in place."""
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    now = ctx.clock()
    with ctx.db.write() as session:
        handoff = _handoff(session, ws, _id(press.value))
        if handoff is None:
            respond(replace_original=False, **replies.text_reply("That handoff is no longer available."))
            return
        rule = may_acknowledge if press.action_id == "sla_ack" else may_finish
        refusal = rule(session, handoff, press.user_id, ctx.admin_user_ids)
        if refusal is not None:
            refuse(respond, refusal)
            return
        me = person_by_slack_id(session, ws, press.user_id)
        act = sla.acknowledge if press.action_id == "sla_ack" else sla.finish
        act(session, handoff, me.id if me else None, now, press.user_id)
        session.flush()
        message = redraw(session, handoff)
    respond(replace_original=True, **message)


def refuse(respond: Any, refusal: Refusal) -> None:
    """Tell only the person who pressed who may do it; the ping stays as it is."""
    respond(
        response_type="ephemeral",
        replace_original=False,
        **replies.error_reply(refusal.mrkdwn, refusal.hint),
    )


def open_snooze(ctx: Context, press: ButtonPress, client: Any, trigger_id: str, respond: Any) -> None:
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    with ctx.db.read() as session:
        handoff = _handoff(session, ws, _id(press.value))
        if handoff is None or handoff.completed_at is not None:
            return
        refusal = may_snooze(session, handoff, press.user_id, ctx.admin_user_ids)
        if refusal is not None:
            refuse(respond, refusal)
            return
        policy = sla.policy_of(session, ctx.policies.sla, handoff)
        account = session.scalar(select(m.Account.name).where(m.Account.id == handoff.account_id)) or ""
    client.views_open(
        trigger_id=trigger_id,
        view=snooze_modal(handoff.id, account, press.channel_id, press.message_ts, policy.max_snooze_hours),
    )


def submit_snooze(
    ctx: Context, body: dict[str, Any], view: dict[str, Any]
) -> tuple[dict[str, str] | None, dict[str, Any] | None]:
    """Apply a snooze: (the dialog's errors, None) when it cannot be done, else (None, the redrawn ping)."""
    meta = json.loads(view.get("private_metadata") or "{}")
    values = view["state"]["values"]
    reason = (values["reason"]["value"].get("value") or "").strip()
    if not reason:
        return {"reason": "Say why, so the team knows."}, None
    hours = float(values["hours"]["value"]["selected_option"]["value"])
    user = body["user"]
    team = (body.get("team") or {}).get("id") or user.get("team_id")
    ws = ctx.workspace(team, (body.get("enterprise") or {}).get("id"))
    with ctx.db.write() as session:
        handoff = _handoff(session, ws, meta.get("h"))
        if handoff is None:
            return {"reason": "That handoff is no longer available."}, None
        refusal = may_snooze(session, handoff, user["id"], ctx.admin_user_ids)
        if refusal is not None:  # a dialog's error is seen by the person who submitted it only
            return {"reason": refusal.plain}, None
        me = person_by_slack_id(session, ws, user["id"])
        try:
            sla.snooze(
                session,
                ctx.policies.sla,
                handoff,
                hours,
                reason,
                me.id if me else None,
                ctx.clock(),
                user["id"],
            )
        except sla.SlaError as exc:
            return {"hours": str(exc)}, None
        return None, redraw(session, handoff)


def register(app: App, ctx: Context) -> None:
    def button(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        ack()
        press_button(ctx, ButtonPress.from_body(body, action), respond)

    def snooze_button(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, respond: Any
    ) -> None:
        ack()
        open_snooze(ctx, ButtonPress.from_body(body, action), client, body["trigger_id"], respond)

    def snooze_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        errors, message = submit_snooze(ctx, body, view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()  # inside Slack's 3 seconds; the redraw of the ping follows
        meta = json.loads(view.get("private_metadata") or "{}")
        if message and meta.get("c") and meta.get("ts"):
            try:
                client.chat_update(channel=meta["c"], ts=meta["ts"], **message)
            except Exception:  # the snooze stands; only the old message keeps its old look
                logger.exception("could not redraw the SLA ping after a snooze")

    app.action("sla_ack")(button)
    app.action("sla_done")(button)
    app.action("sla_snooze")(snooze_button)
    app.view("sla_snooze")(snooze_submit)
