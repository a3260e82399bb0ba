"""/win ACCOUNT TEXT [@people…] [#team…] [--not-me] records a shared win; /wins lists them."""

from __future__ import annotations

import re

from slack_bolt import App

from commands import replies
from commands.answer import Reply
from commands.context import CHANNEL, Context, SlashCommand, slash_command
from services import wins
from services.errors import NoSingleAccount, NothingToCredit, UnknownPeople
from storage.vocab import TEAMS

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
CHANNEL_TEAM = re.compile(r"<#C[A-Z0-9]+\|([^>]*)>")
HASH_TEAM = re.compile(r"(?<![\w&])#([a-z_]+)\b", re.IGNORECASE)
WIN_USAGE = [
    (
        "/win ACCOUNT what happened @people #team",
        "record a shared win, credited to everyone and every team named",
    ),
    ('/win "Acme Corp" saved the renewal @ana #cs #support', "quote an account name that has spaces"),
    ("… --not-me", "leave yourself out of the credit (you are credited by default)"),
    ("/win channel #wins", "where shared wins get a shout-out (admins; `/win channel off` stops them)"),
    (
        "/win optout",
        "leave the digest's People recognised list (`/win optin` to come back); "
        "your teams keep the credit",
    ),
]
WINS_USAGE = [("/wins", "this week's shared wins"), ("/wins last week", "last week's")]


class WinSyntaxError(ValueError):
    pass


def parse_win(raw: str) -> wins.WinInput:
    text = raw.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        if end == -1:
            raise WinSyntaxError("the account name's closing quote is missing")
        account, rest = text[1:end].strip(), text[end + 1 :]
    else:
        account, _, rest = text.partition(" ")
    if not account:
        raise WinSyntaxError("name the account first")
    people = MENTION.findall(rest)
    rest = MENTION.sub("", rest)
    teams = [t.lower() for t in CHANNEL_TEAM.findall(rest) if t.lower() in TEAMS]
    rest = CHANNEL_TEAM.sub(lambda mt: "" if mt.group(1).lower() in TEAMS else mt.group(0), rest)
    teams += [t.lower() for t in HASH_TEAM.findall(rest) if t.lower() in TEAMS]
    rest = HASH_TEAM.sub(lambda mt: "" if mt.group(1).lower() in TEAMS else mt.group(0), rest)
    not_me = "--not-me" in rest.split()
    words = [w for w in rest.split() if w != "--not-me"]
    if not words:
        raise WinSyntaxError("say what happened after the account")
    return wins.WinInput(
        account, " ".join(words)[:4000], list(dict.fromkeys(people)), list(dict.fromkeys(teams)), not_me
    )


def wins_channel_reply(ctx: Context, cmd: SlashCommand, args: list[str]) -> Reply:
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    if not args:
        current = wins.wins_channel(ctx.db, ws)
        return replies.text_reply(
            f"Shared wins get a shout-out in <#{current}>."
            if current
            else "Shout-outs are off. An admin can type `/win channel #wins`."
        )
    if not ctx.is_admin(cmd.user_id):
        return replies.error_reply(
            "Only admins can choose the wins channel.", "Ask one of your RevOps admins."
        )
    if args[0].lower() == "off":
        channel = None
    elif (found := CHANNEL.match(args[0])) is not None:
        channel = found.group(1)
    else:
        return replies.error_reply(
            "I need the channel picked from Slack's autocomplete (so I get its id).",
            "Type `/win channel #` and choose the channel from the list, or `/win channel off`.",
        )
    channel = wins.set_wins_channel(ctx.db, ws, channel)
    return replies.text_reply(
        f":tada: Shared wins now get a shout-out in <#{channel}>. "
        "Make sure I'm in it (`/invite @retention-bot`)."
        if channel
        else "Shout-outs are off."
    )


def listed_reply(ctx: Context, cmd: SlashCommand, *, listed: bool) -> Reply:
    """``/win optout`` / ``/win optin``: only ever about the person typing it."""
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    if not wins.set_listed(ctx.db, ws, cmd.user_id, listed=listed):
        return replies.error_reply(
            "Your Slack user isn't in the people list, so the digest never lists you by name.",
            "Nothing to change.",
        )
    return replies.text_reply(
        "You're back in the digest's \"People recognised\" list."
        if listed
        else "Done: the digest won't list you by name any more. Your wins still count for your teams; "
        "`/win optin` brings you back."
    )


def win_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    if cmd.text.strip().lower() in ("", "help", "?"):
        return replies.help_reply("/win", WIN_USAGE)
    words = cmd.text.split()
    if words[0].lower() == "channel" and len(words) <= 2:
        return wins_channel_reply(ctx, cmd, words[1:])
    if len(words) == 1 and words[0].lower() in ("optout", "optin"):
        return listed_reply(ctx, cmd, listed=words[0].lower() == "optin")
    try:
        req = parse_win(cmd.text)
    except WinSyntaxError as exc:
        return replies.error_reply(f"I couldn't read that win: {exc}.", "Type `/win help` for examples.")
    now = ctx.clock()
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    try:
        recorded = wins.record(
            ctx.db,
            ws,
            req,
            recorder_slack=cmd.user_id,
            external_id=f"slack:{cmd.trigger_id or now.isoformat()}",
            now=now,
            shoutouts_per_day=ctx.policies.wins.detected_shoutouts_per_day,
            announce=ctx.announce_wins,
        )
    except NoSingleAccount as refusal:
        return replies.which_account(refusal)
    except UnknownPeople as refusal:
        unknown = refusal.slack_ids
        names = ", ".join(f"<@{u}>" for u in unknown)
        return replies.error_reply(
            f"{names} {'is' if len(unknown) == 1 else 'are'} not in the people list, so I can't credit them.",
            "Ask RevOps to import them with their slack_user_id, then record the win again.",
        )
    except NothingToCredit:
        return replies.error_reply(
            "A win needs at least one person or team to credit.", "Add @people or a #team (e.g. #cs)."
        )
    if not recorded.new:
        return replies.text_reply("That win was already recorded.")
    return replies.win_recorded(recorded.account_name, recorded.text, recorded.people, recorded.teams)


def wins_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    words = " ".join(cmd.text.lower().split())
    if words in ("help", "?"):
        return replies.help_reply("/wins", WINS_USAGE)
    if words not in ("", "this week", "last week"):
        return replies.error_reply("I understand `this week` and `last week`.", "Try `/wins last week`.")
    last = words == "last week"
    start, end = wins.this_or_last_week(ctx.clock().date(), last)
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    rows = wins.between(ctx.db, ws, start, end)
    title = "Shared wins last week" if last else "Shared wins this week"
    return replies.wins_list(title, rows)


def register(app: App, ctx: Context) -> None:
    slash_command(app, ctx, "/win", win_reply)
    slash_command(app, ctx, "/wins", wins_reply)
