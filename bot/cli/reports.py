"""`retention-bot scorecard`, `cohorts`, `health` and `health-snapshot`."""

from __future__ import annotations

import datetime as dt
import json

import click
from rich.console import Console, RenderableType

from bot import render, render_cuts
from bot.cli import (
    AS_OF,
    TARGETS_AS_OF,
    Ctx,
    _date,
    cli,
    err,
    out,
    pass_ctx,
)
from bot.cli.progress import progress
from services import accounts, teams
from services import cuts as scorecard_cuts
from services import health as health_mod
from services import scorecard as scorecards
from services.errors import NoSingleAccount, UnknownSegment
from storage.periods import PERIOD_KINDS

# --- scorecard, cohorts --------------------------------------------------------------------------


def print_wide(renderable: RenderableType) -> None:
    """Print a table whole: rich squeezes and drops columns that do not fit the terminal (80 columns
    when piped), and a wide line is better than a KPI column with no names or a missing quarter."""
    needed = Console(width=10_000).measure(renderable).maximum
    (out if needed <= out.width else Console(width=needed)).print(renderable)


@cli.command()
@AS_OF
@click.option("--period", type=click.Choice(PERIOD_KINDS), default="week", show_default=True)
@click.option("--segment", help="Only accounts of this segment.")
@click.option("--team", help="One team's part: the KPIs it owns, its accounts' health, handoffs, wins.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--by",
    "by",
    type=click.Choice(scorecard_cuts.CUTS),
    help="One row per source, campaign, AE, CSM or segment: churn, NRR, GRR, TTV, first value on time.",
)
@TARGETS_AS_OF
@pass_ctx
def scorecard(
    ctx: Ctx,
    as_of: dt.date | None,
    period: str,
    segment: str | None,
    team: str | None,
    as_json: bool,
    targets_at: dt.datetime | None,
    by: str | None,
) -> None:
    """The shared scorecard: each KPI, its previous-period value, the change and its owner teams."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    if team is not None:
        _team_view(ctx, ws, team, as_of, period, segment, as_json)
        return
    if by is not None:
        if segment is not None:
            raise click.ClickException(
                "--by and --segment do not go together: --by segment cuts by every segment"
            )
        cut = scorecard_cuts.cut(
            ctx.db,
            ws,
            by=by,  # type: ignore[arg-type]
            as_of=as_of or ctx.now.date(),
            period=period,  # type: ignore[arg-type]
        )
        if as_json:
            click.echo(json.dumps(cut.to_json(), indent=2))
        else:
            print_wide(render_cuts.cut_table(cut))
            for line in render_cuts.cut_notes(cut):
                out.print(line, markup=False, highlight=False)
        return
    try:
        card = scorecards.scorecard(
            ctx.db,
            ws,
            as_of=as_of or ctx.now.date(),
            period=period,  # type: ignore[arg-type]
            policies=ctx.settings.policies,
            segment=segment,
            targets_at=targets_at,
        )
    except UnknownSegment as refusal:
        raise click.ClickException(render.unknown_segment(refusal)) from None
    if as_json:
        click.echo(json.dumps(card.to_json(), indent=2))
    else:
        print_wide(render.scorecard(card))


def _team_view(
    ctx: Ctx, ws: int, team: str, as_of: dt.date | None, period: str, segment: str | None, as_json: bool
) -> None:
    try:
        view = teams.team_view(
            ctx.db,
            ws,
            team,
            as_of=as_of or ctx.now.date(),
            period=period,  # type: ignore[arg-type]
            policies=ctx.settings.policies,
            now=ctx.now,
            segment=segment,
        )
    except UnknownSegment as refusal:
        raise click.ClickException(render.unknown_segment(refusal)) from None
    except teams.UnknownTeam as refusal:
        raise click.ClickException(str(refusal)) from None
    if as_json:
        click.echo(json.dumps(teams.team_json(view, ctx.now), indent=2))
    else:
        print_wide(render.team_view(view, ctx.now))


@cli.command()
@AS_OF
@click.option("--segment", help="Only accounts of this segment.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def cohorts(ctx: Ctx, as_of: dt.date | None, segment: str | None, as_json: bool) -> None:
    """Logo and revenue retention by start quarter, at the end of each later quarter."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    try:
        report = scorecards.cohorts(ctx.db, ws, as_of=as_of or ctx.now.date(), segment=segment)
    except UnknownSegment as refusal:
        raise click.ClickException(render.unknown_segment(refusal)) from None
    last, rows = report.last_month, report.cohorts
    if as_json:
        payload = {"as_of_month": last.strftime("%Y-%m"), "cohorts": [c.to_json() for c in rows]}
        click.echo(json.dumps(payload, indent=2))
    else:
        print_wide(render.cohorts(rows, last))


# --- health --------------------------------------------------------------------------------------


@cli.command()
@click.argument("account", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def health(ctx: Ctx, account: tuple[str, ...], as_json: bool) -> None:
    """Health of ACCOUNT (CRM id, domain, name, prefix; typos are forgiven)."""
    text = " ".join(account)
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    try:
        card = accounts.card(ctx.db, ws, text, now=ctx.now, policy=ctx.settings.policies.health)
    except NoSingleAccount as refusal:
        raise click.ClickException(render.no_single_account(refusal)) from None
    if card.typo_of is not None:  # on stderr: --json output stays one JSON document
        a = card.account
        err.print(
            f"{text!r} is not an account name: showing the closest, {a.name} ({a.external_id})",
            markup=False,
            highlight=False,
        )
    if as_json:
        click.echo(json.dumps(render.health_json(card, ctx.now), indent=2))
    else:
        out.print(render.health_card(card, ctx.now, ctx.settings.policies.currency))


@cli.command("health-snapshot")
@click.option("--date", "day", callback=_date, help="Day to snapshot (default: today, UTC).")
@pass_ctx
def health_snapshot(ctx: Ctx, day: dt.date | None) -> None:
    """Score every customer (won by the day, not churned) and store the day's health snapshot
    (re-running refreshes it)."""
    target = day or ctx.now.date()
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
    with progress(f"scoring every account for {target}"):
        n = health_mod.snapshot_day(ctx.db, ws, target, ctx.settings.policies.health)
    out.print(f"health snapshot for {target}: {n} accounts scored")
