"""`/plays` — mine, my team's, one account's, or open one by hand — and the buttons and dialogs of a
play's message: Accept, Done… (outcome and a note), Snooze… (until when), Reassign… (to whom).

Every change goes through ``services.plays``, which checks who may (the owner, their manager, that
manager's manager, an admin) and records each change once: a button pressed twice changes nothing the
second time. The dialogs are offered only to someone who may act (``services.play_actions``), so a
stranger is refused at once, privately. After each change the whole message is redrawn from the
database (``blocks.plays.play_message``): in place for a button (``response_url``), with
``chat.update`` after a dialog.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError
from slack_bolt import App

from blocks import kit
from blocks.plays import ACCEPT, DONE, OUTCOME_WORDS, REASSIGN, SNOOZE, PlayButton, play_lines, play_message
from blocks.text import clip, slack_escape
from commands import replies
from commands.answer import Reply
from commands.context import ButtonPress, Context, SlashCommand, ViewSubmission, slash_command
from commands.dialogs import Answer, meta_of
from services import play_actions, plays
from services.errors import NoSingleAccount

logger = logging.getLogger(__name__)

USAGE = [
    ("/plays", "your open plays, due first"),
    ("/plays team", "the open plays of your team (you and everyone below you)"),
    ("/plays ACCOUNT", "one account's plays: open ones, then the latest closed"),
    (
        "/plays open ACCOUNT KEY",
        "open a play by hand (e.g. after a call); `retention-bot plays list` names them",
    ),
]
NOT_LISTED = "Ask RevOps to import you into the people list with your slack_user_id."
DOING = {
    "accept": "accept this play",
    "close": "close this play",
    "snooze": "snooze this play",
    "reassign": "reassign this play",
    "open": "open a play",
}
SNOOZE_DAYS = (1, 3, 7, 14, 30)
DONE_DIALOG, SNOOZE_DIALOG, REASSIGN_DIALOG = "play_done", "play_snooze", "play_reassign"


# --- words ----------------------------------------------------------------------------------------


def not_allowed(refusal: plays.PlayNotAllowed) -> str:
    """Who may do it instead (plain text: escaped where it goes into mrkdwn)."""
    doing = DOING.get(refusal.action, "do that")
    if refusal.action == "open" or not refusal.chain:
        return f"Only people in the people list or an admin can {doing}, and your Slack user isn't in it."
    roles = ["the owner ({0})", "their manager ({1})", "that manager's manager ({2})"]
    who = [r.format(*refusal.chain) for r in roles[: len(refusal.chain)]]
    return f"Only {', '.join(who)} or an admin can {doing}."


def refusal_words(exc: Exception) -> str:
    """A refusal from ``services.plays`` as one plain sentence."""
    if isinstance(exc, plays.PlayNotAllowed):
        return not_allowed(exc)
    if isinstance(exc, plays.PlayIsClosed):
        outcome = OUTCOME_WORDS.get(exc.play.outcome or "", exc.play.outcome or "")
        return f"That play was closed already ({outcome})."
    if isinstance(exc, plays.PlayNotFound):
        return "That play is no longer available."
    if isinstance(exc, plays.UnknownPerson):
        return "That person isn't in the people list, so they can't own a play."
    return str(exc)


# --- /plays -----------------------------------------------------------------------------------------


def plays_list(title: str, views: list[plays.PlayView], now: dt.datetime, empty: str) -> Reply:
    blocks = [kit.header(title)]
    if not views:
        blocks.append(kit.section(empty))
    else:
        open_ = sum(1 for v in views if v.row.state != "closed")
        closed = len(views) - open_
        overdue = sum(1 for v in views if v.overdue)
        counts = (
            [f"{open_} open"]
            + ([f"{overdue} overdue"] if overdue else [])
            + ([f"{closed} closed"] if closed else [])
        )
        blocks.append(kit.context(" · ".join(counts)))
        blocks += [kit.section(chunk) for chunk in play_lines(views, now)]
    return {"text": clip(slack_escape(title), 300), "blocks": blocks}


def plays_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    words = cmd.text.split()
    arg = " ".join(words)
    if arg.lower() in ("help", "?"):
        return replies.help_reply("/plays", USAGE)
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    now = ctx.clock()
    if words and words[0].lower() == "open":
        return open_reply(ctx, cmd, ws, words[1:])
    if arg.lower() in ("", "mine", "team"):
        team = arg.lower() == "team"
        found = (plays.team if team else plays.mine)(ctx.db, ws, cmd.user_id, ctx.policies, now)
        if found is None:
            return replies.error_reply(
                "Your Slack user isn't in the people list, so I can't tell which plays are yours.", NOT_LISTED
            )
        found = [v for v in found if v.row.state != "closed"]
        title = "Your team's open plays" if team else "Your open plays"
        return plays_list(title, found, now, "Nothing open. :tada:")
    try:
        name, views = plays.for_account(ctx.db, ws, arg, ctx.policies, now)
    except NoSingleAccount as refusal:
        return replies.which_account(refusal)
    return plays_list(f"Plays — {name}", views, now, "No plays for this account yet.")


KEY = re.compile(r"^[a-z0-9_]{1,48}$")


def open_reply(ctx: Context, cmd: SlashCommand, ws: int, args: list[str]) -> Reply:
    known = [p.key for p in ctx.policies.plays]
    if len(args) < 2 or not KEY.match(args[-1]):
        return replies.error_reply(
            "`/plays open` needs an account and a play key.",
            f"Try `/plays open acme {known[0] if known else 'KEY'}`; the plays: "
            + ", ".join(f"`{k}`" for k in known),
        )
    account, key = " ".join(args[:-1]), args[-1]
    try:
        opened = plays.open_play(
            ctx.db,
            ws,
            account,
            key,
            user_id=cmd.user_id,
            admins=ctx.admin_user_ids,
            policies=ctx.policies,
            now=ctx.clock(),
            notify=ctx.play_notify,
        )
    except NoSingleAccount as refusal:
        return replies.which_account(refusal)
    except plays.UnknownPlayKey as refusal:
        return replies.error_reply(
            f"There is no play `{slack_escape(refusal.key)}`.",
            "The plays: " + ", ".join(f"`{slack_escape(k)}`" for k in refusal.known),
        )
    except plays.PlayNotAllowed as refusal:
        return replies.error_reply(slack_escape(not_allowed(refusal)), NOT_LISTED)
    view = opened.view
    if not opened.new:
        return replies.text_reply(
            f"*{slack_escape(view.title)}* is already open for *{slack_escape(view.row.account_name)}* "
            f"(one open play per account and play):\n{play_lines([view], ctx.clock())[0]}"
        )
    told = "its owner has it in Slack" if opened.queued else "nobody could be told in Slack (no owner)"
    return replies.text_reply(
        f":white_check_mark: Opened *{slack_escape(view.title)}* for *{slack_escape(view.row.account_name)}*"
        f"; {told}.\n{play_lines([view], ctx.clock())[0]}"
    )


# --- the buttons -----------------------------------------------------------------------------------


def redraw(ctx: Context, ws: int, button: PlayButton) -> dict[str, Any]:
    views = plays.views_of(ctx.db, ws, button.shown, ctx.policies, ctx.clock())
    return play_message(views, ctx.clock(), more=button.x)


def refuse(respond: Any, exc: Exception) -> None:
    """Tell only the person who pressed; the message stays as it is."""
    respond(
        response_type="ephemeral",
        replace_original=False,
        **replies.text_reply(f":no_entry: {slack_escape(refusal_words(exc))}"),
    )


def press_accept(ctx: Context, press: ButtonPress, respond: Any) -> None:
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    button = PlayButton.parse(press.value)
    try:
        if button.p is None:
            raise plays.PlayNotFound(0)
        plays.accept(
            ctx.db,
            ws,
            button.p,
            user_id=press.user_id,
            admins=ctx.admin_user_ids,
            policies=ctx.policies,
            now=ctx.clock(),
        )
    except (plays.PlayNotAllowed, plays.PlayIsClosed, plays.PlayNotFound) as exc:
        refuse(respond, exc)
        return
    respond(replace_original=True, **redraw(ctx, ws, button))


class PlayMeta(BaseModel):
    """What a play dialog carries: the button's value and the message to redraw (channel, ts)."""

    model_config = ConfigDict(extra="ignore")
    p: StrictInt | None = None
    m: list[StrictInt] = []
    x: StrictInt = 0
    c: str | None = None
    ts: str | None = None

    @classmethod
    def of(cls, view: dict[str, Any]) -> PlayMeta:
        try:
            return cls.model_validate_json(meta_of(view))
        except ValidationError:
            return cls()

    @property
    def button(self) -> PlayButton:
        return PlayButton(p=self.p, m=self.m, x=self.x)


