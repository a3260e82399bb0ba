"""`/renewals [DAYS]`: the accounts renewing in the next DAYS (default 90) with ARR, risk tier, health,
open plays and owners, worst first (``services.renewals``). The reply is private."""

from __future__ import annotations

import datetime as dt
import re

from slack_bolt import App

from blocks import kit
from blocks.format import money, slack_date
from blocks.text import MAX_MESSAGE_BLOCKS, clip, slack_escape
from commands import replies
from commands.answer import Reply
from commands.context import Context, SlashCommand, slash_command
from services import renewals

USAGE = [
    (
        "/renewals",
        "accounts renewing in the next 90 days, worst first: ARR, risk, health, open plays, owners",
    ),
    ("/renewals DAYS", "the same for the next DAYS days (1–730)"),
]
TIER_ICON = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":large_green_circle:"}
MAX_ROWS = 60
PER_SECTION = 5


def _person(name: str | None, slack: str | None) -> str | None:
    if slack:
        return f"<@{slack}>"
    return slack_escape(name) if name else None


def renewal_line(r: renewals.Renewal, currency: str, now: dt.datetime) -> str:
    health = "no health score" if r.score is None else f"health {r.score:.0f} {slack_escape(r.band or '')}"
    owners = [
        f"{role} {who}"
        for role, who in (("CSM", _person(r.csm, r.csm_slack)), ("AE", _person(r.ae, r.ae_slack)))
        if who
    ]
    name = f"*{clip(slack_escape(r.name), 120)}* (`{clip(slack_escape(r.external_id), 60)}`)"
    lines = [
        f"{TIER_ICON.get(r.tier, '')} {name} — renews {r.renewal_on:%Y-%m-%d} ({r.days_left} d) · "
        f"ARR {money(r.arr, currency)} · risk *{r.tier}* · {health}",
        "Owners: " + (", ".join(owners) if owners else "nobody"),
    ]
    if r.plays:
        plays = []
        for p in r.plays[:3]:
            who = _person(p.owner, p.owner_slack) or "nobody"
            late = " *overdue*" if p.due_at is not None and p.due_at < now else ""
            due = f", due {slack_date(p.due_at)}" if p.due_at else ""
            plays.append(f"{clip(slack_escape(p.title), 80)} ({who}, {p.state}{due}){late}")
        more = f" and {len(r.plays) - 3} more" if len(r.plays) > 3 else ""
        lines.append("Open plays: " + "; ".join(plays) + more)
    else:
        lines.append("Open plays: none")
    return clip("\n".join(lines), 580)


def renewals_reply_blocks(found: renewals.Renewals, currency: str, now: dt.datetime) -> Reply:
    title = f"Renewals in the next {found.days} days"
    if not found.rows:
        return replies.text_reply(f"No account renews in the next {found.days} days.")
    blocks = [
        kit.header(title),
        kit.context(
            f"{len(found.rows)} accounts · {money(found.arr_total, currency)} ARR · "
            f"{money(found.arr_at('high'), currency)} at high risk · worst first (risk, health, ARR)"
        ),
    ]
    shown = found.rows[:MAX_ROWS]
    for start in range(0, len(shown), PER_SECTION):
        lines = [renewal_line(r, currency, now) for r in shown[start : start + PER_SECTION]]
        blocks.append(kit.section("\n\n".join(lines)))
    if len(found.rows) > len(shown):
        blocks.append(
            kit.context(f"…and {len(found.rows) - len(shown)} more: `retention-bot renewals` lists them all.")
        )
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    return {"text": title, "blocks": blocks}


def renewals_reply(ctx: Context, cmd: SlashCommand) -> Reply:
    arg = " ".join(cmd.text.split()).lower()
    if arg in ("help", "?"):
        return replies.help_reply("/renewals", USAGE)
    if arg and not re.fullmatch(r"[0-9]{1,4}", arg):
        return replies.error_reply(f"`{replies.echo(arg)}` is not a number of days.", "Try `/renewals 90`.")
    days = int(arg) if arg else 90
    if not 1 <= days <= renewals.MAX_DAYS:
        return replies.error_reply(f"{days} days is outside 1–{renewals.MAX_DAYS}.", "Try `/renewals 90`.")
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    now = ctx.clock()
    found = renewals.upcoming(ctx.db, ws, days=days, today=now.date(), policies=ctx.policies)
    return renewals_reply_blocks(found, ctx.policies.currency, now)


def register(app: App, ctx: Context) -> None:
    slash_command(app, ctx, "/renewals", renewals_reply)
