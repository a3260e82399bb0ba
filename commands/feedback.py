"""/feedback and every way customer feedback is captured in Slack:

- ``/feedback ACCOUNT what they said [#theme]`` logs it; ``/feedback`` alone opens the dialog;
- the message shortcut "Log customer feedback" opens the dialog prefilled with the message and its
  permalink (account guessed from the channel or the message, the closest themes offered);
- the reaction (``:customer-feedback:`` by default) logs the message it was added to, reading that one
  message only; when the account is unclear the person who reacted is asked in a DM;
- the dialog's account and theme pickers are external selects answered here (``block_suggestion``);
- ``/feedback top [kind] [segment]``, ``/feedback themes …`` (product admins) and the
  voice-of-the-customer digest's ``/feedback subscribe|unsubscribe|subscriptions``.

Every path checks who may do it (``services.feedback``: people in the people list log, admins and
product admins curate). A message is logged once, whichever way (``msg:CHANNEL:TS``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError
from slack_bolt import App
from slack_sdk.errors import SlackApiError

from blocks import format as fmt
from blocks import kit
from blocks.format import schedule_words
from blocks.slack_errors import advice
from blocks.text import MAX_MESSAGE_TEXT, clip, plain, slack_escape
from commands import replies
from commands.answer import Reply
from commands.context import ButtonPress, Context, SlashCommand, ViewSubmission, slash_command
from commands.subscriptions import admin_channel
from services import feedback as fb
from services.errors import NoSingleAccount, UnknownSegment
from services.home import first_time
from services.subscriptions import SubscriptionError
from storage.feedback import IMPORTANCE, KINDS, STATUSES, LoggedItem, RankedTheme

logger = logging.getLogger(__name__)

DIALOG = "feedback_log"
SHORTCUT = "log_feedback"
ACCOUNT_SELECT, THEME_SELECT = "fb_account", "fb_theme"
PICK, OPEN = "fb_pick", "fb_open"
KIND_WORDS = {"request": "Feature request", "bug": "Bug", "pain": "Pain point", "praise": "Praise"}
STATUS_WORDS = {"new": "new", "planned": "planned", "shipped": "shipped", "wont_do": "won't do"}
QUOTE = 600  # characters of a customer's words quoted back
PREFILL_SCORE = 60.0  # the closest theme is preselected from this score (the person can change it)

USAGE = [
    ("/feedback", "open the dialog to log customer feedback"),
    (
        "/feedback ACCOUNT what they said #theme",
        "log it (the theme is optional; a new name makes a new theme)",
    ),
    (
        '/feedback "Acme Corp" bug: exports time out',
        "quote a name with spaces; start with bug:, pain: or praise:",
    ),
    ("/feedback top [kind] [segment]", "themes ranked by ARR at risk among the accounts asking"),
    ("/feedback themes", "the themes, their status and counts"),
    ("/feedback themes add NAME", "add a theme (admins and product admins)"),
    ("/feedback themes merge NAME into OTHER", "merge two themes; every item moves (admins, product admins)"),
    ("/feedback themes status NAME planned|shipped|wont_do|new", "set a theme's status (same)"),
    ("/feedback subscribe #channel [WEEKDAY] [HH:MM] [Area/City] [segment]", "weekly voice of the customer"),
    ("/feedback unsubscribe #channel", "stop it; `/feedback subscriptions` lists them (admins)"),
    ("Message menu → Log customer feedback", "log any message; or react with :customer-feedback:"),
]

_CHANNEL_THEME = re.compile(r"\s*<#C[A-Z0-9]+\|([^>]+)>\s*$")
# The theme is what follows the last " #", up to six words ("#Single sign-on"), at the very end.
_HASH_THEME = re.compile(r"(?:^|\s)#([^\s#<>][^#<>]{0,79})$")
_KIND_PREFIX = re.compile(r"^(request|bug|pain|praise)s?:\s*", re.IGNORECASE)


class FeedbackSyntaxError(ValueError):
    pass


def parse_feedback(raw: str) -> tuple[str, str, str | None, str]:
    """``ACCOUNT text [#theme]`` → (account, text, theme, kind)."""
    text = raw.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        if end == -1:
            raise FeedbackSyntaxError("the account name's closing quote is missing")
        account, rest = text[1:end].strip(), text[end + 1 :].strip()
    else:
        account, _, rest = text.partition(" ")
    if not account:
        raise FeedbackSyntaxError("name the account first")
    theme = None
    for pattern in (_CHANNEL_THEME, _HASH_THEME):
        found = pattern.search(rest)
        if found and len(found.group(1).split()) <= 6:
            theme, rest = found.group(1).strip(), rest[: found.start()].strip()
            break
    kind = "request"
    prefix = _KIND_PREFIX.match(rest)
    if prefix:
        kind, rest = prefix.group(1).lower(), rest[prefix.end() :]
    if not rest.strip():
        raise FeedbackSyntaxError("say what the customer said after the account")
    return account, rest.strip(), theme, kind


# --- builders ------------------------------------------------------------------------------------------


def quote(text: str, limit: int = QUOTE) -> str:
    """A customer's words, escaped and quoted (each line starts with ``>``)."""
    body = clip(slack_escape(text.strip()), limit)
    return "\n".join(f">{line}" for line in body.splitlines() or [""])


def logged_reply(item: LoggedItem, new: bool, similar: list[fb.Suggestion], created: bool) -> Reply:
    account = slack_escape(item.account)
    if not new:
        who = f" by <@{item.logged_by_slack}>" if item.logged_by_slack else ""
        theme = f" under *{slack_escape(item.theme)}*" if item.theme else ""
        return replies.text_reply(f"That was already logged{who} for *{account}*{theme}.")
    theme = (
        f" under *{slack_escape(item.theme)}*"
        if item.theme
        else " (no theme yet: product admins will sort it)"
    )
    lines = [f":speech_balloon: Logged customer feedback for *{account}*{theme}."]
    if created:
        lines.append("That is a new theme.")
        if similar:
            names = ", ".join(f"*{slack_escape(s.name)}*" for s in similar)
            lines.append(f"Similar themes exist: {names} — a product admin can merge them.")
    return replies.text_reply("\n".join(lines))


def _trend(t: RankedTheme) -> str:
    return f"{t.last_4w} in the last 4 weeks ({t.prior_4w} the 4 before)"


def top_reply(top: fb.Top, currency: str) -> Reply:
    title = "Top customer themes"
    if top.kind:
        title += f" — {KIND_WORDS[top.kind].lower()}s"
    if top.segment:
        title += f" — {top.segment}"
    if not top.themes:
        return replies.text_reply(
            f"*{slack_escape(title)}*\nNo open theme has feedback yet. "
            "Log some with `/feedback ACCOUNT what they said #theme`."
        )
    blocks: list[dict[str, Any]] = [kit.header(title)]
    lines = []
    for n, t in enumerate(top.themes, 1):
        line = (
            f"*{n}. {slack_escape(t.name)}* ({STATUS_WORDS.get(t.status, t.status)}) — "
            f"{t.accounts} account{'s' if t.accounts != 1 else ''}, ARR {fmt.money(t.arr, currency)}, "
            f"*at risk {fmt.money(t.arr_at_risk, currency)}* ({t.accounts_at_risk}), "
            f"{t.renewals_90d} renewing in 90 days; {_trend(t)}"
        )
        lines.append(line)
        blocks.append(kit.section(line))
    blocks.append(
        kit.context("At risk: red health or an open risk flag. ARR: last complete month's MRR × 12.")
    )
    return {"text": clip(f"{slack_escape(title)}\n" + "\n".join(lines), MAX_MESSAGE_TEXT), "blocks": blocks}


def themes_reply(rows: list[Any], untriaged: int) -> Reply:
    if not rows:
        return replies.text_reply(
            "No themes yet. Product admins add them with `/feedback themes add NAME`; "
            "any new name given at capture makes one too."
        )
    lines = [
        f"• *{slack_escape(r.name)}* — {STATUS_WORDS.get(r.status, r.status)}, {r.items} item"
        f"{'s' if r.items != 1 else ''} from {r.accounts} account{'s' if r.accounts != 1 else ''}"
        for r in rows[: replies.MAX_LIST * 3]
    ]
    more = len(rows) - len(lines)
    tail = [f"…and {more} more."] if more > 0 else []
    if untriaged:
        tail.append(f"{untriaged} item{'s have' if untriaged != 1 else ' has'} no theme yet.")
    return replies.text_reply("*Customer feedback themes*\n" + "\n".join(lines + tail))


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": plain(text, 75)}, "value": value[:150]}


def _static(options: list[tuple[str, str]], initial: str) -> dict[str, Any]:
    choices = [_option(label, value) for value, label in options]
    return {
        "type": "static_select",
        "options": choices,
        "initial_option": next(c for c in choices if c["value"] == initial),
    }


def log_modal(
    *,
    text: str,
    meta: dict[str, Any],
    account: tuple[int, str] | None,
    suggestions: list[fb.Suggestion],
    intro: str,
) -> dict[str, Any]:
    """The dialog: account (typeahead), kind, theme (closest existing first, or a new one), importance,
    what the customer said, and who said it."""
    account_select: dict[str, Any] = {
        "type": "external_select",
        "action_id": ACCOUNT_SELECT,
        "min_query_length": 1,
        "placeholder": {"type": "plain_text", "text": "Type the account's name or CRM id"},
    }
    if account is not None:
        account_select["initial_option"] = _option(account[1], str(account[0]))
    theme_select: dict[str, Any] = {
        "type": "external_select",
        "action_id": THEME_SELECT,
        "min_query_length": 0,
        "placeholder": {"type": "plain_text", "text": "Closest themes first; type to search or add"},
    }
    if suggestions and suggestions[0].score >= PREFILL_SCORE:
        theme_select["initial_option"] = _option(suggestions[0].name, f"t:{suggestions[0].theme_id}")
    text_input = kit.text_input("What the customer said", max_length=3000)
    if text:
        text_input["initial_value"] = text[:3000]
    inputs = [
        kit.input_block("account", "Account", account_select),
        kit.input_block("kind", "Kind", _static(list(KIND_WORDS.items()), "request")),
        kit.input_block("theme", "Theme", theme_select, optional=True),
    ]
    if suggestions:
        inputs.append(
            kit.context("Closest themes: " + ", ".join(f"*{slack_escape(s.name)}*" for s in suggestions[:3]))
        )
    inputs += [
        kit.input_block(
            "importance", "Importance", _static([(i, i.capitalize()) for i in IMPORTANCE], "medium")
        ),
        kit.input_block("text", "Feedback", text_input),
        kit.input_block(
            "contact",
            "Customer contact",
            kit.text_input("Who said it (name or e-mail)", multiline=False, max_length=254),
            optional=True,
        ),
    ]
    return kit.modal(DIALOG, "Log customer feedback", "Log it", meta, intro, inputs)


# --- payload models ------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LogMeta(_Model):
    """What the dialog carries: the claim (external id), where it came from and the link back."""

    x: str = ""
    s: str = "command"
    link: str | None = None


class _Selected(_Model):
    value: str


class _Element(_Model):
    value: str | None = None
    selected_option: _Selected | None = None


class LogState(_Model):
    """The dialog's answers, by block and element."""

    account: str | None
    kind: str
    theme: str | None
    importance: str
    text: str
    contact: str | None

    @classmethod
    def of(cls, view: dict[str, Any]) -> LogState:
        values = ((view.get("state") or {}).get("values")) or {}

        def pick(block: str, element: str) -> _Element:
            try:
                return _Element.model_validate((values.get(block) or {}).get(element) or {})
            except ValidationError:
                return _Element()

        def chosen(block: str, element: str) -> str | None:
            selected = pick(block, element).selected_option
            return selected.value if selected else None

        return cls(
            account=chosen("account", ACCOUNT_SELECT),
            kind=chosen("kind", "value") or "request",
            theme=chosen("theme", THEME_SELECT),
            importance=chosen("importance", "value") or "medium",
            text=pick("text", "value").value or "",
            contact=pick("contact", "value").value,
        )


class PickValue(_Model):
    """The DM's buttons: the message (channel, ts) and, for a candidate, the account."""

    c: str = ""
    ts: str = ""
    a: StrictInt | None = None

    @classmethod
    def parse(cls, value: str) -> PickValue:
        try:
            return cls.model_validate_json(value)
        except ValidationError:
            return cls()


def _meta(view: dict[str, Any]) -> LogMeta:
    try:
        return LogMeta.model_validate_json(view.get("private_metadata") or "{}")
    except ValidationError:
        return LogMeta()


# --- /feedback -----------------------------------------------------------------------------------------


def feedback_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    words = cmd.text.split()
    sub = words[0].lower() if words else ""
    if sub in ("help", "?"):
        return replies.help_reply("/feedback", USAGE)
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    if not words:
        return open_dialog_reply(ctx, cmd, ws)
    if sub == "top" and len(words) <= 3:
        return top_command(ctx, ws, words[1:])
    if sub == "themes":
        return themes_command(ctx, cmd, ws, cmd.text.split(None, 2)[2] if len(words) > 2 else "", words[1:2])
    if sub in ("subscribe", "unsubscribe", "subscriptions") and (sub != "subscriptions" or len(words) == 1):
        return subscription_command(ctx, cmd, ws, sub, words[1:])
    return log_command(ctx, cmd, ws)


def _refused(refusal: fb.NotAllowed, doing: str) -> Reply:
    return replies.error_reply(
        f"Only {refusal.who} can {doing}.", "Ask one of them, or RevOps to add you to the people list."
    )


def open_dialog_reply(ctx: Context, cmd: SlashCommand, ws: int) -> Reply:
    with ctx.db.read() as session:
        refusal = fb.may_capture(session, ws, cmd.user_id, ctx.admin_user_ids)
    if refusal is not None:
        return _refused(refusal, "log customer feedback")
    if not cmd.trigger_id or ctx.clients is None:
        return replies.help_reply("/feedback", USAGE)
    view = log_modal(
        text="",
        meta={"x": f"cmd:{cmd.trigger_id}", "s": "command"},
        account=None,
        suggestions=[],
        intro="Log what a customer said, against their account.",
    )
    try:
        ctx.clients(ws).views_open(trigger_id=cmd.trigger_id, view=view)
    except SlackApiError as exc:
        return replies.error_reply(f"I couldn't open the dialog: {advice(exc)}.", "Try again.")
    return replies.text_reply("Fill in the dialog; the feedback is logged when you submit it.")


def log_command(ctx: Context, cmd: SlashCommand, ws: int) -> Reply:
    try:
        account, text, theme, kind = parse_feedback(cmd.text)
    except FeedbackSyntaxError as exc:
        return replies.error_reply(f"I couldn't read that: {exc}.", "Type `/feedback help` for examples.")
    now = ctx.clock()
    capture = fb.Capture(
        f"cmd:{cmd.trigger_id or now.isoformat()}",
        text,
        "command",
        kind=kind,
        account=account,
        theme=theme,
        logged_by=cmd.user_id,
    )
    try:
        done = fb.capture(
            ctx.db, ws, capture, admins=ctx.admin_user_ids, policy=ctx.policies.feedback, now=now
        )
    except fb.NotAllowed as refusal:
        return _refused(refusal, "log customer feedback")
    except NoSingleAccount as refusal:
        return replies.which_account(refusal)
    except fb.FeedbackError as exc:
        return replies.error_reply(
            f"I couldn't log that: {slack_escape(str(exc))}.", "Type `/feedback help`."
        )
    return logged_reply(done.item, done.new, done.similar, done.theme_created)


def top_command(ctx: Context, ws: int, args: list[str]) -> Reply:
    try:
        found = fb.top(ctx.db, ws, now=ctx.clock(), words_=args)
    except fb.FeedbackError as exc:
        return replies.error_reply(slack_escape(str(exc)) + ".", "Try `/feedback top requests enterprise`.")
    except UnknownSegment as refusal:
        return replies.unknown_segment(refusal)
    return top_reply(found, ctx.policies.currency)


def themes_command(ctx: Context, cmd: SlashCommand, ws: int, rest: str, verb_words: list[str]) -> Reply:
    verb = verb_words[0].lower() if verb_words else "list"
    if verb == "list":
        fb.ensure_policy_themes(ctx.db, ws, ctx.policies.feedback, ctx.clock())
        return themes_reply(*fb.theme_list(ctx.db, ws))
    kw: dict[str, Any] = {
        "by": cmd.user_id,
        "admins": ctx.admin_user_ids,
        "policy": ctx.policies.feedback,
        "now": ctx.clock(),
    }
    try:
        if verb == "add" and rest.strip():
            theme, created = fb.add_theme(ctx.db, ws, rest.strip().strip('"'), **kw)
            name = slack_escape(theme.name)
            return replies.text_reply(
                f"Theme *{name}* added." if created else f"Theme *{name}* already exists."
            )
        if verb == "merge" and re.search(r"\s+into\s+", rest, re.IGNORECASE):
            source, target = re.split(r"\s+into\s+", rest.strip(), maxsplit=1, flags=re.IGNORECASE)
            src, dst, moved = fb.merge_themes(
                ctx.db, ws, source.strip().strip('"'), target.strip().strip('"'), **kw
            )
            return replies.text_reply(
                f"Merged *{slack_escape(src.name)}* into *{slack_escape(dst.name)}*: {moved} item"
                f"{'s' if moved != 1 else ''} moved. The old name now leads to *{slack_escape(dst.name)}*."
            )
        if verb == "status" and len(rest.split()) >= 2:
            name, status = rest.rsplit(None, 1)
            theme, before = fb.set_status(ctx.db, ws, name.strip().strip('"'), status, **kw)
            now_words = STATUS_WORDS.get(theme.status, theme.status)
            if before is None:
                return replies.text_reply(f"*{slack_escape(theme.name)}* is already {now_words}.")
            tail = (
                " The owners of every account that asked for it will be told."
                if theme.status == "shipped"
                else ""
            )
            return replies.text_reply(f"*{slack_escape(theme.name)}* is now {now_words}.{tail}")
    except fb.NotAllowed as refusal:
        return _refused(refusal, "curate themes")
    except fb.UnknownTheme as refusal:
        close = ", ".join(f"*{slack_escape(s.name)}*" for s in refusal.suggestions)
        hint = f"Did you mean {close}?" if close else "`/feedback themes` lists them."
        return replies.error_reply(f"There is no theme “{replies.echo(refusal.name)}”.", hint)
    except fb.FeedbackError as exc:
        return replies.error_reply(slack_escape(str(exc)) + ".", "Type `/feedback help`.")
    return replies.error_reply(
        "I understand `themes`, `themes add NAME`, `themes merge NAME into OTHER` and "
        f"`themes status NAME {'|'.join(STATUSES)}`.",
        "Type `/feedback help`.",
    )


def subscription_command(ctx: Context, cmd: SlashCommand, ws: int, verb: str, args: list[str]) -> Reply:
    if verb == "subscriptions":
        listed = fb.voc_subscriptions(ctx.db, ws)
        if not listed:
            return replies.text_reply(
                "No channel gets the voice of the customer digest yet. "
                "An admin can type `/feedback subscribe #channel`."
            )
        lines = [f"• <#{s.channel_id}>: {slack_escape(schedule_words(s))}" for s in listed]
        return replies.text_reply("*Voice of the customer digests*\n" + "\n".join(lines))
    target = admin_channel(ctx, cmd, args, "/feedback")
    if not isinstance(target, tuple):
        return target
    channel, args = target
    if verb == "unsubscribe":
        gone = fb.voc_unsubscribe(ctx.db, ws, channel)
        return replies.text_reply(
            f"<#{channel}> will no longer get the voice of the customer digest."
            if gone
            else f"<#{channel}> had no voice of the customer digest."
        )
    try:
        saved = fb.voc_subscribe(ctx.db, ws, channel, args, by=cmd.user_id, now=ctx.clock())
    except SubscriptionError as exc:
        return replies.error_reply(slack_escape(str(exc)) + ".", "Type `/feedback help` for the form.")
    return replies.text_reply(
        f":loudspeaker: <#{channel}> gets the weekly voice of the customer: "
        f"{slack_escape(schedule_words(saved))}. Customer words are posted only in channels that subscribe. "
        "Make sure I'm in it (`/invite @retention-bot`)."
    )


# --- the message shortcut, the dialog and its pickers ----------------------------------------------------


def _message(client: Any, channel: str, ts: str) -> dict[str, Any] | None:
    """That one message (in the channel, or a reply in a thread): nothing else is read."""
    one = {"channel": channel, "latest": ts, "oldest": ts, "inclusive": True}
    for found in (
        client.conversations_history(limit=1, **one),
        client.conversations_replies(ts=ts, limit=2, **one),
    ):
        for message in found.get("messages") or []:
            if message.get("ts") == ts:
                return dict(message)
    return None


def _permalink(client: Any, channel: str, ts: str) -> str | None:
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink") or "") or None
    except SlackApiError as exc:
        logger.info("no permalink for a message in %s: %s", channel, advice(exc))
        return None


def message_modal(
    ctx: Context,
    ws: int,
    *,
    channel: str,
    channel_name: str | None,
    ts: str,
    text: str,
    link: str | None,
    source: str,
) -> dict[str, Any]:
    guess = fb.guess_account(ctx.db, ws, channel_name, text, ctx.policies.feedback)
    account = (guess.account.id, guess.account.name) if guess.account else None
    intro = (
        f"From a message in <#{channel}>"
        + (f" (<{link}|open it>)" if link else "")
        + ":\n"
        + quote(text, 1500)
    )
    if guess.candidates and account is None:
        names = ", ".join(f"*{slack_escape(name)}*" for _, name in guess.candidates[:5])
        intro += f"\nIt names {names}: pick the account."
    return log_modal(
        text=text,
        meta={"x": fb.message_id(channel, ts), "s": source, "link": link},
        account=account,
        suggestions=fb.suggest(ctx.db, ws, text, wait=False) if text else [],
        intro=intro,
    )


def on_shortcut(ctx: Context, body: dict[str, Any], client: Any, respond: Any) -> None:
    who = ViewSubmission.from_body(body)
    ws = ctx.workspace(who.team_id, who.enterprise_id)
    with ctx.db.read() as session:
        refusal = fb.may_capture(session, ws, who.user_id, ctx.admin_user_ids)
    if refusal is not None:
        respond(response_type="ephemeral", **_refused(refusal, "log customer feedback"))
        return
    channel = (body.get("channel") or {}).get("id") or ""
    message = body.get("message") or {}
    ts = str(message.get("ts") or body.get("message_ts") or "")
    if not channel or not ts:
        respond(response_type="ephemeral", text="I couldn't tell which message that was. Please try again.")
        return
    done = fb.already_logged(ctx.db, ws, fb.message_id(channel, ts))
    if done is not None:
        respond(response_type="ephemeral", **logged_reply(done, False, [], False))
        return
    view = message_modal(
        ctx,
        ws,
        channel=channel,
        channel_name=(body.get("channel") or {}).get("name"),
        ts=ts,
        text=str(message.get("text") or ""),
        link=_permalink(client, channel, ts),
        source="shortcut",
    )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def account_options(ctx: Context, body: dict[str, Any]) -> list[dict[str, Any]]:
    who = ViewSubmission.from_body(body)
    ws = ctx.workspace(who.team_id, who.enterprise_id)
    with ctx.db.read() as session:
        if fb.may_capture(session, ws, who.user_id, ctx.admin_user_ids) is not None:
            return []
    found = fb.account_options(ctx.db, ws, str(body.get("value") or "")[:200])
    return [_option(f"{m.name} ({m.external_id})", str(m.id)) for m in found[:20]]


def theme_options(ctx: Context, body: dict[str, Any]) -> list[dict[str, Any]]:
    who = ViewSubmission.from_body(body)
    ws = ctx.workspace(who.team_id, who.enterprise_id)
    with ctx.db.read() as session:
        if fb.may_capture(session, ws, who.user_id, ctx.admin_user_ids) is not None:
            return []
    typed = " ".join(str(body.get("value") or "").split())[:80]
    if typed:
        found = fb.suggest(ctx.db, ws, typed, 8, wait=False)
    else:  # nothing typed yet: the themes closest to the feedback in the dialog
        found = fb.suggest(ctx.db, ws, LogState.of(body.get("view") or {}).text, 8, wait=False)
    options = [_option(s.name, f"t:{s.theme_id}") for s in found]
    if typed and not any(s.name.lower() == typed.lower() for s in found):
        options.append(_option(f"New theme: {typed}", f"n:{typed}"))
    return options


def submit_dialog(
    ctx: Context, body: dict[str, Any], view: dict[str, Any]
) -> tuple[dict[str, str] | None, Reply | None]:
    """(errors for the dialog, None) or (None, the confirmation)."""
    meta, answers = _meta(view), LogState.of(view)
    who = ViewSubmission.from_body(body)
    ws = ctx.workspace(who.team_id, who.enterprise_id)
    if not meta.x:
        return {"text": "This dialog is out of date; please start again."}, None
    if answers.kind not in KINDS or answers.importance not in IMPORTANCE:
        return {"kind": "Pick one of the kinds offered."}, None
    if not (answers.account or "").isdigit():
        return {"account": "Pick the account from the list."}, None
    theme = answers.theme or ""
    capture = fb.Capture(
        meta.x,
        answers.text,
        meta.s if meta.s in ("shortcut", "reaction", "command") else "command",
        kind=answers.kind,
        importance=answers.importance,
        account_id=int(answers.account or 0),
        theme_id=int(theme[2:]) if theme.startswith("t:") and theme[2:].isdigit() else None,
        theme=theme[2:] if theme.startswith("n:") else None,
        contact=answers.contact,
        link=meta.link,
        logged_by=who.user_id,
    )
    try:
        done = fb.capture(
            ctx.db, ws, capture, admins=ctx.admin_user_ids, policy=ctx.policies.feedback, now=ctx.clock()
        )
    except fb.NotAllowed as refusal:
        return {"text": f"Only {refusal.who} can log customer feedback."}, None
    except fb.FeedbackError as exc:
        field = "theme" if "theme" in str(exc) else "account" if "account" in str(exc) else "text"
        return {field: str(exc)[:150]}, None
    return None, logged_reply(done.item, done.new, done.similar, done.theme_created)


# --- the reaction ----------------------------------------------------------------------------------------


def _dm(client: Any, user: str, reply: Reply) -> None:
    try:
        client.chat_postMessage(channel=user, **reply)
    except SlackApiError as exc:
        logger.warning("could not DM %s about logged feedback: %s", user, advice(exc))


def ask_which_account(channel: str, ts: str, text: str, candidates: list[tuple[int, str]]) -> Reply:
    intro = (
        f"You reacted to a message in <#{channel}> to log it as customer feedback, but I can't tell "
        "which account it is from:\n" + quote(text, 800)
    )
    buttons = [
        kit.button(name, f"{PICK}_{n}", {"c": channel, "ts": ts, "a": aid})
        for n, (aid, name) in enumerate(candidates[:4])
    ]
    buttons.append(kit.button("Another account…", OPEN, {"c": channel, "ts": ts}, primary=not buttons))
    return {
        "text": clip(f"Which account is this feedback from? {slack_escape(text)}", MAX_MESSAGE_TEXT),
        "blocks": [kit.section(intro), kit.actions(buttons, block_id="fb_which")],
    }


def on_reaction(ctx: Context, body: dict[str, Any], event: dict[str, Any], client: Any) -> None:
    item = event.get("item") or {}
    if event.get("reaction") != ctx.policies.feedback.reaction or item.get("type") != "message":
        return
    channel, ts, user = (
        str(item.get("channel") or ""),
        str(item.get("ts") or ""),
        str(event.get("user") or ""),
    )
    if not channel or not ts or not user:
        return
    team_id, enterprise_id = body.get("team_id"), body.get("enterprise_id")
    ws = ctx.workspace(team_id, enterprise_id)
    if not first_time(ctx.db, body.get("event_id"), team_id, ctx.clock()):
        return
    if fb.already_logged(ctx.db, ws, fb.message_id(channel, ts)) is not None:
        return  # a message is logged once, however many people react
    with ctx.db.read() as session:
        refusal = fb.may_capture(session, ws, user, ctx.admin_user_ids)
    if refusal is not None:
        _dm(
            client,
            user,
            replies.text_reply(f"I didn't log that message: only {refusal.who} can log customer feedback."),
        )
        return
    try:
        message = _message(client, channel, ts)
    except SlackApiError as exc:
        _dm(client, user, replies.text_reply(f"I couldn't read that message to log it: {advice(exc)}."))
        return
    if message is None or not str(message.get("text") or "").strip():
        _dm(client, user, replies.text_reply("I couldn't find that message's text, so nothing was logged."))
        return
    text = str(message["text"])
    try:
        name = (client.conversations_info(channel=channel).get("channel") or {}).get("name")
    except SlackApiError:
        name = None
    guess = fb.guess_account(ctx.db, ws, name, text, ctx.policies.feedback)
    if guess.account is None:
        _dm(client, user, ask_which_account(channel, ts, text, guess.candidates))
        return
    _log_message(ctx, ws, client, user, channel, ts, text, guess.account.id, "reaction", respond=None)


def _log_message(
    ctx: Context,
    ws: int,
    client: Any,
    user: str,
    channel: str,
    ts: str,
    text: str,
    account_id: int,
    source: str,
    respond: Any,
) -> None:
    best = fb.suggest(ctx.db, ws, text, 1, wait=False)
    capture = fb.Capture(
        fb.message_id(channel, ts),
        text,
        source,
        account_id=account_id,
        theme_id=best[0].theme_id if best and best[0].score >= 80 else None,
        link=_permalink(client, channel, ts),
        logged_by=user,
    )
    try:
        done = fb.capture(
            ctx.db, ws, capture, admins=ctx.admin_user_ids, policy=ctx.policies.feedback, now=ctx.clock()
        )
        reply = logged_reply(done.item, done.new, [], False)
    except fb.NotAllowed as refusal:
        reply = replies.text_reply(f"Only {refusal.who} can log customer feedback.")
    except fb.FeedbackError as exc:
        reply = replies.text_reply(f"I couldn't log that: {slack_escape(str(exc))}.")
    if respond is not None:
        respond(replace_original=True, **reply)
    else:
        _dm(client, user, reply)


def on_pick(ctx: Context, body: dict[str, Any], action: dict[str, Any], client: Any, respond: Any) -> None:
    press = ButtonPress.from_body(body, action)
    value = PickValue.parse(press.value)
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    if not value.c or not value.ts or value.a is None:
        respond(replace_original=True, text="That button is out of date.")
        return
    try:
        message = _message(client, value.c, value.ts)
    except SlackApiError as exc:
        respond(replace_original=True, text=f"I couldn't read that message: {advice(exc)}.")
        return
    if message is None:
        respond(replace_original=True, text="That message is gone, so nothing was logged.")
        return
    _log_message(
        ctx,
        ws,
        client,
        press.user_id,
        value.c,
        value.ts,
        str(message.get("text") or ""),
        value.a,
        "reaction",
        respond,
    )


def on_open(ctx: Context, body: dict[str, Any], action: dict[str, Any], client: Any, respond: Any) -> None:
    press = ButtonPress.from_body(body, action)
    value = PickValue.parse(press.value)
    ws = ctx.workspace(press.team_id, press.enterprise_id)
    with ctx.db.read() as session:
        refusal = fb.may_capture(session, ws, press.user_id, ctx.admin_user_ids)
    if refusal is not None:
        respond(replace_original=False, **_refused(refusal, "log customer feedback"))
        return
    try:
        message = _message(client, value.c, value.ts) if value.c and value.ts else None
    except SlackApiError as exc:
        respond(replace_original=False, text=f"I couldn't read that message: {advice(exc)}.")
        return
    if message is None:
        respond(replace_original=True, text="That message is gone, so nothing was logged.")
        return
    view = message_modal(
        ctx,
        ws,
        channel=value.c,
        channel_name=None,
        ts=value.ts,
        text=str(message.get("text") or ""),
        link=_permalink(client, value.c, value.ts),
        source="reaction",
    )
    client.views_open(trigger_id=body["trigger_id"], view=view)


def register(app: App, ctx: Context) -> None:
    slash_command(app, ctx, "/feedback", feedback_reply)

    @app.shortcut(SHORTCUT)
    def shortcut(ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        ack()
        on_shortcut(ctx, body, client, respond)

    @app.options(ACCOUNT_SELECT)
    def accounts(ack: Any, body: dict[str, Any]) -> None:
        ack(options=account_options(ctx, body))

    @app.options(THEME_SELECT)
    def themes(ack: Any, body: dict[str, Any]) -> None:
        ack(options=theme_options(ctx, body))

    @app.view(DIALOG)
    def submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        errors, confirmation = submit_dialog(ctx, body, view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        if confirmation:
            _dm(client, ViewSubmission.from_body(body).user_id, confirmation)

    @app.event("reaction_added")
    def reaction_added(body: dict[str, Any], event: dict[str, Any], client: Any) -> None:
        on_reaction(ctx, body, event, client)

    @app.action(re.compile(rf"^{PICK}_\d+$"))
    def pick(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, respond: Any) -> None:
        ack()
        on_pick(ctx, body, action, client, respond)

    @app.action(OPEN)
    def open_(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, respond: Any) -> None:
        ack()
        on_open(ctx, body, action, client, respond)
