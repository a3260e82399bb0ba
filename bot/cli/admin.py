"""`retention-bot subscriptions`, `digest preview`, `deliveries` and `wins channel`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from blocks.format import schedule_words
from bot.cli import (
    AS_OF,
    TARGETS_AS_OF,
    Ctx,
    _channel,
    cli,
    err,
    out,
    pass_ctx,
)
from services import deliveries as deliveries_service
from services import subscriptions as subs
from storage import deliveries as deliveries_mod


@cli.group("subscriptions")
def subscriptions_cmd() -> None:
    """Weekly digest subscriptions: the same as /scorecard subscribe, subscriptions and unsubscribe."""


@subscriptions_cmd.command("list")
@pass_ctx
def subscriptions_list(ctx: Ctx) -> None:
    """The channels that get the digest (weekly, monthly or quarterly)."""
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    rows = subs.subscriptions(ctx.db, ws)
    if not rows:
        out.print("no channel gets the digest yet: retention-bot subscriptions add CHANNEL_ID")
    for row in rows:
        out.print(f"{row.channel_id}  {schedule_words(row)}", markup=False, highlight=False)


@subscriptions_cmd.command("add")
@click.argument("channel", callback=_channel)
@click.argument("schedule", nargs=-1)
@pass_ctx
def subscriptions_add(ctx: Ctx, channel: str, schedule: tuple[str, ...]) -> None:
    """Subscribe CHANNEL (its id) to the digest: [weekly|monthly|quarterly] [WEEKDAY] [HH:MM]
    [Area/City] [segment] [team TEAM] in any order; default weekly, Monday 09:00 in the workspace's time
    zone (monthly and quarterly: the first weekday of the month or quarter). Changes an existing one."""
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
    try:
        row = subs.subscribe(ctx.db, ws, channel, schedule, by=None, now=ctx.now)
    except subs.SubscriptionError as exc:
        raise click.ClickException(str(exc)) from None
    out.print(f"{channel}: {schedule_words(row)}", markup=False, highlight=False)


@subscriptions_cmd.command("remove")
@click.argument("channel", callback=_channel)
@pass_ctx
def subscriptions_remove(ctx: Ctx, channel: str) -> None:
    """Stop CHANNEL's digest."""
    with ctx.db.write() as session:
        ws = ctx.workspace(session)
    if not subs.unsubscribe(ctx.db, ws, channel):
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
@click.option(
    "--charts",
    "charts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the charts the thread gets, as PNG files in this directory.",
)
@TARGETS_AS_OF
@pass_ctx
def digest_preview(
    ctx: Ctx,
    channel: str | None,
    as_of: dt.date | None,
    as_json: bool,
    charts_dir: Path | None,
    targets_at: dt.datetime | None,
) -> None:
    """Show the digest as it would be posted: the message, its thread reply and its charts (in words;
    --json: the exact chat.postMessage arguments; --charts DIR: the pictures)."""
    from bot.render import digest_text
    from digests.digest import DigestError, context, render
    from digests.jobs import monthly_targets
    from services.charts import chart_facts
    from services.digest import weekly

    day = as_of or ctx.now.date()
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    segment, cadence, team = None, "week", None
    if channel is not None:
        try:
            sub = subs.for_channel(ctx.db, ws, channel)
        except subs.NotSubscribed:
            raise click.ClickException(
                f"{channel} has no digest subscription: retention-bot subscriptions list"
            ) from None
        segment, cadence, team = sub.segment, sub.cadence, sub.team
    facts = weekly(
        ctx.db,
        ws,
        as_of=day,
        now=ctx.now,
        policies=ctx.settings.policies,
        segment=segment,
        period_kind=cadence,  # type: ignore[arg-type]
        team=team,
        targets_at=targets_at,
    )
    try:
        message = render(context(facts), ctx.settings.digest_templates)
    except DigestError as exc:
        raise click.ClickException(str(exc)) from None
    target = channel or "CHANNEL_ID"
    nrr_target, grr_target = monthly_targets(ctx.db, ws, segment, ctx.settings.policies, ctx.now)
    charts = _charts(
        chart_facts(ctx.db, ws, as_of=day, segment=segment, nrr_target=nrr_target, grr_target=grr_target),
        charts_dir,
    )
    if as_json:
        payload = {
            "message": message.post_args(target),
            "thread_reply": message.thread_args(target, "TS_OF_MESSAGE"),
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        click.echo(digest_text(message.blocks, message.thread_blocks, charts), nl=False)
    for problem in message.problems:
        err.print(f"warning: Slack would reject this: {problem}", markup=False)
    if message.problems:
        raise click.ClickException("the digest breaks Slack's limits (see the warnings above)")


def _charts(facts: Any, charts_dir: Path | None) -> list[str]:
    """The charts' titles; with a directory, the PNGs written there (said on stderr, so --json output
    stays one JSON document)."""
    from digests.charts import draw

    if facts.empty:
        if charts_dir is not None:
            err.print("no charts: no revenue, health snapshots or cohorts yet", markup=False)
        return []
    if charts_dir is None:
        return [title for title in _titles(facts)]
    try:
        charts_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot write charts to {charts_dir}: {exc.strerror}") from None
    drawn = draw(facts)
    for chart in drawn:
        path = charts_dir / chart.filename
        path.write_bytes(chart.png)
        err.print(
            f"wrote {path} ({len(chart.png) // 1024} KB): {chart.alt}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return [chart.title for chart in drawn]


def _titles(facts: Any) -> list[str]:
    titles = []
    if facts.has_retention:
        titles.append("NRR and GRR, 12 months")
    if facts.has_bands:
        titles.append("Accounts by health band, 12 weeks")
    if facts.has_cohorts:
        titles.append("Logo retention by start quarter")
    return titles


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
        ws = ctx.existing_workspace(session)
    rows = deliveries_service.recent(ctx.db, ws, limit=limit, states=states)
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
    with ctx.db.read() as session:
        ws = ctx.existing_workspace(session)
    if not deliveries_service.retry(ctx.db, ws, delivery_id, ctx.now):
        state = deliveries_service.state_of(ctx.db, ws, delivery_id)
        if state is None:
            raise click.ClickException(
                f"no delivery {delivery_id} in this workspace (`retention-bot deliveries` lists them)"
            )
        raise click.ClickException(
            f"delivery {delivery_id} is {state}: only a failed or uncertain one is sent again "
            "(see `retention-bot deliveries`)"
        )
    out.print(f"delivery {delivery_id}: queued again; the next delivery run (worker or serve) sends it")


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
    from services import wins

    with ctx.db.write() as session:
        ws = ctx.workspace(session)
    if off or channel:
        current = wins.set_wins_channel(ctx.db, ws, None if off else _channel(None, None, channel or ""))
    else:
        current = wins.wins_channel(ctx.db, ws)
    out.print(f"shout-outs go to {current}" if current else "no wins channel: shout-outs are off")
