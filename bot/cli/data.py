"""`retention-bot db`, `import` and `demo-data`: the database and what goes into it."""

from __future__ import annotations

import codecs
import datetime as dt
import re
import time
from collections.abc import Iterator
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
from bot.cli.progress import Bar, progress, shows_progress
from services import goals
from services import health as health_mod
from storage.column_map import BadColumnMap, date_fields_of, load_column_map
from storage.demo import KIND_ORDER, DemoConfig, DemoData, write_files
from storage.errors import ImportFailed
from storage.importer import KINDS, import_file, import_records
from storage.periods import PERIOD_KINDS, Period
from storage.readers import DEFAULT_ENCODING, RawRecord

# Up to this many accounts the demo also scores the end of each of the last 12 weeks, so the digest's
# health-band chart and the sparklines have no holes; a dataset at benchmark size keeps to the days the
# scorecards read (a week end of 50,000 accounts costs seconds and adds rows every figure would read).
WEEKLY_SNAPSHOTS_UP_TO = 5_000


def demo_snapshot_days(as_of: dt.date, *, weekly: bool = False) -> list[dt.date]:
    """As-of, 30 days before (trends, movers), and the last day of each scorecard period and its
    previous; with ``weekly``, also the last day of each of the 12 weeks the digest's chart shows."""
    days = {as_of, as_of - dt.timedelta(days=30)}
    for kind in PERIOD_KINDS:
        period = Period.latest(kind, as_of)
        days.update((period.last_day, period.previous().last_day))
    if weekly:
        last = Period.latest("week", as_of).last_day
        days.update(last - dt.timedelta(days=7 * k) for k in range(12))
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
    if not shows_progress(err) or path.stat().st_size < 5_000_000:
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
@click.option(
    "--map",
    "map_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A TOML file renaming the file's columns to the kind's fields, e.g. a CRM export's "
    '("Account ID" = "external_id"); see docs/import.md and docs/examples/*.map.toml.',
)
@pass_ctx
def import_cmd(
    ctx: Ctx, kind: str, file: Path, fmt_: str | None, encoding: str, map_file: Path | None
) -> None:
    """Import FILE (CSV or JSON Lines) of KIND; all or nothing, and re-importing changes nothing.

    Columns of each kind: docs/import.md. Import people, then accounts, then the rest.
    """
    column_map = None
    if map_file is not None:
        try:
            column_map = load_column_map(
                map_file, kind, KINDS[kind].fields, date_fields_of(KINDS[kind].model)
            )
        except BadColumnMap as exc:
            raise BadInput(f"{exc}; nothing was imported") from None
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
                column_map=column_map,
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
    if kind == "people":  # with a Slack token: people without a Slack id are looked up by e-mail
        from bot.cli.people import link_after_import

        link_after_import(ctx, ws)


# --- demo data -----------------------------------------------------------------------------------


def _me(value: str | None) -> str | None:
    """--me: an e-mail (any case) or a Slack user id."""
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"[UW][A-Z0-9]{2,31}", value):
        return value
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        return value.lower()
    raise click.BadParameter(f"{value!r} is neither an e-mail address nor a Slack user id like U0123ABCD")


def _counted(records: Iterator[tuple[int, dict[str, Any]]], bar: Bar, label: str) -> Iterator[RawRecord]:
    """The demo's records as the importer takes them, counted on the progress line."""
    for i, rec in records:
        if i % 10_000 == 0:
            bar.update(description=f"{label}, {i:,} records")
        yield i, rec, None


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
    "--me",
    callback=lambda _c, _p, value: _me(value),
    help="Your e-mail or Slack user id (U…): you own a portfolio, to try the bot in Slack with.",
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
    me: str | None,
    plays: bool = True,
) -> None:
    """Make a realistic, deterministic demo dataset (same seed and as-of date → same data).

    With --me, you are in the people list and own accounts in every health band and open handoffs
    (one overdue), so /health, /sla, /handoff list and App Home show them in Slack.
    """
    cfg = DemoConfig(accounts, months, seed, as_of or ctx.now.date(), usage_days)
    data = DemoData(cfg)
    if out_dir is not None and me is not None:
        raise click.UsageError("--me loads the database: leave out --out")
    if out_dir is not None:
        for kind, path in write_files(data, out_dir).items():
            out.print(f"{kind:<12} {path}")
        out.print(f"import them in this order: {' '.join(KIND_ORDER)}")
        return
    started = time.perf_counter()
    days = demo_snapshot_days(cfg.as_of, weekly=accounts <= WEEKLY_SNAPSHOTS_UP_TO)
    summary: list[str] = []
    with progress("demo data", total=len(KIND_ORDER) + len(days)) as bar:
        with ctx.db.write() as session:
            ws = ctx.workspace(session)
            for kind in KIND_ORDER:
                bar.update(description=f"demo data: {kind}")
                items = _counted(enumerate(data.records(kind), start=1), bar, f"demo data: {kind}")
                result = import_records(session, ws, kind, items, source=f"demo {kind}")
                bar.advance()
                summary.append(
                    f"{kind:<12} {result.inserted:>9} inserted {result.updated:>7} updated "
                    f"{result.unchanged:>9} unchanged"
                )
        # The days the scheduled snapshot job would have covered that scorecards and trends read.
        for day in days:
            bar.update(description=f"demo data: health snapshot of {day}")
            health_mod.snapshot_day(ctx.db, ws, day, ctx.settings.policies.health)
            bar.advance()
    for line in summary:  # after the progress bar, which would interleave with them on a terminal
        out.print(line)
    n = goals.seed_demo_targets(ctx.db, ws, policies=ctx.settings.policies, as_of=cfg.as_of, now=ctx.now)
    out.print(f"targets      {n:>9} set (some met, some missed: `retention-bot kpis`)")
    if me is not None:
        from bot.cli.people import give_portfolio

        give_portfolio(ctx, ws, me, cfg.as_of)
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
