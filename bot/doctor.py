"""`retention-bot doctor`: check a set-up before it fails, each finding with its one-line fix.

Checks, in order: the settings, the database (reachable, which one, migrated), the Slack token
(``auth.test``), its scopes (auth.test's ``x-oauth-scopes`` header) against the manifest's, that the
bot is in every channel it posts to, people without Slack ids, the policy file and digest templates,
and the worker's last run. A check that fails blocks (the bot cannot work as set up: exit status 1);
a warning is worth fixing but does not. A check that needs what an earlier one found broken is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.oauth import BOT_SCOPES
from bot.settings import Settings, build_settings
from bot.tokens import NoToken, WorkspaceClients
from services.doctor import SetupFacts, setup_facts
from services.errors import ConfigError
from services.policies import load_policies
from services.tenancy import configured_workspace
from storage.db import Database, describe_url

Status = Literal["ok", "warn", "fail", "skip"]
WORKER_STALE = dt.timedelta(hours=26)  # the worker claims the daily jobs at least once a day
TEMPLATES = ("digest.json.j2", "digest_detail.json.j2", "shoutout.json.j2")


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, status: Status, detail: str, fix: str | None = None) -> None:
        self.checks.append(Check(name, status, detail, fix))

    @property
    def blocked(self) -> bool:
        return any(c.status == "fail" for c in self.checks)

    def as_json(self) -> dict[str, object]:
        return {"ok": not self.blocked, "checks": [asdict(c) for c in self.checks]}


def _slack_error(exc: SlackApiError) -> str:
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or f"HTTP {exc.response.status_code}")


def _settings(report: Report) -> Settings | None:
    try:
        settings = build_settings()
    except ConfigError as exc:
        message = str(exc)
        if "config file" not in message:
            report.add("settings", "fail", message, "fix that environment variable (docs/configuration.md)")
            return None
        # The policy file is broken: report it below, and check the rest without it.
        report.add("settings", "ok", "environment variables valid")
        report.add("policies", "fail", message, "fix the policy file (docs/configuration.md)")
        try:
            return build_settings(RETENTION_BOT_CONFIG=None)
        except ConfigError:
            return None
    report.add("settings", "ok", "environment variables valid")
    return settings


def _database(report: Report, settings: Settings) -> tuple[Database | None, bool]:
    """The database, and whether its schema is current (only then are its contents read)."""
    url = settings.database_url
    where = describe_url(url)
    parsed = make_url(url)
    file = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and file not in ("", ":memory:") and not Path(file).exists():
        report.add(
            "database",
            "warn",
            f"{where}: the file does not exist yet",
            "load data (`retention-bot demo-data` or `import`), or set DATABASE_URL to the database "
            "that has it",
        )
        return None, False
    db = Database(url)
    try:
        current, head = db.current_revision(), db.head_revision()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        report.add(
            "database",
            "fail",
            f"{where}: cannot connect ({reason})",
            "check DATABASE_URL and that the database server is running and reachable",
        )
        db.dispose()
        return None, False
    if current == head:
        report.add("database", "ok", f"{where}, schema at {head} (current)")
        return db, True
    elif db.is_sqlite:
        report.add(
            "database",
            "warn",
            f"{where}: schema at {current or 'nothing'}, the code needs {head}",
            "run `retention-bot db upgrade` (the next command on this SQLite file would do it too)",
        )
    else:
        report.add(
            "database",
            "fail",
            f"{where}: schema at {current or 'nothing'}, the code needs {head}",
            "run `retention-bot db upgrade`",
        )
    return db, False


def _client(settings: Settings, db: Database | None, ws: int | None) -> WebClient | None:
    if settings.oauth:
        if db is None or ws is None:
            return None
        try:
            return WorkspaceClients(settings, db)(ws)
        except NoToken:
            return None
    if settings.slack_bot_token is None:
        return None
    from bot.slack_api import make_client

    return make_client(settings, settings.slack_bot_token.get_secret_value(), outbox=True)


def _slack(
    report: Report, settings: Settings, db: Database | None, facts: SetupFacts | None
) -> WebClient | None:
    try:
        settings.check_slack(worker=True)
    except ConfigError as exc:
        report.add(
            "slack token", "fail", str(exc), "create the app from docs/slack-manifest.json (docs/slack.md)"
        )
        return None
    client = _client(settings, db, facts.workspace if facts else None)
    if client is None:
        report.add(
            "slack token",
            "fail",
            f"no installation of the app for workspace {settings.workspace!r}",
            "install the app through /slack/install, then set RETENTION_BOT_WORKSPACE to slack-<TEAM_ID>",
        )
        return None
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        report.add(
            "slack token",
            "fail",
            f"auth.test answered {_slack_error(exc)}",
            "the token is wrong or revoked: copy the Bot User OAuth Token (xoxb-…) again, "
            "or reinstall the app",
        )
        return None
    except OSError as exc:
        report.add(
            "slack token",
            "fail",
            f"cannot reach Slack at {settings.slack_api_url}: {exc}",
            "check the network",
        )
        return None
    report.add(
        "slack token",
        "ok",
        f"bot {answer.get('user_id')} in team {answer.get('team')} ({answer.get('team_id')})",
    )
    headers = {k.lower(): v for k, v in (answer.headers or {}).items()}
    granted = {s.strip() for s in str(headers.get("x-oauth-scopes", "")).split(",") if s.strip()}
    missing = [s for s in BOT_SCOPES if s not in granted]
    if "x-oauth-scopes" not in headers:
        report.add("slack scopes", "warn", "Slack did not say which scopes the token has", None)
    elif missing:
        report.add(
            "slack scopes",
            "fail",
            f"the token lacks {', '.join(missing)}",
            "add the scopes of docs/slack-manifest.json to the app (OAuth & Permissions) and reinstall it",
        )
    else:
        report.add("slack scopes", "ok", f"all {len(BOT_SCOPES)} scopes the app needs are granted")
    return client


def _membership(client: WebClient, channel: str) -> tuple[bool, str | None]:
    """(is the bot in the channel, the error when that could not be told). conversations.info needs
    channels:read, which the app does not ask for: without it, reading one message tells as well."""
    try:
        info = client.conversations_info(channel=channel)
        data = info.get("channel") or {}
        if data.get("is_archived"):
            return False, "is_archived"
        return bool(data.get("is_member")), None
    except SlackApiError as exc:
        if _slack_error(exc) != "missing_scope":
            return False, _slack_error(exc)
    try:
        client.conversations_history(channel=channel, limit=1)
        return True, None
    except SlackApiError as exc:
        error = _slack_error(exc)
        return False, None if error == "not_in_channel" else error


def _channels(report: Report, client: WebClient, facts: SetupFacts) -> None:
    if not facts.channels:
        report.add(
            "channels",
            "warn",
            "no channel gets the weekly digest or win shout-outs",
            "`retention-bot subscriptions add CHANNEL_ID` (or /scorecard subscribe in the channel)",
        )
        return
    for channel, what, paused in facts.channels:
        member, error = _membership(client, channel)
        name = f"channel {channel}"
        if error == "channel_not_found":
            report.add(
                name,
                "fail",
                f"{what}: the channel does not exist (or is private and the bot is not in it)",
                "invite the bot (`/invite @retention-bot`) or remove it: "
                f"`retention-bot subscriptions remove {channel}`",
            )
        elif error == "is_archived":
            report.add(
                name,
                "fail",
                f"{what}: the channel is archived",
                f"unarchive it or `retention-bot subscriptions remove {channel}`",
            )
        elif error is not None:
            report.add(name, "warn", f"{what}: could not check ({error})", None)
        elif not member:
            report.add(
                name,
                "fail",
                f"{what}: the bot is not a member",
                f"invite the bot: in channel {channel} type `/invite @retention-bot`",
            )
        elif paused:
            report.add(
                name,
                "warn",
                f"{what}: the bot is in it, but the digest is paused ({paused})",
                f"`retention-bot subscriptions add {channel}` resumes it",
            )
        else:
            report.add(name, "ok", f"{what}: the bot is a member")


def _people(report: Report, facts: SetupFacts) -> None:
    if facts.workspace is None:
        report.add(
            "data",
            "warn",
            "the workspace has no data yet",
            "`retention-bot demo-data --me YOUR-EMAIL` or `retention-bot import KIND FILE` (docs/import.md)",
        )
        return
    report.add("data", "ok", f"{facts.accounts:,} accounts, {facts.people:,} people")
    unlinked = facts.unlinked or []
    if facts.people == 0:
        report.add(
            "people",
            "warn",
            "no people imported: nobody's accounts or handoffs can be shown in Slack",
            "`retention-bot import people people.csv` (docs/import.md)",
        )
    elif unlinked:
        sample = ", ".join(unlinked[:3]) + (" …" if len(unlinked) > 3 else "")
        report.add(
            "people",
            "warn",
            f"{len(unlinked):,} of {facts.people:,} people have no Slack id ({sample})",
            "`retention-bot people link-slack` links them by e-mail "
            "(or add slack_user_id to the people file)",
        )
    else:
        report.add("people", "ok", f"all {facts.people:,} people have a Slack id")


def _policies(report: Report, settings: Settings) -> None:
    if not any(c.name == "policies" for c in report.checks):
        if settings.config_file is None:
            report.add("policies", "ok", "defaults (no RETENTION_BOT_CONFIG)")
        else:
            load_policies(settings.config_file)  # loaded with the settings already: valid
            report.add("policies", "ok", f"{settings.config_file} valid")
    if settings.digest_templates is None:
        report.add("templates", "ok", "the packaged digest templates")
        return
    from jinja2 import TemplateError

    from digests.templates import environment

    env = environment(settings.digest_templates)
    for name in TEMPLATES:
        try:
            env.get_template(name)
        except TemplateError as exc:
            report.add(
                "templates",
                "fail",
                f"{settings.digest_templates}/{name}: {exc}",
                "fix the template, or unset DIGEST_TEMPLATES to use the packaged ones",
            )
            return
    report.add("templates", "ok", f"{settings.digest_templates} parses")


def _worker(report: Report, facts: SetupFacts, now: dt.datetime) -> None:
    if facts.workspace is None:
        return
    if facts.last_job is None:
        report.add(
            "worker",
            "warn",
            "the worker has never run for this workspace",
            "run `retention-bot worker` (or `serve` with SCHEDULER=true); see docs/deploy.md",
        )
        return
    job, started = facts.last_job
    started = started if started.tzinfo else started.replace(tzinfo=dt.UTC)
    ago = now - started
    words = f"{int(ago.total_seconds() // 3600)} h ago" if ago >= dt.timedelta(hours=1) else "within the hour"
    if ago > WORKER_STALE:
        report.add(
            "worker",
            "warn",
            f"last run {started:%Y-%m-%d %H:%M} UTC ({job}), {words}",
            "is the worker running? `systemctl status retention-bot-worker` (docs/deploy.md)",
        )
    else:
        report.add("worker", "ok", f"last run {started:%Y-%m-%d %H:%M} UTC ({job}), {words}")


def diagnose(now: dt.datetime, settings_factory: Callable[[Report], Settings | None] = _settings) -> Report:
    report = Report()
    settings = settings_factory(report)
    if settings is None:
        report.add("database", "skip", "needs valid settings")
        return report
    db, current = _database(report, settings)
    facts: SetupFacts | None = None
    try:
        if db is not None and current:
            try:
                slug = configured_workspace(settings.workspace, oauth=settings.oauth)
            except ConfigError as exc:
                report.add("workspace", "fail", str(exc), "set RETENTION_BOT_WORKSPACE")
                slug = None
            if slug is not None:
                facts = setup_facts(db, slug)
        client = _slack(report, settings, db, facts)
        if client is not None and facts is not None and facts.workspace is not None:
            _channels(report, client, facts)
        if facts is not None:
            _people(report, facts)
        _policies(report, settings)
        if facts is not None:
            _worker(report, facts, now)
    finally:
        if db is not None:
            db.dispose()
    return report