def _options(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": label}, "value": value} for value, label in pairs]


def done_modal(view: plays.PlayView, meta: dict[str, Any]) -> dict[str, Any]:
    choices = _options([(k, w.capitalize()) for k, w in OUTCOME_WORDS.items()])
    return kit.modal(
        DONE_DIALOG,
        "Close the play",
        "Close it",
        meta,
        f"*{clip(slack_escape(view.title), 150)}* — *{clip(slack_escape(view.row.account_name), 150)}*: "
        "how did it end? The outcome is what the play report measures.",
        [
            kit.input_block("outcome", "Outcome", {"type": "static_select", "options": choices}),
            kit.input_block(
                "note",
                "Note",
                kit.text_input("What happened, for whoever looks next", max_length=1000),
                optional=True,
            ),
        ],
    )


def snooze_modal(view: plays.PlayView, meta: dict[str, Any]) -> dict[str, Any]:
    choices = _options([(str(d), f"{d} day{'s' if d > 1 else ''}") for d in SNOOZE_DAYS])
    return kit.modal(
        SNOOZE_DIALOG,
        "Snooze the play",
        "Snooze",
        meta,
        f"*{clip(slack_escape(view.title), 150)}* — *{clip(slack_escape(view.row.account_name), 150)}*: "
        "it is put aside and comes back by itself. The due time does not move.",
        [
            kit.input_block(
                "days",
                "For how long",
                {"type": "static_select", "initial_option": choices[0], "options": choices},
            )
        ],
    )


def reassign_modal(view: plays.PlayView, meta: dict[str, Any]) -> dict[str, Any]:
    return kit.modal(
        REASSIGN_DIALOG,
        "Reassign the play",
        "Reassign",
        meta,
        f"*{clip(slack_escape(view.title), 150)}* — *{clip(slack_escape(view.row.account_name), 150)}*: "
        "the new owner gets it in Slack.",
        [kit.input_block("to", "New owner", {"type": "users_select"})],
    )


MODALS: dict[str, tuple[plays.Action, Callable[[plays.PlayView, dict[str, Any]], dict[str, Any]]]] = {
    DONE: ("close", done_modal),
    SNOOZE: ("snooze", snooze_modal),
    REASSIGN: ("reassign", reassign_modal),
}


def open_dialog(ctx: Context, press: ButtonPress, client: Any, trigger_id: str, respond: Any) -> None:
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    button = PlayButton.parse(press.value)
    action, build = MODALS[press.action_id]
    try:
        view = play_actions.checked(
            ctx.db,
            ws,
            button.p,
            user_id=press.user_id,
            admins=ctx.admin_user_ids,
            action=action,
            policies=ctx.policies,
            now=ctx.clock(),
        )
    except (plays.PlayNotAllowed, plays.PlayIsClosed, plays.PlayNotFound) as exc:
        refuse(respond, exc)
        return
    meta = {"p": button.p, "m": button.shown, "x": button.x, "c": press.channel_id, "ts": press.message_ts}
    client.views_open(trigger_id=trigger_id, view=build(view, meta))


class _Answers(BaseModel):
    model_config = ConfigDict(extra="ignore")
    outcome: Answer = Answer()
    note: Answer = Answer()
    days: Answer = Answer()
    to: Answer = Answer()


def _answers(view: dict[str, Any]) -> _Answers:
    values = ((view.get("state") or {}).get("values")) or {}
    return _Answers.model_validate({block: els.get("value", {}) for block, els in values.items()})


def submit(ctx: Context, body: dict[str, Any], view: dict[str, Any]) -> dict[str, str] | None:
    """Apply a dialog: its errors (by input) when it cannot be done, else None."""
    meta = PlayMeta.of(view)
    answers = _answers(view)
    who = ViewSubmission.from_body(body)
    ws = ctx.workspace(who.team_id, who.enterprise_id)
    common: dict[str, Any] = {
        "user_id": who.user_id,
        "admins": ctx.admin_user_ids,
        "policies": ctx.policies,
        "now": ctx.clock(),
    }
    callback = view.get("callback_id")
    field = {DONE_DIALOG: "outcome", SNOOZE_DIALOG: "days", REASSIGN_DIALOG: "to"}.get(
        str(callback), "outcome"
    )
    try:
        if meta.p is None:
            raise plays.PlayNotFound(0)
        if callback == DONE_DIALOG:
            outcome = answers.outcome.selected_option.value if answers.outcome.selected_option else None
            if outcome not in OUTCOME_WORDS:
                return {"outcome": "Choose how it ended."}
            note = (answers.note.value or "").strip() or None
            plays.close(ctx.db, ws, meta.p, outcome, note, **common)
        elif callback == SNOOZE_DIALOG:
            option = answers.days.selected_option
            days = int(option.value) if option and option.value.isdigit() else 0
            if days not in SNOOZE_DAYS:
                return {"days": "Choose how long."}
            plays.snooze(ctx.db, ws, meta.p, common["now"] + dt.timedelta(days=days), **common)
        else:
            to = answers.to.selected_user
            if not to:
                return {"to": "Choose the new owner."}
            plays.reassign(ctx.db, ws, meta.p, to, notify=ctx.play_reassign_notify, **common)
    except (plays.PlayNotAllowed, plays.PlayIsClosed, plays.PlayNotFound, plays.UnknownPerson) as exc:
        return {field: refusal_words(exc)}  # a dialog's error is seen by the person who submitted it only
    except plays.BadSnooze as exc:
        return {"days": str(exc)}
    return None


def register(app: App, ctx: Context) -> None:
    slash_command(app, ctx, "/plays", plays_reply)

    def accept(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        ack()
        press_accept(ctx, ButtonPress.from_body(body, action), respond)

    def dialog(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, respond: Any) -> None:
        ack()
        open_dialog(ctx, ButtonPress.from_body(body, action), client, body["trigger_id"], respond)

    def submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        errors = submit(ctx, body, view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()  # inside Slack's 3 seconds; the redraw follows
        meta = PlayMeta.of(view)
        if meta.c and meta.ts:
            who = ViewSubmission.from_body(body)
            try:
                message = redraw(ctx, ctx.workspace(who.team_id, who.enterprise_id), meta.button)
                client.chat_update(channel=meta.c, ts=meta.ts, **message)
            except Exception:  # the change stands; only the old message keeps its old look
                logger.exception("could not redraw the play message after a dialog")

    app.action(ACCEPT)(accept)
    for action_id in (DONE, SNOOZE, REASSIGN):
        app.action(action_id)(dialog)
    for callback in (DONE_DIALOG, SNOOZE_DIALOG, REASSIGN_DIALOG):
        app.view(callback)(submitted)
