"""`retention-bot db`, `import` and `demo-data`: the database and what goes into it."""

from __future__ import annotations

import codecs
import datetime as dt
import time
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from bot.cli import (
    AS_OF,
    Ctx,
    cli,
    err,
    out,
    pass_ctx,
)
from services import health as health_mod
from storage.demo import KIND_ORDER, DemoConfig, DemoData, write_files
from storage.errors import ImportFailed
from storage.importer import KINDS, import_file, import_records
from storage.periods import PERIOD_KINDS, Period
from storage.readers import DEFAULT_ENCODING


def demo_snapshot_days(as_of: dt.date) -> list[dt.date]:
    """As-of, 30 days before (trends, movers), and the last day of each scorecard period and its previous."""
    days = {as_of, as_of - dt.timedelta(days=30)}
    for kind in PERIOD_KINDS:
        period = Period.latest(kind, as_of)
        days.update((period.last_day, period.previous().last_day))
    return sorted(days)


# Dates the reports can compute with: they reach years back (cohorts, trailing twelve months, demo
# history) and a little ahead (the day after, the next month), which Python's dates (years 1–9999) and
# the databases must hold.

# --- database ------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema: migrations ship with the package."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Ctx) -> None:
    """Apply every pending migration."""
    before = ctx.db.current_revision()
    ctx.db.upgrade()
    after = ctx.db.current_revision()
    out.print(
        f"schema at {after}" + (" (was up to date)" if before == after else f" (was {before or 'empty'})")
    )


@db.command("current")
@pass_ctx
def db_current(ctx: Ctx) -> None:
    """Show the schema revision of the database and of the code."""
    out.print(f"database: {ctx.db.current_revision() or 'empty'}; code: {ctx.db.head_revision()}")


# --- import --------------------------------------------------------------------------------------


def _import_progress(path: Path) -> tuple[Progress | None, Any, Any]:
    """A progress bar on a terminal for files large enough to wait for; then the merge phase by name."""
    if not err.is_terminal or path.stat().st_size < 5_000_000:
        return None, None, None
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = progress.add_task(f"reading {path.name}", total=path.stat().st_size)

    def on_phase(phase: str) -> None:
        progress.update(task, completed=path.stat().st_size, description=f"{path.name}: {phase}")

    return progress, lambda done: progress.update(task, completed=done), on_phase


class BadInput(click.ClickException):
    """Input the command refuses (a bad file, a bad record): exit status 2, as for a usage error."""

    exit_code = 2


def _encoding(_: Any, __: Any, value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {value!r}; try utf-8, cp1252 or latin-1") from None
    return value


KINDS_HELP = "\b\nKinds, in the order to import them:\n" + "\n".join(
    f"  {name:<12} {KINDS[name].summary}" for name in KIND_ORDER
)


@cli.command("import", epilog=KINDS_HELP)
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt_", type=click.Choice(["csv", "jsonl"]), help="Default: from the file extension."
)
@click.option(
    "--encoding",
    default=DEFAULT_ENCODING,
    callback=_encoding,
    help="The file's text encoding, e.g. cp1252 for a CSV saved by Excel on Windows. Default: UTF-8.",
)
@pass_ctx
def import_cmd(ctx: Ctx, kind: str, file: Path, fmt_: str | None, encoding: str) -> None:
    """Import FILE (CSV or JSON Lines) of KIND; all or nothing, and re-importing changes nothing.

    Columns of each kind: docs/import.md. Import people, then accounts, then the rest.
    """
    started = time.perf_counter()
    progress, on_progress, on_phase = _import_progress(file)
    try:
        if progress:
            progress.start()
        with ctx.db.write() as session:
            ws = ctx.workspace(session)
            result = import_file(
                session,
                ws,
                kind,
                file,
                fmt=fmt_,
                on_progress=on_progress,
                on_phase=on_phase,
                encoding=encoding,
            )
    except ImportFailed as exc:
        for line in exc.lines():
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        raise BadInput(f"{file}: rejected with {exc.total} error(s); nothing was imported") from None
    except ValueError as exc:  # the format cannot be told, the file is empty or not in its encoding
        raise BadInput(f"{exc}; nothing was imported") from None
    finally:
        if progress:
            progress.stop()
    took = time.perf_counter() - started
    out.print(
        f"{file}: {result.inserted:,} inserted, {result.updated:,} updated, {result.unchanged:,} unchanged "
        f"({result.total:,} {kind} records, {took:.1f} s)",
        markup=False,
        highlight=False,
    )


# --- demo data -----------------------------------------------------------------------------------


@cli.command("demo-data")
@click.option("--accounts", default=300, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option("--months", default=24, show_default=True, type=click.IntRange(2, 120))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--usage-days", default=60, show_default=True, type=click.IntRange(0, 730))
@AS_OF
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write importable files here instead of loading the database.",
)
@click.option(
    "--plays/--no-plays",
    default=True,
    show_default=True,
    help="Evaluate the play triggers as of the demo's day, so plays are open at once.",
)
@pass_ctx
def demo_data(
    ctx: Ctx,
    accounts: int,
    months: int,
    seed: int,
    usage_days: int,
    as_of: dt.date | None,
    out_dir: Path | None,
    plays: bool = True,
) -> None:
    """Make a realistic, deterministic demo dataset (same seed and as-of date → same data)."""
    cfg = DemoConfig(accounts, months, seed, as_of or ctx.now.date(), usage_days)
    data = DemoData(cfg)
    if out_dir is not None:
        for kind, path in write_files(data, out_dir).items():
            out.print(f"{kind:<12} {path}")
        out.print(f"import them in this order: {' '.join(KIND_ORDER)}")
        return
    started = time.perf_counter()
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
        for kind in KIND_ORDER:
            items = ((i, rec, None) for i, rec in enumerate(data.records(kind), start=1))
            result = import_records(session, ws, kind, items, source=f"demo {kind}")
            out.print(
                f"{kind:<12} {result.inserted:>9} inserted {result.updated:>7} updated "
                f"{result.unchanged:>9} unchanged"
            )
    # The days the scheduled snapshot job would have covered that scorecards and trends read.
    for day in demo_snapshot_days(cfg.as_of):
        health_mod.snapshot_day(ctx.db, ws, day, ctx.settings.policies.health)
    # The plays the data calls for as of the demo's day, so a new user sees plays open at once.
    from bot.scheduler import notify_plays
    from services import plays as plays_mod

    opened = (
        plays_mod.evaluate(
            ctx.db,
            ws,
            cfg.as_of,
            now=ctx.now,
            policies=ctx.settings.policies,
            notify=notify_plays(ctx.settings),
        )
        if plays
        else None
    )
    as_of_flag = "" if cfg.as_of == ctx.now.date() else f" --as-of {cfg.as_of}"
    out.print(
        f"demo data for {accounts:,} accounts loaded in {time.perf_counter() - started:.1f} s "
        f"(as of {cfg.as_of}, seed {seed}). Next: retention-bot scorecard{as_of_flag}, "
        f"retention-bot health ACC-000001, retention-bot cohorts, retention-bot plays report"
        + (f"; {opened.total_opened} plays opened ({_by_play(opened.opened)})" if opened else "")
    )


def _by_play(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.items() if n) or "no signals"
