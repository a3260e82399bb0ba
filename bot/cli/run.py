"""`retention-bot serve` and `worker`: the Slack app and the scheduler."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from bot.cli import (
    Ctx,
    cli,
    err,
    out,
    pass_ctx,
)
from bot.settings import Settings
from services.errors import ConfigError
from storage.db import Database

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
    from bot.scheduler import Worker, settle_heap

    sched = Worker(settings, db).scheduler(blocking=False)
    settle_heap()
    sched.start()
    return lambda: sched.shutdown(wait=False)


@cli.command()
@click.option("--once", is_flag=True, help="Run one tick (plan and deliver) and exit, instead of forever.")
@pass_ctx
def worker(ctx: Ctx, once: bool) -> None:
    """Run the scheduled work alone: daily health snapshots and win detection, shout-outs, and the
    weekly digests, delivered exactly once. For deployments that run `serve` with SCHEDULER=false.
    Any number of workers may run against one database."""
    from bot.scheduler import Worker, settle_heap

    try:
        ctx.settings.check_slack(worker=True)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    runner = Worker(ctx.settings, ctx.db)
    if once:
        planned, delivered = runner.tick()
        out.print(f"planned: {planned}\ndelivered: {delivered}", markup=False, highlight=False)
        synced = runner.last_sync
        if synced is not None:  # [sync] every is set and this interval's sync was not done yet
            done = f"{synced.report.rows:,} rows synced" if synced.report else f"failed: {synced.error}"
            out.print(f"warehouse sync {synced.subject}: {done}", markup=False, highlight=False)
        return
    err.print(
        f"retention-bot worker: planning every {ctx.settings.tick_seconds}s, "
        f"delivering every {ctx.settings.deliver_seconds}s (Ctrl-C stops)"
    )
    sched = runner.scheduler(blocking=True)
    settle_heap()
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        err.print("stopped")
