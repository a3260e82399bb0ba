"""`retention-bot sla policies` and `sla sweep`."""

from __future__ import annotations

from blocks.format import plural
from bot.cli import (
    Ctx,
    cli,
    out,
    pass_ctx,
)

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
    from digests.sla_pings import sweep_and_queue

    report = sweep_and_queue(ctx.db, ctx.now, ctx.settings.policies.sla, ctx.settings.admin_user_ids)
    out.print(
        f"checked {report.checked}: {plural(report.count('warning'), 'warning')}, "
        f"{plural(report.count('breach'), 'breach', 'breaches')}, "
        f"{plural(report.count('escalation'), 'escalation')} recorded"
        + (f"; {plural(report.handed_on, 'waiting ping')} queued" if report.handed_on else ""),
        soft_wrap=True,
    )
    for why, n in sorted(report.waiting.items()):
        out.print(
            f"{n} waiting for a recipient (sent once someone can be told): {why}",
            markup=False,
            soft_wrap=True,
        )
