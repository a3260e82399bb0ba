"""`retention-bot scorecard`, `cohorts`, `health` and `health-snapshot`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from rich.console import Console

from bot import render
from bot.cli import (
    AS_OF,
    Ctx,
    _date,
    cli,
    err,
    out,
    pass_ctx,
)
from digests.scorecard import build_scorecard
from storage import health as health_mod
from storage import metrics
from storage.accounts import account_card
from storage.lookup import find_account, segments
from storage.periods import PERIOD_KINDS, latest_complete_month

# --- scorecard, cohorts --------------------------------------------------------------------------


def _check_segment(session: Any, ws: int, segment: str | None) -> None:
    if segment is None:
        return
    known = segments(session, ws)
    if segment not in known:
        listed = ", ".join(known) or "none yet"
        raise click.ClickException(f"no account is in segment {segment!r}; the segments are: {listed}")


@cli.command()
@AS_OF
@click.option("--period", type=click.Choice(PERIOD_KINDS), default="week", show_default=True)
@click.option("--segment", help="Only accounts of this segment.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@pass_ctx
def scorecard(ctx: Ctx, as_of: dt.date | None, period: str, segment: str | None, as_json: bool) -> None:
    """The shared scorecard: each KPI, its previous-period value, the change and its owner teams."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
        _check_segment(session, ws, segment)
        card = build_scorecard(
            session,
            ws,
            as_of=as_of or ctx.now.date(),
            period_kind=period,  # type: ignore[arg-type]
            policies=ctx.settings.policies,
            segment=segment,
        )
    if as_json:
        click.echo(json.dumps(card.to_json(), indent=2))
    else:
        out.print(render.scorecard(card))


@cli.command()
@AS_OF
@click.option("--segment", help="Only accounts of this segment.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def cohorts(ctx: Ctx, as_of: dt.date | None, segment: str | None, as_json: bool) -> None:
    """Logo and revenue retention by start quarter, at the end of each later quarter."""
    last = latest_complete_month(as_of or ctx.now.date())
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
        _check_segment(session, ws, segment)
        rows = metrics.cohorts(session, ws, last, segment)
    if as_json:
        payload = {"as_of_month": last.strftime("%Y-%m"), "cohorts": [c.to_json() for c in rows]}
        click.echo(json.dumps(payload, indent=2))
    else:
        tables = render.cohorts(rows, last)
        # Rich drops columns that do not fit; a wide line is better than a missing quarter.
        needed = Console(width=10_000).measure(tables).maximum
        (out if needed <= out.width else Console(width=needed)).print(tables)


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
        found = find_account(session, ws, text)
        if found.match is None:
            options = found.candidates or found.suggestions
            lines = [
                f"  {c.external_id}  {c.name}" + (f"  ({c.domain})" if c.domain else "") for c in options
            ]
            if found.candidates:
                raise click.ClickException(
                    f"{text!r} matches several accounts; name one:\n" + "\n".join(lines)
                )
            if found.more:
                lines.append(f"  …and {found.more} more: type more of the name")
            hint = (
                ("did you mean:\n" + "\n".join(lines))
                if lines
                else "try a CRM id, a domain or the start of the name"
            )
            raise click.ClickException(f"no account matches {text!r}; {hint}")
        if found.guessed:  # on stderr: --json output stays one JSON document
            m = found.match
            err.print(
                f"{text!r} is not an account name: showing the closest, {m.name} ({m.external_id})",
                markup=False,
                highlight=False,
            )
        card = account_card(session, ws, found.match.id, now=ctx.now, policy=ctx.settings.policies.health)
    if as_json:
        click.echo(json.dumps(card.to_json(ctx.now), indent=2))
    else:
        out.print(render.health_card(card, ctx.now, ctx.settings.policies.currency))


@cli.command("health-snapshot")
@click.option("--date", "day", callback=_date, help="Day to snapshot (default: today, UTC).")
@pass_ctx
def health_snapshot(ctx: Ctx, day: dt.date | None) -> None:
    """Score every account and store the day's health snapshot (re-running refreshes it)."""
    target = day or ctx.now.date()
    with ctx.db.write() as session:
        n = health_mod.snapshot(session, ctx.workspace(session), target, ctx.settings.policies.health)
    out.print(f"health snapshot for {target}: {n} accounts scored")
