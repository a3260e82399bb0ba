"""`retention-bot feedback top | themes | status | merge | suggest | from-nps | notify`: the customer
feedback loop from the command line (docs/feedback.md). The operator running the CLI acts as an admin."""

from __future__ import annotations

import json

import click

from blocks.format import money
from bot.cli import Ctx, cli, out, pass_ctx
from services import feedback as fb
from services.errors import UnknownSegment
from storage.feedback import KINDS, STATUSES

CLI = "cli"  # who the theme history records for changes made here


@cli.group("feedback")
def feedback_cmd() -> None:
    """Customer feedback: themes ranked by what is at stake, curation, NPS comments."""


def _fail(exc: Exception) -> click.ClickException:
    if isinstance(exc, fb.UnknownTheme):
        close = ", ".join(s.name for s in exc.suggestions)
        return click.ClickException(
            f"there is no theme {exc.name!r}"
            + (f"; closest: {close}" if close else "; `feedback themes` lists them")
        )
    return click.ClickException(str(exc))


@feedback_cmd.command("top")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind of feedback.")
@click.option("--segment", help="Only accounts in this segment.")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
@pass_ctx
def top_cmd(ctx: Ctx, kind: str | None, segment: str | None, limit: int, as_json: bool) -> None:
    """Open themes ranked by ARR at risk among the accounts asking, then ARR, then accounts."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    try:
        found = fb.top(ctx.db, ws, now=ctx.now, kind=kind, segment=segment, limit=limit)
    except UnknownSegment as refusal:
        raise click.ClickException(
            f"no account is in segment {refusal.segment!r}; segments: {', '.join(refusal.known) or 'none'}"
        ) from None
    if as_json:
        payload = {
            "as_of": ctx.now.isoformat(),
            "kind": found.kind,
            "segment": found.segment,
            "themes": [
                {
                    "theme": t.name,
                    "status": t.status,
                    "accounts": t.accounts,
                    "items": t.items,
                    "arr": str(t.arr),
                    "arr_at_risk": str(t.arr_at_risk),
                    "accounts_at_risk": t.accounts_at_risk,
                    "renewals_90d": t.renewals_90d,
                    "items_last_4w": t.last_4w,
                    "items_prior_4w": t.prior_4w,
                }
                for t in found.themes
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    if not found.themes:
        out.print("no open theme has feedback yet", markup=False)
    currency = ctx.settings.policies.currency
    for n, t in enumerate(found.themes, 1):
        out.print(
            f"{n}. {t.name} ({t.status}): {t.accounts} accounts, ARR {money(t.arr, currency)}, "
            f"at risk {money(t.arr_at_risk, currency)} ({t.accounts_at_risk} accounts), "
            f"{t.renewals_90d} renewing in 90 days; "
            f"{t.last_4w} items in the last 4 weeks, {t.prior_4w} the 4 before",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@feedback_cmd.command("themes")
@pass_ctx
def themes_cmd(ctx: Ctx) -> None:
    """The themes with their status and counts (the policy file's themes are created first)."""
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
    fb.ensure_policy_themes(ctx.db, ws, ctx.settings.policies.feedback, ctx.now)
    rows, untriaged = fb.theme_list(ctx.db, ws)
    for r in rows:
        out.print(f"{r.name}: {r.status}, {r.items} items from {r.accounts} accounts", markup=False)
    out.print(f"{len(rows)} themes; {untriaged} items without a theme", markup=False)


@feedback_cmd.command("status")
@click.argument("theme")
@click.argument("status", type=click.Choice(STATUSES))
@pass_ctx
def status_cmd(ctx: Ctx, theme: str, status: str) -> None:
    """Set a theme's status; `shipped` tells the owners of the accounts that asked (now, and once)."""
    from digests.feedback import queue_shipped_notices

    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    try:
        found, before = fb.set_status(
            ctx.db,
            ws,
            theme,
            status,
            by=CLI,
            admins={CLI},
            policy=ctx.settings.policies.feedback,
            now=ctx.now,
        )
    except (fb.FeedbackError, fb.UnknownTheme) as exc:
        raise _fail(exc) from None
    if before is None:
        out.print(f"{found.name} is already {found.status}", markup=False)
        return
    out.print(f"{found.name}: {before} → {found.status}", markup=False)
    if found.status == "shipped":
        queued = queue_shipped_notices(ctx.db, ws, ctx.now)
        out.print(f"{queued} owner messages queued (the outbox sends them)", markup=False)


@feedback_cmd.command("merge")
@click.argument("source")
@click.argument("target")
@pass_ctx
def merge_cmd(ctx: Ctx, source: str, target: str) -> None:
    """Merge theme SOURCE into TARGET: every item moves; SOURCE's name leads to TARGET."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    try:
        src, dst, moved = fb.merge_themes(
            ctx.db,
            ws,
            source,
            target,
            by=CLI,
            admins={CLI},
            policy=ctx.settings.policies.feedback,
            now=ctx.now,
        )
    except (fb.FeedbackError, fb.UnknownTheme) as exc:
        raise _fail(exc) from None
    out.print(f"merged {src.name} into {dst.name}: {moved} items moved", markup=False)


@feedback_cmd.command("suggest")
@click.argument("text")
@pass_ctx
def suggest_cmd(ctx: Ctx, text: str) -> None:
    """The themes closest to TEXT, as the capture dialog offers them."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    for s in fb.suggest(ctx.db, ws, text):
        out.print(f"{s.score:5.1f}  {s.name} ({s.status})", markup=False)


@feedback_cmd.command("from-nps")
@click.option(
    "--max-score", type=click.IntRange(0, 10), default=10, show_default=True, help="Only scores up to this."
)
@pass_ctx
def from_nps_cmd(ctx: Ctx, max_score: int) -> None:
    """Turn NPS comments into feedback items, once each (detractors' and passives' as pains,
    promoters' as praise; the theme when one clearly fits)."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    added = fb.from_nps(ctx.db, ws, now=ctx.now, max_score=max_score)
    out.print(f"{added} NPS comments turned into feedback", markup=False)
