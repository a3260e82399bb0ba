"""`retention-bot doctor`: check the set-up, each finding with its fix (``bot/doctor.py``)."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from bot.cli import cli, out
from bot.doctor import diagnose

MARKS = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]", "skip": "[dim]-[/]"}


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def doctor(as_json: bool) -> None:
    """Check settings, database, Slack token and scopes, channels, people, policies and the worker.

    Exit status 1 when something blocks the bot; warnings alone exit 0.
    """
    report = diagnose(dt.datetime.now(dt.UTC))
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        width = max(len(c.name) for c in report.checks)
        for check in report.checks:
            out.print(f"{MARKS[check.status]} {check.name:<{width}}  ", end="")
            out.print(check.detail, markup=False, highlight=False)
            if check.fix and check.status in ("fail", "warn"):
                out.print(" " * (width + 4) + "fix: ", end="", style="dim")
                out.print(check.fix, markup=False, highlight=False)
        fails = sum(c.status == "fail" for c in report.checks)
        warns = sum(c.status == "warn" for c in report.checks)
        if fails:
            out.print(f"[red]{fails} problem(s) block the bot[/], {warns} warning(s)")
        else:
            out.print(f"[green]ready[/]{f', {warns} warning(s)' if warns else ''}")
    sys.exit(1 if report.blocked else 0)
