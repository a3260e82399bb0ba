"""`retention-bot renewals [--days 90] [--json]`: accounts renewing soon, worst first."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from blocks.format import money
from bot.cli import AS_OF, Ctx, cli, out, pass_ctx
from bot.cli.reports import print_wide
from services import renewals as renewals_mod
from services.errors import Refusal


def renewal_json(r: renewals_mod.Renewal) -> dict[str, Any]:
    return {
        "account": r.external_id,
        "name": r.name,
        "segment": r.segment,
        "renewal_on": r.renewal_on.isoformat(),
        "days_left": r.days_left,
        "arr": None if r.arr is None else str(r.arr),
        "risk_tier": r.tier,
        "health_score": r.score,
        "health_band": r.band,
        "csm": r.csm,
        "ae": r.ae,
        "open_plays": [
            {
                "id": p.play_id,
                "key": p.key,
                "title": p.title,
                "state": p.state,
                "due_at": p.due_at.isoformat() if p.due_at else None,
                "owner": p.owner,
            }
            for p in r.plays
        ],
    }


@cli.command("renewals")
@click.option("--days", type=int, default=90, show_default=True, help="How many days ahead (1–730).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@AS_OF
@pass_ctx
def renewals_cmd(ctx: Ctx, days: int, as_json: bool, as_of: Any) -> None:
    """Accounts renewing in the next N days with ARR, risk tier, health, open plays and owners, worst
    first (risk tier, then health, then ARR)."""
    try:
        renewals_mod.check_days(days)
    except Refusal as exc:
        raise click.BadParameter(str(exc), param_hint="--days") from None
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    policies = ctx.settings.policies
    today = as_of or ctx.now.date()
    found = renewals_mod.upcoming(ctx.db, ws, days=days, today=today, policies=policies)
    currency = policies.currency
    if as_json:
        payload = {
            "as_of": today.isoformat(),
            "days": days,
            "currency": currency,
            "arr_total": str(found.arr_total),
            "arr_high_risk": str(found.arr_at("high")),
            "accounts": [renewal_json(r) for r in found.rows],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    if not found.rows:
        out.print(f"no account renews in the next {days} days (as of {today})", markup=False)
        return
    table = Table(title=f"Renewals in the next {days} days (as of {today}), worst first")
    for column in ("account", "renews", "ARR", "risk", "health", "open plays", "owners"):
        table.add_column(column, justify="right" if column == "ARR" else "left")
    for r in found.rows:
        health = "n/a" if r.score is None else f"{r.score:.0f} {r.band}"
        plays = ", ".join(f"{p.key} ({p.owner or 'nobody'})" for p in r.plays) or "-"
        owners = ", ".join(f"{role} {name}" for role, name in (("CSM", r.csm), ("AE", r.ae)) if name) or "-"
        cells = (
            f"{r.name} ({r.external_id})",
            f"{r.renewal_on} ({r.days_left} d)",
            money(r.arr, currency),
            r.tier,
            health,
            plays,
            owners,
        )
        table.add_row(*(Text(cell) for cell in cells))  # data is never rich markup
    print_wide(table)
    out.print(
        f"{len(found.rows)} accounts, {money(found.arr_total, currency)} ARR; "
        f"{money(found.arr_at('high'), currency)} at high risk",
        markup=False,
    )
