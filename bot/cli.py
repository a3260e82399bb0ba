"""The `retention-bot` command line: database, import, demo data, scorecard, cohorts and health.

``main()`` builds the settings once, opens the database (migrating the SQLite default on start) and
passes both down; the clock is read here and nowhere in the logic.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from sqlalchemy.exc import OperationalError

from bot import render
from bot.settings import Settings, build_settings
from digests.scorecard import build_scorecard
from services.errors import ConfigError
from storage import deliveries as deliveries_mod
from storage import health as health_mod
from storage import metrics
from storage import subscriptions as subs
from storage.accounts import account_card
from storage.db import Database, SchemaOutOfDate, describe_url
from storage.demo import KIND_ORDER, DemoConfig, DemoData, write_files
from storage.errors import ImportFailed
from storage.importer import KINDS, import_file, import_records
from storage.lookup import find_account, segments
from storage.periods import PERIOD_KINDS, Period, latest_complete_month
from storage.readers import DEFAULT_ENCODING
from storage.workspaces import ensure_workspace, find_workspace

logger = logging.getLogger(__name__)
out = Console()
err = Console(stderr=True)


@dataclass
class Ctx:
    settings: Settings
    db: Database
    now: dt.datetime

    def workspace(self, session: Any) -> int:
        """The CLI's workspace for writing, created on first use."""
        return ensure_workspace(session, self.slug(session), now=self.now)

    def existing_workspace(self, session: Any) -> int:
        """The CLI's workspace for reading; an empty database says what to run instead of showing nothing."""
        ws = find_workspace(session, self.slug(session))
        if ws is None:
            raise click.ClickException(
                f"workspace {self.settings.workspace!r} has no data yet in {describe_url(self.db.url)}: "
                "load some with `retention-bot demo-data` or `retention-bot import KIND FILE` "
                "(see docs/import.md), or set DATABASE_URL to the database that has it"
            )
        return ws

    def slug(self, session: Any) -> str:
        """RETENTION_BOT_WORKSPACE; in OAuth mode it must name a Slack workspace (services.tenancy)."""
        from services.tenancy import configured_workspace

        try:
            return configured_workspace(self.settings.workspace, oauth=self.settings.oauth, session=session)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None


class SettingError(click.ClickException):
    """A setting that cannot work: exit status 2, like click's own errors in options."""

    exit_code = 2


def _database_error(db: Database, exc: OperationalError, doing: str) -> click.ClickException:
    """One line naming the database (which file, for the SQLite default) and the driver's reason."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return click.ClickException(f"{doing} {describe_url(db.url)} (DATABASE_URL): {reason}")


class _Commands(click.Group):
    """The command group: a database failure inside any command ends in one line naming the
    database, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OperationalError as exc:
            if not isinstance(ctx.obj, Ctx):
                raise
            raise _database_error(ctx.obj.db, exc, "database error in") from None


pass_ctx = click.make_pass_decorator(Ctx)


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
EARLIEST_DATE, LATEST_DATE = dt.date(1900, 1, 1), dt.date(9998, 12, 31)


def _date(_: Any, __: Any, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-23") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise click.BadParameter(
            f"{value} is out of range: give a date from {EARLIEST_DATE} to {LATEST_DATE}"
        )
    return day


AS_OF = click.option(
    "--as-of", callback=_date, help="Date to report as of (YYYY-MM-DD, UTC). Default: today."
)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="retention-bot", prog_name="retention-bot")
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
        raise SettingError(str(exc)) from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from bot.logs import redact_secrets

    redact_secrets(settings)  # no token, secret or response URL in any log line (bot.logs)
    for chatty in ("alembic", "apscheduler"):  # one line per migration step / per tick otherwise
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    db = Database(settings.database_url)
    click_ctx.call_on_close(db.dispose)
    try:
        if click_ctx.invoked_subcommand != "db":
            db.ensure_schema(auto_upgrade=db.is_sqlite)
        else:
            db.current_revision()  # fail here, clearly, if the database cannot be reached
    except SchemaOutOfDate as exc:
        raise click.ClickException(f"database {describe_url(db.url)}: {exc}") from None
    except OperationalError as exc:
        raise _database_error(db, exc, "cannot open the database") from None
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


# --- digest subscriptions -----------------------------------------------------------------------


