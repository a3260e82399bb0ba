"""/scorecard owners, /scorecard target KPI VALUE|clear [week|month|quarter] [SEGMENT] and
/scorecard targets: the owner matrix and the KPI targets (``services.goals``). Anyone may look;
only admins set or clear a target."""

from __future__ import annotations

from commands import replies
from commands.answer import Reply
from commands.context import Context, SlashCommand
from services import goals
from services.errors import UnknownSegment
from services.scorecard import KPIS
from storage.periods import PERIOD_KINDS, PeriodKind

VERBS = ("owners", "target", "targets")
FORM = "Type `/scorecard target nrr 110% quarter [segment]` or `/scorecard target nrr clear [quarter]`."


def goals_reply(ctx: Context, cmd: SlashCommand, verb: str, args: list[str]) -> Reply:
    ws = ctx.workspace(cmd.team_id, cmd.enterprise_id)
    if verb == "owners":
        rows = goals.matrix(ctx.db, ws, policies=ctx.policies, now=ctx.clock())
        return replies.owner_matrix(rows, ctx.policies.currency)
    if verb == "targets":
        changes = goals.history(ctx.db, ws, limit=replies.MAX_LIST + 1)
        labelled = [(c, *_label(c.kpi)) for c in changes]
        return replies.target_history(labelled, ctx.policies.currency)
    if not ctx.is_admin(cmd.user_id):
        return replies.error_reply("Only admins can set KPI targets.", "Ask one of your RevOps admins.")
    if len(args) < 2:
        return replies.error_reply("Which KPI, and what target?", FORM)
    kpi, value, rest = args[0].lower().replace("-", "_"), args[1], args[2:]
    kinds: list[PeriodKind] = [w for w in (r.lower() for r in rest) if w in PERIOD_KINDS]
    others = [r for r in rest if r.lower() not in PERIOD_KINDS]
    if len(others) > 1:
        return replies.error_reply("I understand one segment after the period.", FORM)
    try:
        update = goals.set_target(
            ctx.db,
            ws,
            kpi,
            None if value.lower() == "clear" else value,
            kinds=kinds or None,
            segment=others[0] if others else None,
            by=cmd.user_id,
            now=ctx.clock(),
            policies=ctx.policies,
        )
    except goals.TargetError as exc:
        return replies.error_reply(replies.slack_escape(str(exc)) + ".", FORM)
    except UnknownSegment as refusal:
        return replies.unknown_segment(refusal)
    return replies.target_set(update, ctx.policies.currency)


def _label(kpi: str) -> tuple[str, str]:
    label, unit, _ = KPIS.get(kpi, (kpi, "ratio", ()))
    return label, unit
