"""The buttons on SLA pings — Acknowledge, Mark done, Snooze… — and the Snooze dialog.

Each asks ``services.handoffs``, which asks its rule in ``services.authority`` (the same as
``/handoff``'s) before it changes anything: pings are posted to escalation channels too, and anyone
there can press a button.

Every action is recorded as an SLA event (unique per handoff, kind and step), so pressing twice
does nothing twice; the message is then redrawn from the database to show who did what and when.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Literal

from slack_bolt import App

from blocks.format import slack_date
from blocks.pings import ACK, DONE, SNOOZE, buttons, handoff_of, stage_headline
from blocks.text import clip, slack_escape
from commands import replies
from commands.context import ButtonPress, Context, ViewSubmission
from commands.dialogs import SnoozeMeta, SnoozeState, meta_of, snooze_modal
from commands.handoffs import not_allowed_words
from services import handoffs
from services.authority import NotAllowed
from services.sla import SlaError
from storage.handoffs import PingFacts

logger = logging.getLogger(__name__)


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


def redraw(state: handoffs.PingState) -> dict[str, Any]:
    """The ping as it stands now: its state and everything people did."""
    history = [
        status_line(e.kind, e.actor_slack or (e.detail or {}).get("by"), e.at, e.detail)
        for e in state.history
    ]
    return ping_with_status(state.facts, stage_headline(state.stage), history, state.done, state.due)


def press_button(ctx: Context, press: ButtonPress, respond: Any) -> None:
    """Acknowledge or Mark done, then redraw the message in place."""
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    action: Literal["ack", "done"] = "ack" if press.action_id == ACK else "done"
    try:
        state = handoffs.act_on_ping(
            ctx.db,
            ws,
            handoff_of(press.value),
            action,
            user_slack=press.user_id,
            admins=ctx.admin_user_ids,
            now=ctx.clock(),
        )
    except handoffs.NoSuchHandoff:
        respond(replace_original=False, **replies.text_reply("That handoff is no longer available."))
        return
    except NotAllowed as refusal:
        refuse(respond, refusal)
        return
    respond(replace_original=True, **redraw(state))


def refuse(respond: Any, refusal: NotAllowed) -> None:
    """Tell only the person who pressed who may do it; the ping stays as it is."""
    words = not_allowed_words(refusal)
    respond(
        response_type="ephemeral",
        replace_original=False,
        **replies.error_reply(words.mrkdwn, words.hint),
    )


def open_snooze(ctx: Context, press: ButtonPress, client: Any, trigger_id: str, respond: Any) -> None:
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    try:
        offer = handoffs.snooze_offer(
            ctx.db,
            ws,
            handoff_of(press.value),
            user_slack=press.user_id,
            admins=ctx.admin_user_ids,
            config=ctx.policies.sla,
        )
    except NotAllowed as refusal:
        refuse(respond, refusal)
        return
    if offer is None:
        return
    client.views_open(
        trigger_id=trigger_id,
        view=snooze_modal(
            offer.handoff_id, offer.account, press.channel_id, press.message_ts, offer.max_hours
        ),
    )


def submit_snooze(
    ctx: Context, body: dict[str, Any], view: dict[str, Any]
) -> tuple[dict[str, str] | None, dict[str, Any] | None]:
    """Apply a snooze: (the dialog's errors, None) when it cannot be done, else (None, the redrawn ping)."""
    meta = SnoozeMeta.model_validate_json(meta_of(view))
    answers = SnoozeState.of(view)
    reason = (answers.reason.value or "").strip()
    if not reason:
        return {"reason": "Say why, so the team knows."}, None
    hours = answers.hours_chosen
    who = ViewSubmission.from_body(body)
    ws = ctx.workspace(who.team_id, who.enterprise_id)
    try:
        state = handoffs.snooze(
            ctx.db,
            ws,
            meta.h,
            hours,
            reason,
            user_slack=who.user_id,
            admins=ctx.admin_user_ids,
            now=ctx.clock(),
            config=ctx.policies.sla,
        )
    except handoffs.NoSuchHandoff:
        return {"reason": "That handoff is no longer available."}, None
    except NotAllowed as refusal:  # a dialog's error is seen by the person who submitted it only
        return {"reason": not_allowed_words(refusal).plain}, None
    except SlaError as exc:
        return {"hours": str(exc)}, None
    return None, redraw(state)


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
        meta = SnoozeMeta.model_validate_json(meta_of(view))
        if message and meta.c and meta.ts:
            try:
                client.chat_update(channel=meta.c, ts=meta.ts, **message)
            except Exception:  # the snooze stands; only the old message keeps its old look
                logger.exception("could not redraw the SLA ping after a snooze")

    app.action(ACK)(button)
    app.action(DONE)(button)
    app.action(SNOOZE)(snooze_button)
    app.view("sla_snooze")(snooze_submit)