def _channel(_: Any, __: Any, value: str) -> str:
    value = value.lstrip("#")
    if not re.fullmatch(r"[CG][A-Z0-9]{2,31}", value):
        raise click.BadParameter(
            f"{value!r} is not a Slack channel id like C0123ABCD (channel details → About)"
        )
    return value


@cli.group("subscriptions")
def subscriptions_cmd() -> None:
    """Weekly digest subscriptions: the same as /scorecard subscribe, subscriptions and unsubscribe."""


@subscriptions_cmd.command("list")
@pass_ctx
def subscriptions_list(ctx: Ctx) -> None:
    """The channels that get the weekly digest."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
        rows = subs.subscriptions(session, ws)
    if not rows:
        out.print("no channel gets the weekly digest yet: retention-bot subscriptions add CHANNEL_ID")
    for row in rows:
        out.print(f"{row.channel_id}  {subs.describe(row)}", markup=False, highlight=False)


@subscriptions_cmd.command("add")
@click.argument("channel", callback=_channel)
@click.argument("schedule", nargs=-1)
@pass_ctx
def subscriptions_add(ctx: Ctx, channel: str, schedule: tuple[str, ...]) -> None:
    """Subscribe CHANNEL (its id) to the weekly digest: [WEEKDAY] [HH:MM] [Area/City] [segment]
    in any order; default Monday 09:00 in the workspace's time zone. Changes an existing one."""
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
        try:
            parsed = subs.parse_schedule(list(schedule), segments(session, ws))
        except subs.SubscriptionError as exc:
            raise click.ClickException(str(exc)) from None
        row = subs.subscribe(session, ws, channel, parsed, by=None, now=ctx.now)
        out.print(f"{channel}: {subs.describe(row)}", markup=False, highlight=False)


@subscriptions_cmd.command("remove")
@click.argument("channel", callback=_channel)
@pass_ctx
def subscriptions_remove(ctx: Ctx, channel: str) -> None:
    """Stop CHANNEL's weekly digest."""
    with ctx.db.write() as session:
        gone = subs.unsubscribe(session, ctx.workspace(session), channel)
    if not gone:
        raise click.ClickException(f"{channel} has no digest subscription")
    out.print(f"{channel}: unsubscribed")


# --- digests ------------------------------------------------------------------------------------


@cli.group()
def digest() -> None:
    """The weekly scorecard digest."""


