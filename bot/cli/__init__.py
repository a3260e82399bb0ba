"""The `retention-bot` command line: database, import, demo data, scorecard, cohorts and health.

``main()`` builds the settings once, opens the database (migrating the SQLite default on start) and
passes both down; the clock is read here and nowhere in the logic.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console
from sqlalchemy.exc import OperationalError

from bot.settings import Settings, build_settings
from services.errors import ConfigError
from storage.db import Database, SchemaOutOfDate, describe_url
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


def _moment(_: Any, __: Any, value: str | None) -> dt.datetime | None:
    """An ISO date or date and time; UTC unless it names its offset."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time like 2026-11-23T09:00 (UTC) or a date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


TARGETS_AS_OF = click.option(
    "--targets-as-of",
    "targets_at",
    callback=_moment,
    help="Show the KPI targets in force at this time (ISO date or time, UTC), as a scorecard built "
    "then showed them. Default: the targets in force now.",
)

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
    if click_ctx.invoked_subcommand == "doctor":  # it checks the settings and the database itself
        return
    try:
        settings = build_settings()
    except ConfigError as exc:
        raise SettingError(str(exc)) from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from bot.logs import redact_secrets, use_json_lines

    redact_secrets(settings)  # no token, secret or response URL in any log line (bot.logs)
    if settings.log_format == "json":
        use_json_lines()
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


def _channel(_: Any, __: Any, value: str) -> str:
    value = value.lstrip("#")
    if not re.fullmatch(r"[CG][A-Z0-9]{2,31}", value):
        raise click.BadParameter(
            f"{value!r} is not a Slack channel id like C0123ABCD (channel details → About)"
        )
    return value


def main() -> None:
    cli(prog_name="retention-bot")


# The command groups register themselves on ``cli`` when imported.
from bot.cli import admin, data, doctor, feedback, goals, people, plays, renewals, reports, run, sla  # noqa: E402
from bot.cli import sync as sync_cli  # noqa: E402

__all__ = [
    "admin",
    "cli",
    "data",
    "doctor",
    "feedback",
    "goals",
    "main",
    "people",
    "plays",
    "renewals",
    "reports",
    "run",
    "sla",
    "sync_cli",
]
