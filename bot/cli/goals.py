"""`retention-bot kpis`: the owner matrix (capability, owner teams, KPIs, targets), and
`kpis target` / `kpis history` to set, clear and audit KPI targets (``services.goals``)."""

from __future__ import annotations

import getpass
import json

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from blocks import goals as goal_words
from bot import render
from bot.cli import Ctx, cli, out, pass_ctx
from services import goals
from services.errors import UnknownSegment
from services.scorecard import KPIS
from storage.periods import PERIOD_KINDS


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.pass_context
def kpis(click_ctx: click.Context, as_json: bool) -> None:
    """The owner matrix: each KPI's capability, owner teams, direction and the targets in force.

    Owners and policy-file targets come from [kpis.<key>] in the policy file; `kpis target` sets a
    target that replaces the file's for that KPI, period kind and segment.
    """
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: Ctx = click_ctx.obj
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
    goals.sync_policy_targets(ctx.db, ws, ctx.settings.policies, ctx.now)
    rows = goals.matrix(ctx.db, ws, policies=ctx.settings.policies, now=ctx.now)
    currency = ctx.settings.policies.currency
    if as_json:
        payload = [
            {
                "capability": r.capability,
                "kpi": r.key,
                "label": r.label,
                "unit": r.unit,
                "direction": r.direction,
                "owners": list(r.owners),
                "targets": [
                    {
                        "period": t.kind,
                        "segment": t.segment,
                        "value": format(t.target.value, "f"),  # plain digits, never an exponent
                        "source": t.target.source,
                        "set_by": t.target.by,
                        "set_at": None if t.target.at is None else t.target.at.isoformat(),
                    }
                    for t in r.targets
                ],
            }
            for r in rows
        ]
        click.echo(json.dumps(payload, indent=2))
        return
    table = Table(title="Who owns which KPI", title_justify="left")
    for name in ("capability", "KPI", "owner teams", "better", "targets"):
        table.add_column(name)
    last = None
    for r in rows:
        targets = "\n".join(goal_words.target_line(t, r.unit, currency, slack=False) for t in r.targets)
        table.add_row(
            "" if r.capability == last else escape(r.capability),
            f"{escape(r.label)} ({r.key})",
            ", ".join(r.owners),
            r.direction,
            escape(targets) or "—",
        )
        last = r.capability
    # Rich wraps cells that do not fit; a wide line is easier to read (and to grep) than a folded one.
    needed = Console(width=10_000).measure(table).maximum
    (out if needed <= out.width else Console(width=needed)).print(table)


@kpis.command("target")
@click.argument("kpi")
@click.argument("value")
@click.option(
    "--period",
    "periods",
    type=click.Choice(PERIOD_KINDS),
    multiple=True,
    help="The period kind (repeatable). Default: week, month and quarter.",
)
@click.option("--segment", help="Only for this segment (default: every segment).")
@pass_ctx
def target(ctx: Ctx, kpi: str, value: str, periods: tuple[str, ...], segment: str | None) -> None:
    """Set KPI's target to VALUE (110%, $50k, 30 days, 75), or clear it (VALUE = clear).

    Every change is kept with who and when (`retention-bot kpis history`).
    """
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
    try:
        update = goals.set_target(
            ctx.db,
            ws,
            kpi.lower().replace("-", "_"),
            None if value.lower() == "clear" else value,
            kinds=list(periods) or None,  # type: ignore[arg-type]
            segment=segment,
            by=_who(),
            now=ctx.now,
            policies=ctx.settings.policies,
        )
    except goals.TargetError as exc:
        raise click.ClickException(str(exc)) from None
    except UnknownSegment as refusal:
        raise click.ClickException(render.unknown_segment(refusal)) from None
    currency = ctx.settings.policies.currency
    if not update.changes:
        out.print(f"{update.label}: nothing changed, the target already was so", markup=False)
    for c in update.changes:
        out.print(goal_words.change_line(c, update.label, update.unit, currency, slack=False), markup=False)
    if update.value is None:  # after a clear, which target is in force
        out.print(f"{update.label}: {goal_words.after_clear(update, currency, slack=False)}", markup=False)


@kpis.command("history")
@click.option("--kpi", help="Only this KPI's changes.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@pass_ctx
def history(ctx: Ctx, kpi: str | None, limit: int) -> None:
    """Every target change, newest first: when, which target, old → new, by whom."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    currency = ctx.settings.policies.currency
    changes = goals.history(ctx.db, ws, kpi, limit)
    if not changes:
        out.print(
            "no target changes yet: `retention-bot kpis target nrr 110% --period quarter`", markup=False
        )
    for c in changes:
        label, unit, _ = KPIS.get(c.kpi, (c.kpi, "ratio", ()))
        out.print(goal_words.change_line(c, label, unit, currency, slack=False), markup=False)