@digest.command("preview")
@click.option("--channel", help="A subscribed channel id: use its segment.")
@AS_OF
@click.option(
    "--json", "as_json", is_flag=True, help="Print the chat.postMessage arguments (message and thread)."
)
@pass_ctx
def digest_preview(ctx: Ctx, channel: str | None, as_of: dt.date | None, as_json: bool) -> None:
    """Print exactly what the digest would post: the message and its thread reply."""
    from digests.digest import DigestError, gather, render

    day = as_of or ctx.now.date()
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
        segment = None
        if channel is not None:
            found = [s for s in subs.subscriptions(session, ws) if s.channel_id == channel]
            if not found:
                raise click.ClickException(
                    f"{channel} has no digest subscription: retention-bot subscriptions list"
                )
            segment = found[0].segment
        context = gather(session, ws, as_of=day, now=ctx.now, policies=ctx.settings.policies, segment=segment)
    try:
        message = render(context, ctx.settings.digest_templates)
    except DigestError as exc:
        raise click.ClickException(str(exc)) from None
    target = channel or "CHANNEL_ID"
    if as_json:
        payload = {
            "message": message.post_args(target),
            "thread_reply": message.thread_args(target, "TS_OF_MESSAGE"),
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        click.echo(json.dumps(message.blocks, indent=2, ensure_ascii=False))
        click.echo(f"\n# fallback text: {message.text}\n# thread reply:")
        click.echo(json.dumps(message.thread_blocks, indent=2, ensure_ascii=False))
    for problem in message.problems:
        err.print(f"warning: Slack would reject this: {problem}", markup=False)
    if message.problems:
        raise click.ClickException("the digest breaks Slack's limits (see the warnings above)")


# --- the Slack app -------------------------------------------------------------------------------


@cli.command()
@click.option("--socket-mode", is_flag=True, help="Connect to Slack over Socket Mode (no public URL needed).")
@pass_ctx
def serve(ctx: Ctx, socket_mode: bool) -> None:
    """Run the Slack bot: HTTP (Events API, slash commands, interactivity, ingest API) or Socket Mode."""
    from bot.app import create_app
    from bot.server import make_wsgi
    from bot.server import serve as serve_http

    try:
        ctx.settings.check_slack(socket_mode=socket_mode)
        if ctx.settings.ingest_token is not None and not socket_mode:
            from services.tenancy import configured_workspace

            # the ingest API's workspace
            configured_workspace(ctx.settings.workspace, oauth=ctx.settings.oauth)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    settings = ctx.settings

    def app_database() -> Database:
        return Database(
            settings.database_url, pool_size=settings.server_threads, concurrency=settings.db_concurrency
        )

    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        app, services = create_app(ctx.settings, app_database())
        assert ctx.settings.slack_app_token is not None
        err.print("connecting to Slack over Socket Mode…")
        stop = _start_scheduler(ctx.settings, ctx.db)
        try:
            SocketModeHandler(app, ctx.settings.slack_app_token.get_secret_value()).start()
        finally:
            stop()
            services.answer.shutdown()
        return
    ctx.db.dispose()  # each server process opens its own connections (see bot.server.serve)

    def build_wsgi() -> Any:
        db = app_database()
        app, _ = create_app(settings, db)
        return make_wsgi(settings, db, app, lambda: dt.datetime.now(dt.UTC))

    def scheduler() -> Any:
        return _start_scheduler(settings, Database(settings.database_url, pool_size=4))

    err.print(
        f"retention-bot listening on http://{settings.host}:{settings.port} "
        "(Slack request URL: /slack/events, health: /healthz)"
        + (
            ""
            if settings.scheduler
            else "; scheduled work is off (SCHEDULER=false): run `retention-bot worker`"
        )
    )
    serve_http(settings, build_wsgi, scheduler)


def _start_scheduler(settings: Settings, db: Database) -> Any:
    """Run the scheduled work in a background thread (unless SCHEDULER=false); returns how to stop it."""
    if not settings.scheduler:
        return lambda: None
    from bot.scheduler import Worker

    sched = Worker(settings, db).scheduler(blocking=False)
    sched.start()
    return lambda: sched.shutdown(wait=False)


@cli.command()
@click.option("--once", is_flag=True, help="Run one tick (plan and deliver) and exit, instead of forever.")
@pass_ctx
def worker(ctx: Ctx, once: bool) -> None:
    """Run the scheduled work alone: daily health snapshots and win detection, shout-outs, and the
    weekly digests, delivered exactly once. For deployments that run `serve` with SCHEDULER=false.
    Any number of workers may run against one database."""
    from bot.scheduler import Worker

    try:
        ctx.settings.check_slack(worker=True)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    runner = Worker(ctx.settings, ctx.db)
    if once:
        planned, delivered = runner.tick()
        out.print(f"planned: {planned}\ndelivered: {delivered}", markup=False, highlight=False)
        return
    err.print(
        f"retention-bot worker: planning every {ctx.settings.tick_seconds}s, "
        f"delivering every {ctx.settings.deliver_seconds}s (Ctrl-C stops)"
    )
    try:
        runner.scheduler(blocking=True).start()
    except (KeyboardInterrupt, SystemExit):
        err.print("stopped")


# --- the delivery ledger --------------------------------------------------------------------------


@cli.group(invoke_without_command=True)
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--state", "states", multiple=True, type=click.Choice(deliveries_mod.STATES), help="Only these states."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def deliveries(click_ctx: click.Context, limit: int, states: tuple[str, ...], as_json: bool) -> None:
    """Recent messages the bot posted on its own (digests, thread replies, shout-outs, notices to
    admins): state, attempts, Slack ts and the last error, newest first."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: Ctx = click_ctx.obj
    with ctx.db.read() as session:
        rows = deliveries_mod.recent(session, ctx.existing_workspace(session), limit=limit, states=states)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "kind": r.kind,
                        "subject": r.subject,
                        "channel": r.channel_id,
                        "state": r.state,
                        "attempts": r.attempts,
                        "ts": r.slack_ts,
                        "last_error": r.last_error,
                        "updated_at": r.updated_at.isoformat(),
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    if not rows:
        out.print("nothing delivered yet")
        return
    for r in rows:  # one line each (grep-able), the last error indented under it
        line = (
            f"{r.id:>6}  {r.updated_at:%Y-%m-%d %H:%M:%S}  {r.state:<9} {r.kind:<13} {r.subject}  "
            f"→ {r.channel_id}  tries={r.attempts}" + (f"  ts={r.slack_ts}" if r.slack_ts else "")
        )
        out.print(line, markup=False, highlight=False, soft_wrap=True)
        if r.last_error:
            out.print(f"        {r.last_error}", markup=False, highlight=False, soft_wrap=True)


@deliveries.command("retry")
@click.argument("delivery_id", type=int)
@pass_ctx
def deliveries_retry(ctx: Ctx, delivery_id: int) -> None:
    """Send a failed or uncertain message (again). For an uncertain one, first check that Slack does not
    have it: the bot could not tell, so this is a person's decision."""
    with ctx.db.write() as session:
        row = deliveries_mod.retry(session, ctx.existing_workspace(session), delivery_id, ctx.now)
        if row is None:
            raise click.ClickException(
                f"delivery {delivery_id} is not failed or uncertain in this workspace "
                "(see `retention-bot deliveries`)"
            )
    out.print(f"delivery {delivery_id}: queued again; the next delivery run (worker or serve) sends it")


# --- handoff SLAs ---------------------------------------------------------------------------------


@cli.group("sla")
def sla_cmd() -> None:
    """Handoff SLA policies (from the policy file's [sla] section) and the sweep."""


@sla_cmd.command("policies")
@pass_ctx
def sla_policies(ctx: Ctx) -> None:
    """The SLA policies in force: duration and clock, warning point, escalation steps, snooze allowance."""
    config = ctx.settings.policies.sla
    if not config.policies:
        out.print(
            "no SLA policies: add [[sla.policies]] to the policy file (RETENTION_BOT_CONFIG); "
            "see docs/sla.md. Imported handoffs keep their own due times.",
            markup=False,
        )
    for p in config.policies:
        clock = "calendar hours"
        if p.clock == "business":
            cal = config.calendars[p.calendar]
            tz = "the owner's time zone" if cal.timezone == "owner" else cal.timezone
            clock = f"business hours ({p.calendar}: {', '.join(cal.weekdays)} {cal.hours} {tz}"
            clock += f", {len(cal.holidays)} holidays)" if cal.holidays else ")"
        steps = "; ".join(
            f"+{s.after_hours:g} h → {s.channel or config.escalation_channel if s.to == 'channel' else s.to}"
            for s in p.escalation
        )
        out.print(
            f"{p.key}: {p.from_team}→{p.to_team}, {p.hours:g} {clock}; warn at {p.warn_at:.0%}; "
            f"escalate if not acknowledged: {steps or 'never'}; snooze up to {p.max_snooze_hours:g} h",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    out.print(
        f"escalation channel: {config.escalation_channel or 'none (set [sla] escalation_channel)'}",
        markup=False,
    )


@sla_cmd.command("sweep")
@pass_ctx
def sla_sweep_cmd(ctx: Ctx) -> None:
    """Record the SLA warnings, breaches and escalations due now and queue their pings (the scheduler
    does this every minute; the outbox sends them)."""
    from digests.jobs import sla_sweep

    report = sla_sweep(ctx.db, ctx.now, ctx.settings)
    out.print(
        f"checked {report.checked}: {report.count('warning')} warnings, {report.count('breach')} breaches, "
        f"{report.count('escalation')} escalations recorded"
        + (f"; {report.handed_on} waiting pings queued" if report.handed_on else ""),
        soft_wrap=True,
    )
    for why, n in sorted(report.waiting.items()):
        out.print(
            f"{n} waiting for a recipient (sent once someone can be told): {why}",
            markup=False,
            soft_wrap=True,
        )


# --- shared wins ----------------------------------------------------------------------------------


@cli.group("wins")
def wins_cmd() -> None:
    """Shared-win shout-outs."""


@wins_cmd.command("channel")
@click.argument("channel", required=False)
@click.option("--off", is_flag=True, help="Stop shout-outs.")
@pass_ctx
def wins_channel(ctx: Ctx, channel: str | None, off: bool) -> None:
    """Show or set the channel (its id) where shared wins get a shout-out: /win and wins found in the data."""
    from digests.jobs import set_wins_channel
    from storage.models import Workspace

    with ctx.db.write() as session:
        ws = ctx.workspace(session)
        if off or channel:
            set_wins_channel(session, ws, None if off else _channel(None, None, channel or ""))
        current = session.get(Workspace, ws).wins_channel_id  # type: ignore[union-attr]
    out.print(f"shout-outs go to {current}" if current else "no wins channel: shout-outs are off")


def main() -> None:
    cli(prog_name="retention-bot")
