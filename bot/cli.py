"""The `retention-bot` command line: database, import, demo data, scorecard, cohorts and health.

``main()`` builds the settings once, opens the database (migrating the SQLite default on start) and
passes both down; the clock is read here and nowhere in the logic.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from bot.settings import ConfigError, Settings, build_settings
from digests import format as fmt
from digests.scorecard import Kpi, Scorecard, build_scorecard
from storage import health as health_mod
from storage import metrics
from storage.accounts import AccountCard, account_card
from storage.db import Database, SchemaOutOfDate
from storage.demo import KIND_ORDER, DemoConfig, DemoData, write_files
from storage.errors import ImportFailed
from storage.importer import KINDS, import_file, import_records
from storage.lookup import find_account
from storage.periods import PERIOD_KINDS, Period, latest_complete_month
from storage.workspaces import ensure_workspace

logger = logging.getLogger(__name__)
out = Console()
err = Console(stderr=True)


@dataclass
class Ctx:
    settings: Settings
    db: Database
    now: dt.datetime

    def workspace(self, session: Any) -> int:
        return ensure_workspace(session, self.settings.workspace, now=self.now)


pass_ctx = click.make_pass_decorator(Ctx)


def demo_snapshot_days(as_of: dt.date) -> list[dt.date]:
    """As-of, 30 days before (trends, movers), and the last day of each scorecard period and its previous."""
    days = {as_of, as_of - dt.timedelta(days=30)}
    for kind in PERIOD_KINDS:
        period = Period.latest(kind, as_of)
        days.update((period.last_day, period.previous().last_day))
    return sorted(days)


def _date(_: Any, __: Any, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-23") from None


AS_OF = click.option(
    "--as-of", callback=_date, help="Date to report as of (YYYY-MM-DD, UTC). Default: today."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(click_ctx: click.Context) -> None:
    """retention-bot: customer retention and lifetime value as a goal every team owns together.

    Settings come from the environment (DATABASE_URL, RETENTION_BOT_CONFIG, RETENTION_BOT_WORKSPACE);
    the default database is the SQLite file retention_bot.db in the current directory.
    """
    if click_ctx.invoked_subcommand is None or "--help" in sys.argv or "-h" in sys.argv:
        return
    try:
        settings = build_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    db = Database(settings.database_url)
    click_ctx.call_on_close(db.dispose)
    if click_ctx.invoked_subcommand != "db":
        try:
            db.ensure_schema(auto_upgrade=db.is_sqlite)
        except SchemaOutOfDate as exc:
            raise click.ClickException(str(exc)) from None
    click_ctx.obj = Ctx(settings, db, dt.datetime.now(dt.UTC))


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


@cli.command("import")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt_", type=click.Choice(["csv", "jsonl"]), help="Default: from the file extension."
)
@pass_ctx
def import_cmd(ctx: Ctx, kind: str, file: Path, fmt_: str | None) -> None:
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
                session, ws, kind, file, fmt=fmt_, on_progress=on_progress, on_phase=on_phase
            )
    except ImportFailed as exc:
        for line in exc.lines():
            err.print(line, markup=False, highlight=False)
        raise click.ClickException(
            f"{file}: rejected with {exc.total} error(s); nothing was imported"
        ) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
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
@pass_ctx
def demo_data(
    ctx: Ctx,
    accounts: int,
    months: int,
    seed: int,
    usage_days: int,
    as_of: dt.date | None,
    out_dir: Path | None,
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
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
        # The days the scheduled snapshot job would have covered that scorecards and trends read.
        for day in demo_snapshot_days(cfg.as_of):
            health_mod.snapshot(session, ws, day, ctx.settings.policies.health)
    as_of_flag = "" if cfg.as_of == ctx.now.date() else f" --as-of {cfg.as_of}"
    out.print(
        f"demo data for {accounts:,} accounts loaded in {time.perf_counter() - started:.1f} s "
        f"(as of {cfg.as_of}, seed {seed}). Next: retention-bot scorecard{as_of_flag}, "
        f"retention-bot health ACC-000001, retention-bot cohorts"
    )


# --- scorecard, cohorts --------------------------------------------------------------------------


def _notes(k: Kpi) -> list[str]:
    notes = [k.current.reason] if k.current.reason else []
    detail = k.current.detail
    if detail.get("without_seat_data"):
        notes.append(f"{detail['without_seat_data']} paying accounts have no seat data and are left out")
    if detail.get("past_target_without_first_value"):
        notes.append(
            f"{detail['past_target_without_first_value']} accounts are past their first-value target "
            "without it"
        )
    return notes


def _scorecard_table(card: Scorecard) -> tuple[Table, list[str]]:
    seg = f", segment {card.segment}" if card.segment else ""
    table = Table(title=f"Shared scorecard — {card.period.label}{seg}", title_justify="left")
    for name, justify in (
        ("KPI", "left"),
        ("value", "right"),
        ("previous", "right"),
        ("change", "right"),
        ("owners", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name not in ("KPI", "owners"))  # type: ignore[arg-type]
    footnotes: list[str] = []
    for k in card.kpis:
        label = k.label
        for note in _notes(k):
            footnotes.append(note)
            label += f" [{len(footnotes)}]"
        table.add_row(
            label,
            fmt.value(k.current.value, k.unit, card.currency),
            fmt.value(k.previous.value, k.unit, card.currency),
            fmt.change(k.change, k.unit, card.currency),
            ", ".join(k.owners),
            end_section=False,
        )
    lines = [f"[{i}] {note}" for i, note in enumerate(footnotes, start=1)]
    lines.append(
        f"as of {card.as_of}; revenue KPIs use {card.period.revenue_month:%B %Y}, the latest complete month; "
        f"previous period: {card.previous.label}"
    )
    return table, lines


@cli.command()
@AS_OF
@click.option("--period", type=click.Choice(PERIOD_KINDS), default="week", show_default=True)
@click.option("--segment", help="Only accounts of this segment.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@pass_ctx
def scorecard(ctx: Ctx, as_of: dt.date | None, period: str, segment: str | None, as_json: bool) -> None:
    """The shared scorecard: each KPI, its previous-period value, the change and its owner teams."""
    with ctx.db.read() as session:
        ws = ctx.workspace(session)
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
        table, lines = _scorecard_table(card)
        out.print(table)
        for line in lines:
            out.print(line, markup=False, highlight=False)


@cli.command()
@AS_OF
@click.option("--segment", help="Only accounts of this segment.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def cohorts(ctx: Ctx, as_of: dt.date | None, segment: str | None, as_json: bool) -> None:
    """Logo and revenue retention by start quarter, at the end of each later quarter."""
    last = latest_complete_month(as_of or ctx.now.date())
    with ctx.db.read() as session:
        rows = metrics.cohorts(session, ctx.workspace(session), last, segment)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "as_of_month": last.strftime("%Y-%m"),
                    "cohorts": [
                        {
                            "quarter": c.quarter,
                            "size": c.size,
                            "start_mrr": str(metrics_money(c.start_mrr_cents)),
                            "points": [
                                {
                                    "month": p.quarter_end.strftime("%Y-%m"),
                                    "logo": round(p.logo, 6),
                                    "revenue": None if p.revenue is None else round(p.revenue, 6),
                                }
                                for p in c.points
                            ],
                        }
                        for c in rows
                    ],
                },
                indent=2,
            )
        )
        return
    width = max((len(c.points) for c in rows), default=0)
    table = Table(
        title=f"Cohort retention by start quarter (logo / revenue), through {last:%B %Y}",
        title_justify="left",
    )
    table.add_column("cohort")
    table.add_column("accounts", justify="right")
    for k in range(width):
        table.add_column(f"Q+{k}", justify="right")
    for c in rows:
        cells = [f"{fmt.percent(p.logo)} / {fmt.percent(p.revenue)}" for p in c.points]
        table.add_row(c.quarter, str(c.size), *cells)
    out.print(table)


def metrics_money(cents: int) -> Any:
    from storage.models import from_cents

    return from_cents(cents)


# --- health --------------------------------------------------------------------------------------


def _card_json(card: AccountCard, now: dt.datetime) -> dict[str, Any]:
    h = card.health
    return {
        "account": {
            "external_id": card.account.external_id,
            "name": card.account.name,
            "domain": card.account.domain,
            "segment": card.account.segment,
            "stage": card.stage,
            "renewal_on": _iso(card.account.renewal_on),
            "mrr": str(card.mrr),
            "arr": str(card.arr),
            "crm_url": card.account.crm_url,
        },
        "health": {
            "score": h.now.score,
            "band": h.now.band,
            "score_30_days_ago": h.then.score,
            "trend": h.trend,
            "components": {k: round(v, 1) for k, v in h.now.components.items()},
            "drivers": [{"component": d.component, "change": round(d.change, 1)} for d in h.drivers],
        },
        "owners": [o.__dict__ for o in card.owners],
        "open_handoffs": [
            {
                "id": x.external_id,
                "kind": x.kind,
                "from": x.from_team,
                "to": x.to_team,
                "owner": x.owner,
                "due_at": x.due_at.isoformat(),
                "state": x.state(now),
            }
            for x in card.handoffs
        ],
        "recent_wins": [
            {
                "won_on": w.won_on.isoformat(),
                "kind": w.kind,
                "text": w.text,
                "amount": None if w.amount is None else str(w.amount),
                "teams": w.teams,
                "people": w.people,
            }
            for w in card.wins
        ],
    }


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _print_card(card: AccountCard, now: dt.datetime, currency: str) -> None:
    h, a = card.health, card.account
    band = {"green": "green", "yellow": "yellow", "red": "red"}.get(h.now.band or "", "white")
    trend = "" if h.trend is None else f"  {fmt.arrow(h.trend)} {abs(h.trend):.1f} in 30 days"
    score = "n/a (no data for any component)" if h.now.score is None else f"{h.now.score:.0f} ({h.now.band})"
    out.print(f"[bold]{_esc(a.name)}[/bold]  {_esc(a.external_id)}  {_esc(a.domain or '')}")
    out.print(f"health [{band}]{score}[/{band}]{trend}")
    out.print(
        f"ARR {fmt.money(card.arr, currency)} · stage {card.stage} · segment {_esc(a.segment)}"
        + (f" · renews {a.renewal_on}" if a.renewal_on else "")
    )
    if h.drivers:
        out.print("why it moved: " + "; ".join(f"{d.component} {d.change:+.1f}" for d in h.drivers))
    if h.now.components:
        out.print("components: " + ", ".join(f"{k} {v:.0f}" for k, v in h.now.components.items()))
    if card.owners:
        out.print("owners: " + ", ".join(f"{o.team}: {_esc(o.name)}" for o in card.owners))
    for x in card.handoffs:
        out.print(
            f"handoff {_esc(x.external_id)} {x.kind} {x.from_team}→{x.to_team} "
            f"({_esc(x.owner or 'no owner')}): "
            f"{x.state(now)}"
        )
    for w in card.wins:
        out.print(f"win {w.won_on} {w.kind}: {_esc(w.text)} — {', '.join(w.teams)}")


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@cli.command()
@click.argument("account", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def health(ctx: Ctx, account: tuple[str, ...], as_json: bool) -> None:
    """Health of ACCOUNT (CRM id, domain, name, prefix; typos are forgiven)."""
    text = " ".join(account)
    with ctx.db.read() as session:
        ws = ctx.workspace(session)
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
            hint = (
                ("did you mean:\n" + "\n".join(lines))
                if lines
                else "try a CRM id, a domain or the start of the name"
            )
            raise click.ClickException(f"no account matches {text!r}; {hint}")
        card = account_card(session, ws, found.match.id, now=ctx.now, policy=ctx.settings.policies.health)
    if as_json:
        click.echo(json.dumps(_card_json(card, ctx.now), indent=2))
    else:
        _print_card(card, ctx.now, ctx.settings.policies.currency)


@cli.command("health-snapshot")
@click.option("--date", "day", callback=_date, help="Day to snapshot (default: today, UTC).")
@pass_ctx
def health_snapshot(ctx: Ctx, day: dt.date | None) -> None:
    """Score every account and store the day's health snapshot (re-running refreshes it)."""
    target = day or ctx.now.date()
    with ctx.db.write() as session:
        n = health_mod.snapshot(session, ctx.workspace(session), target, ctx.settings.policies.health)
    out.print(f"health snapshot for {target}: {n} accounts scored")


def main() -> None:
    cli(prog_name="retention-bot")
