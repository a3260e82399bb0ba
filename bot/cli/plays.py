"""`retention-bot plays list`, `plays evaluate` and `plays report` (docs/plays.md)."""

from __future__ import annotations

import datetime as dt
import json

import click
from rich.table import Table

from blocks.format import money, percent, plural
from bot.cli import AS_OF, Ctx, cli, out, pass_ctx
from bot.cli.reports import print_wide
from services import plays as plays_mod
from services.policies import PlayDef, Policies
from storage.periods import PERIOD_KINDS


@cli.group("plays")
def plays_cmd() -> None:
    """Signal-driven plays: the definitions in force, the daily evaluation, and what they achieved."""


def _due(play: PlayDef, policies: Policies) -> str:
    hours = f"{play.due_hours:g} h"
    if play.clock == "business":
        cal = policies.play_calendar(play)
        assert cal is not None  # validated with the policies
        return f"{hours} business ({play.calendar}: {', '.join(cal.weekdays)} {cal.hours})"
    return hours


def describe(play: PlayDef, policies: Policies) -> list[str]:
    """A play definition as lines of text (the CLI and the docs' example print the same)."""
    if play.trigger:
        params = play.settings.model_dump()
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        trigger = f"{play.trigger} ({shown})"
    else:
        trigger = "by hand only"
    lines = [
        f"{play.key}: {play.title}{'' if play.enabled else ' [disabled]'}",
        f"  trigger: {trigger}; motion: {play.kind}",
        f"  owner: {play.owner} (else the team's manager, else "
        f"{policies.play_settings.fallback_channel or 'nobody: set [play_settings] fallback_channel'})",
        f"  due in: {_due(play, policies)}; cooldown: {play.cooldown_days} days after closing",
        f"  segments: {', '.join(play.segments) or 'all'}",
    ]
    if play.runbook_url:
        lines.append(f"  runbook: {play.runbook_url}")
    lines += [f"  {n}. {step}" for n, step in enumerate(play.steps, 1)]
    return lines


@plays_cmd.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the definitions as JSON.")
@pass_ctx
def plays_list(ctx: Ctx, as_json: bool) -> None:
    """The play definitions in force (the policy file's [[plays]], or the shipped defaults)."""
    policies = ctx.settings.policies
    if as_json:
        payload = [
            {
                **p.model_dump(mode="json"),
                "params": p.settings.model_dump() if p.trigger else {},
                "motion": p.kind,
            }
            for p in policies.plays
        ]
        click.echo(json.dumps(payload, indent=2))
        return
    if not policies.plays:
        out.print(
            "no plays: add [[plays]] to the policy file (RETENTION_BOT_CONFIG); see docs/plays.md",
            markup=False,
        )
    for play in policies.plays:
        for line in describe(play, policies):
            out.print(line, markup=False, highlight=False, soft_wrap=True)


@plays_cmd.command("evaluate")
@AS_OF
@pass_ctx
def plays_evaluate(ctx: Ctx, as_of: dt.date | None) -> None:
    """Evaluate every trigger as of a day (default: yesterday, as the worker does each day) and open
    the plays it calls for. Safe to repeat: a play open already, or in its cooldown, is not opened again."""
    from bot.scheduler import notify_plays

    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    day = as_of or (ctx.now - dt.timedelta(days=1)).date()
    result = plays_mod.evaluate(
        ctx.db, ws, day, now=ctx.now, policies=ctx.settings.policies, notify=notify_plays(ctx.settings)
    )
    for key in result.fired:
        out.print(
            f"{key}: {plural(result.fired[key], 'signal')}, {plural(result.opened[key], 'play')} opened",
            markup=False,
        )
    out.print(
        f"as of {day}: {plural(result.total_opened, 'play')} opened, {plural(result.queued, 'message')} "
        f"queued, {plural(result.woke, 'snoozed play')} back",
        markup=False,
    )


def _rate(value: float | None) -> str:
    return "n/a" if value is None else percent(value)


@plays_cmd.command("report")
@AS_OF
@click.option("--period", type=click.Choice(PERIOD_KINDS), default="quarter", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@pass_ctx
def plays_report(ctx: Ctx, as_of: dt.date | None, period: str, as_json: bool) -> None:
    """What each play achieved in the latest complete period: opened, closed and how, save rate, ARR
    saved and expanded (METRICS.md "Play outcomes"), and churn risk coverage."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    policies = ctx.settings.policies
    rep = plays_mod.report(ctx.db, ws, period, as_of or ctx.now.date(), policies)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps(rep.to_json(policies.currency), indent=2))
        return
    cur = policies.currency
    table = Table(title=f"Plays, {rep.period.label} (as of {rep.as_of})")
    for name in (
        "play",
        "opened",
        "closed",
        "saved",
        "expanded",
        "churned",
        "no action",
        "save rate",
        "ARR saved",
        "ARR expanded",
    ):
        table.add_column(name, justify="left" if name == "play" else "right")
    for title, line in rep.lines:
        table.add_row(
            f"{title} ({line.play_key})",
            str(line.opened),
            str(line.closed),
            str(line.saved) + (f" (+{line.saves_pending} pending)" if line.saves_pending else ""),
            str(line.expanded),
            str(line.churned),
            str(line.no_action),
            _rate(line.save_rate),
            money(line.arr_saved, cur),
            money(line.arr_expanded, cur),
        )
    print_wide(table)
    if rep.in_progress is not None:
        current, opened, closed = rep.in_progress
        out.print(
            f"{current.label} so far ({current.start} to {rep.as_of}): {opened} plays opened, "
            f"{closed} closed — in the table once the {current.kind} is complete "
            f"(`retention-bot plays report --as-of {current.end}`)",
            markup=False,
            highlight=False,
        )
    for label, cov, day in (
        ("at the period's end", rep.coverage_end, rep.period.last_day),
        ("as of", rep.coverage_now, rep.as_of),
    ):
        why = " (no account at risk)" if cov.value is None else ""
        out.print(
            f"churn risk coverage {label} {day}: {_rate(cov.value)}{why} — {cov.covered} of {cov.at_risk} "
            "at-risk paying accounts have an owned open play",
            markup=False,
            highlight=False,
        )
