"""`retention-bot people link-slack` (and the link after `import people`): the people list's Slack users."""

from __future__ import annotations

import datetime as dt

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from bot.cli import Ctx, cli, err, out, pass_ctx
from bot.identity import USERS_LIST_PACE, SlackDirectory, SlackLookupError, client_for, link_all, link_emails
from services.identity import LinkReport, count_people

SCOPES_HINT = (
    "the bot token needs the users:read and users:read.email scopes: add them to the Slack app "
    "(docs/slack-manifest.json) and reinstall it"
)


def print_report(report: LinkReport, *, verbose: bool = True) -> None:
    out.print(
        f"{len(report.linked)} linked, {report.already} already linked, "
        f"{len(report.not_found)} without a Slack user for their e-mail",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if not verbose:
        return
    for email, sid in report.taken:
        err.print(f"{email}: Slack user {sid} is already another person's; left unlinked", markup=False)
    for email, stored, sid in report.differs:
        err.print(
            f"{email}: has Slack id {stored}, Slack says {sid} for this e-mail; left as it is "
            "(fix slack_user_id in the people file if it is wrong)",
            markup=False,
        )
    for email in report.not_found[:20]:
        err.print(f"{email}: no active Slack user has this e-mail", markup=False)
    if len(report.not_found) > 20:
        err.print(f"… and {len(report.not_found) - 20} more", markup=False)


def link_after_import(ctx: Ctx, ws: int) -> None:
    """After `import people`: link the people without a Slack id, when a token is set."""
    client = client_for(ctx.settings, ctx.db, ws)
    if client is None:
        return
    try:
        report = link_emails(ctx.db, ws, SlackDirectory(client))
    except SlackLookupError as exc:
        err.print(f"people were imported, but not linked to Slack users ({exc}): {SCOPES_HINT}", markup=False)
        return
    if report.linked or report.not_found:
        out.print("Slack users by e-mail: ", end="")
        print_report(report, verbose=False)


@cli.group("people")
def people_cmd() -> None:
    """The people list and their Slack users."""


@people_cmd.command("link-slack")
@click.option(
    "--pace",
    type=click.FloatRange(0, 60),
    default=USERS_LIST_PACE,
    show_default=True,
    help="Seconds between two users.list pages (Slack's Tier 2 limit: 20+ a minute).",
)
@pass_ctx
def link_slack(ctx: Ctx, pace: float) -> None:
    """Link every person without a Slack id to the Slack user with their e-mail (users.list, paged).

    People whose Slack id is set are left as they are; a Slack user is linked to one person at most.
    """
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    client = client_for(ctx.settings, ctx.db, ws)
    if client is None:
        raise click.ClickException(
            "no Slack token: set SLACK_BOT_TOKEN (or install the app through OAuth) to look people up"
        )
    total, unlinked = count_people(ctx.db, ws)
    if unlinked == 0:
        out.print(f"all {total} people have a Slack id; nothing to link")
        return
    directory = SlackDirectory(client, pace=pace)
    seen = 0
    progress = None
    if err.is_terminal:
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
    task = progress.add_task("reading Slack users", total=None) if progress else None

    def on_page(members: int) -> None:
        nonlocal seen
        seen += members
        if progress is not None and task is not None:
            progress.update(task, description=f"reading Slack users: {seen:,} so far")

    try:
        if progress is not None:
            progress.start()
        report = link_all(ctx.db, ws, directory, on_page)
    except SlackLookupError as exc:
        hint = f": {SCOPES_HINT}" if "scope" in str(exc) else ""
        raise click.ClickException(f"Slack refused users.list ({exc}){hint}; nothing was linked") from None
    finally:
        if progress is not None:
            progress.stop()
    waited = f", waited out {directory.waits} rate limit(s)" if directory.waits else ""
    out.print(
        f"read {seen:,} Slack users in {directory.calls} call(s){waited}", markup=False, highlight=False
    )
    print_report(report)


def give_portfolio(ctx: Ctx, ws: int, me: str, as_of: dt.date) -> None:
    """`demo-data --me`: the person (an e-mail or a Slack id, the other asked of Slack when a token
    is set) joins the people list and owns a portfolio (``storage.demo.ME_STEPS``)."""
    from storage.demo import ME_STEPS
    from storage.demo_me import MeError, adopt

    email = slack_id = None
    name = "You (demo)"
    if me.startswith(("U", "W")) and "@" not in me:
        slack_id = me
    else:
        email = me
    client = client_for(ctx.settings, ctx.db, ws)
    if client is not None:
        directory = SlackDirectory(client)
        try:
            user = directory.user(slack_id) if slack_id else directory.lookup_email(me)
        except SlackLookupError as exc:
            err.print(f"could not ask Slack about {me} ({exc}); going on without it", markup=False)
            user = None
        if user is not None:
            slack_id, name = user.id, user.name
            email = email or user.email
    email = email or f"{(slack_id or 'me').lower()}@demo.example"
    with ctx.db.write() as session:
        try:
            person, lines = adopt(
                session,
                ws,
                email=email,
                slack_user_id=slack_id,
                name=name,
                now=ctx.now,
                as_of=as_of,
                steps=ME_STEPS,
            )
        except MeError as exc:
            raise click.ClickException(f"--me: {exc}") from None
    who = f"<@{person.slack_user_id}>" if person.slack_user_id else person.email
    out.print(f"--me {who}: " + "; ".join(lines), markup=False, highlight=False, soft_wrap=True)
    if person.slack_user_id is None:
        out.print(
            f"{person.email} has no Slack id yet: it is linked by e-mail the first time you run a command "
            "(the app needs users:read.email), or run `retention-bot people link-slack`",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print("In Slack, try: /health, /sla, /handoff list, and the bot's Home tab", markup=False)
