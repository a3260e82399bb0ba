"""Handoff SLAs: opening a handoff under its policy, its due and warning times from the SLA clock,
pausing, snoozing, acknowledging and finishing it — and the sweep that records every warning, breach
and escalation once.

The sweep reads only the handoffs whose ``next_check_at`` has come (an index), decides each one's new
stage, inserts the SLA events under their unique key (handoff, kind, step) and returns only the events
it inserted: a second sweeper, a restart or a repeated sweep inserts nothing and so pings nobody.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from services.policies import WEEKDAY_NAMES, SlaConfig, SlaPolicy
from storage import models as m
from storage import sla_clock
from storage.bulk import insert_ignore_many, update_many
from storage.upsert import insert_ignore

NONE, WARNED, BREACHED = 0, 1, 2
SNOOZE = "snooze: "  # the reason prefix that tells a snooze from a pause


class SlaError(ValueError):
    """Something a person asked of a handoff that cannot be done; the message says why."""


def default_policy(kind: str) -> SlaPolicy:
    """For handoffs whose kind has no policy (their due time came from an import)."""
    return SlaPolicy(kind=kind, hours=1)


def calendar_of(config: SlaConfig, policy: SlaPolicy, owner_tz: str | None) -> sla_clock.WorkCalendar | None:
    if policy.clock == "calendar":
        return None
    cal = config.calendars[policy.calendar]
    zone = (owner_tz or "UTC") if cal.timezone == "owner" else cal.timezone
    return sla_clock.WorkCalendar(
        ZoneInfo(zone),
        frozenset(WEEKDAY_NAMES.index(day) for day in cal.weekdays),
        cal.opens,
        cal.closes,
        frozenset(cal.holidays),
    )


@dataclass(frozen=True)
class ClockTimes:
    due: dt.datetime  # without pauses
    effective_due: dt.datetime | None  # with them; None while paused
    warn: dt.datetime | None


def clock_times(
    config: SlaConfig,
    policy: SlaPolicy,
    opened: dt.datetime,
    owner_tz: str | None,
    pauses: Sequence[sla_clock.Pause] = (),
) -> ClockTimes:
    cal = calendar_of(config, policy, owner_tz)
    duration = dt.timedelta(hours=policy.hours)
    due = sla_clock.due(opened, duration, cal)
    assert due is not None
    return ClockTimes(
        due,
        sla_clock.due(opened, duration, cal, pauses),
        sla_clock.due(opened, duration * policy.warn_at, cal, pauses),
    )


def next_check(
    stage: int, warn: dt.datetime | None, due: dt.datetime | None, policy: SlaPolicy, acknowledged: bool
) -> dt.datetime | None:
    """When the sweep must look again: the warning, the breach, the next escalation step, or never."""
    if due is None:
        return None  # paused: the clock is stopped
    if stage == NONE:
        return warn or due
    if stage == WARNED:
        return due
    step = stage - BREACHED  # escalation steps already done
    if acknowledged or step >= len(policy.escalation):
        return None
    return due + dt.timedelta(hours=policy.escalation[step].after_hours)


# --- a handoff's life ---------------------------------------------------------------------------------


def open_handoff(
    session: Session,
    ws: int,
    *,
    account: m.Account,
    policy: SlaPolicy,
    config: SlaConfig,
    owner: m.Person | None,
    external_id: str,
    now: dt.datetime,
    checklist: dict[str, Any] | None = None,
) -> m.Handoff | None:
    """Open a handoff under its policy (due, warning and first check from the clock); None when a
    handoff with that external id exists already (a retried request)."""
    times = clock_times(config, policy, now, owner.timezone if owner else None)
    row = {
        "workspace_id": ws,
        "external_id": external_id,
        "account_id": account.id,
        "kind": policy.kind,
        "from_team": policy.from_team,
        "to_team": policy.to_team,
        "owner_id": owner.id if owner else None,
        "opened_at": now,
        "due_at": times.due,
        "effective_due_at": times.effective_due,
        "paused_seconds": 0,
        "policy_key": policy.key,
        "warn_at": times.warn,
        "sla_stage": NONE,
        "next_check_at": next_check(NONE, times.warn, times.effective_due, policy, False),
        "checklist": checklist,
    }
    if not insert_ignore(session, m.Handoff, [row], ["workspace_id", "external_id"]):
        return None
    return session.scalars(
        select(m.Handoff).where(m.Handoff.workspace_id == ws, m.Handoff.external_id == external_id)
    ).one()


def policy_of(session: Session, config: SlaConfig, handoff: m.Handoff) -> SlaPolicy:
    segment = session.scalar(select(m.Account.segment).where(m.Account.id == handoff.account_id))
    return config.policy_for(handoff.kind, segment) or default_policy(handoff.kind)


def _refresh(session: Session, config: SlaConfig, handoff: m.Handoff) -> None:
    """Recompute the due and warning times after a pause, resume or snooze, and the next check."""
    policy = policy_of(session, config, handoff)
    if handoff.policy_key is not None:
        pauses = [
            (p.started_at, p.ended_at)
            for p in session.scalars(select(m.HandoffPause).where(m.HandoffPause.handoff_id == handoff.id))
        ]
        owner_tz = session.scalar(select(m.Person.timezone).where(m.Person.id == handoff.owner_id))
        times = clock_times(config, policy, handoff.opened_at, owner_tz, pauses)
        if times.effective_due is not None:
            handoff.effective_due_at = times.effective_due
        handoff.warn_at = times.warn
    else:  # an imported due time: calendar time, extended by the paused seconds
        handoff.effective_due_at = handoff.due_at + dt.timedelta(seconds=handoff.paused_seconds)
        handoff.warn_at = handoff.opened_at + (handoff.effective_due_at - handoff.opened_at) * policy.warn_at
    # A snooze may move the due time past a warning that was already sent: back to "warned".
    due = None if handoff.paused_since is not None else handoff.effective_due_at
    handoff.next_check_at = next_check(
        handoff.sla_stage, handoff.warn_at, due, policy, handoff.acknowledged_at is not None
    )


def _event(
    session: Session,
    handoff: m.Handoff,
    kind: str,
    step: int,
    actor: int | None,
    now: dt.datetime,
    detail: dict[str, Any] | None = None,
) -> bool:
    return bool(
        insert_ignore(
            session,
            m.SlaEvent,
            [
                {
                    "workspace_id": handoff.workspace_id,
                    "handoff_id": handoff.id,
                    "kind": kind,
                    "step": step,
                    "occurred_at": now,
                    "actor_id": actor,
                    "detail": detail,
                }
            ],
            ["handoff_id", "kind", "step"],
        )
    )


def _open(handoff: m.Handoff) -> None:
    if handoff.completed_at is not None:
        raise SlaError(f"handoff {handoff.external_id} is already done")


def pause(
    session: Session, config: SlaConfig, handoff: m.Handoff, reason: str, by: int | None, now: dt.datetime
) -> None:
    _open(handoff)
    if handoff.paused_since is not None:
        raise SlaError(f"handoff {handoff.external_id} is already paused")
    session.add(
        m.HandoffPause(
            workspace_id=handoff.workspace_id,
            handoff_id=handoff.id,
            started_at=now,
            reason=reason,
            by_person_id=by,
        )
    )
    handoff.paused_since = now
    handoff.next_check_at = None
    n = session.scalar(
        select(func.count()).where(m.SlaEvent.handoff_id == handoff.id, m.SlaEvent.kind == "pause")
    )
    _event(session, handoff, "pause", int(n or 0), by, now, {"reason": reason})


def resume(session: Session, config: SlaConfig, handoff: m.Handoff, by: int | None, now: dt.datetime) -> None:
    _open(handoff)
    if handoff.paused_since is None:
        raise SlaError(f"handoff {handoff.external_id} is not paused")
    session.execute(
        update(m.HandoffPause)
        .where(m.HandoffPause.handoff_id == handoff.id, m.HandoffPause.ended_at.is_(None))
        .values(ended_at=now)
    )
    handoff.paused_seconds += int((now - handoff.paused_since).total_seconds())
    handoff.paused_since = None
    session.flush()
    _refresh(session, config, handoff)
    n = session.scalar(
        select(func.count()).where(m.SlaEvent.handoff_id == handoff.id, m.SlaEvent.kind == "resume")
    )
    _event(session, handoff, "resume", int(n or 0), by, now)


def snooze(
    session: Session,
    config: SlaConfig,
    handoff: m.Handoff,
    hours: float,
    reason: str,
    by: int | None,
    now: dt.datetime,
    slack_user: str | None = None,
) -> None:
    """Stop the clock for ``hours`` from now, within the policy's total snooze allowance."""
    _open(handoff)
    policy = policy_of(session, config, handoff)
    used = sum(
        ((p.ended_at or now) - p.started_at).total_seconds() / 3600
        for p in session.scalars(
            select(m.HandoffPause).where(
                m.HandoffPause.handoff_id == handoff.id, m.HandoffPause.reason.startswith(SNOOZE)
            )
        )
    )
    if used + hours > policy.max_snooze_hours + 1e-9:
        left = max(policy.max_snooze_hours - used, 0)
        raise SlaError(
            f"the {policy.kind} policy allows {policy.max_snooze_hours:g} h of snoozing in all; "
            f"{left:g} h are left"
        )
    session.add(
        m.HandoffPause(
            workspace_id=handoff.workspace_id,
            handoff_id=handoff.id,
            started_at=now,
            ended_at=now + dt.timedelta(hours=hours),
            reason=SNOOZE + reason,
            by_person_id=by,
        )
    )
    handoff.paused_seconds += int(hours * 3600)
    session.flush()
    _refresh(session, config, handoff)
    n = session.scalar(
        select(func.count()).where(m.SlaEvent.handoff_id == handoff.id, m.SlaEvent.kind == "snooze")
    )
    _event(
        session, handoff, "snooze", int(n or 0), by, now, {"hours": hours, "reason": reason, "by": slack_user}
    )


def acknowledge(
    session: Session, handoff: m.Handoff, by: int | None, now: dt.datetime, slack_user: str | None = None
) -> bool:
    """Someone owns the breach: no further escalation. False if it was acknowledged before."""
    if not _event(session, handoff, "ack", 0, by, now, {"by": slack_user}):
        return False
    handoff.acknowledged_at = now
    if handoff.sla_stage >= BREACHED:
        handoff.next_check_at = None
    return True


def finish(
    session: Session, handoff: m.Handoff, by: int | None, now: dt.datetime, slack_user: str | None = None
) -> bool:
    """Mark it done. False if it already was."""
    if handoff.completed_at is not None:
        return False
    if handoff.paused_since is not None:
        session.execute(
            update(m.HandoffPause)
            .where(m.HandoffPause.handoff_id == handoff.id, m.HandoffPause.ended_at.is_(None))
            .values(ended_at=now)
        )
        handoff.paused_since = None
    handoff.completed_at = now
    handoff.next_check_at = None
    _event(session, handoff, "done", 0, by, now, {"by": slack_user})
    return True


# --- the sweep ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PingFacts:
    handoff_id: int
    workspace_id: int
    external_id: str
    account: str
    kind: str
    from_team: str
    to_team: str
    due: dt.datetime
    owner: str | None  # name
    owner_slack: str | None
    manager_slack: str | None
    managers_manager_slack: str | None


def _facts_select(*extra: Any) -> Any:
    """A handoff with what its pings say and whom they may go to: owner, manager, manager's manager."""
    h, owner = m.Handoff, aliased(m.Person)
    manager, boss = aliased(m.Person), aliased(m.Person)
    return (
        select(
            h.id,
            h.workspace_id,
            h.external_id,
            m.Account.name,
            h.kind,
            h.from_team,
            h.to_team,
            h.effective_due_at,
            owner.name,
            owner.slack_user_id,
            manager.slack_user_id,
            boss.slack_user_id,
            *extra,
        )
        .join(m.Account, m.Account.id == h.account_id)
        .outerjoin(owner, owner.id == h.owner_id)
        .outerjoin(manager, manager.id == owner.manager_id)
        .outerjoin(boss, boss.id == manager.manager_id)
    )


FACTS = 12  # the columns of _facts_select before any extra


def ping_facts(session: Session, handoff_ids: Sequence[int]) -> dict[int, PingFacts]:
    """What a ping says and whom it may go to, for the given handoffs."""
    ids = list(handoff_ids)
    out: dict[int, PingFacts] = {}
    for chunk in range(0, len(ids), 5000):
        for row in session.execute(_facts_select().where(m.Handoff.id.in_(ids[chunk : chunk + 5000]))):
            out[row[0]] = PingFacts(*row[:FACTS])
    return out


@dataclass(frozen=True)
class Event:
    workspace_id: int
    handoff_id: int
    kind: str  # warning, breach, escalation
    step: int  # escalation step (1, 2, …); 0 otherwise
    target: str  # owner, manager, managers_manager, channel
    channel: str | None  # an escalation channel step's channel


@dataclass
class SweepReport:
    checked: int = 0
    recorded: list[Event] = field(default_factory=list)
    facts: dict[int, PingFacts] = field(default_factory=dict)  # of the handoffs with recorded events
    # Events nobody could be told of yet, by why (they are owed, not lost), and the owed ones whose
    # pings this sweep queued because someone can be told now.
    waiting: dict[str, int] = field(default_factory=dict)
    handed_on: int = 0

    def count(self, kind: str) -> int:
        return sum(1 for e in self.recorded if e.kind == kind)

    @property
    def waiting_total(self) -> int:
        return sum(self.waiting.values())


def sweep(session: Session, now: dt.datetime, config: SlaConfig, *, limit: int = 200_000) -> SweepReport:
    """Record every warning, breach and escalation that is due, once; return the ones this call
    recorded (the ones to ping)."""
    h = m.Handoff
    rows = session.execute(
        _facts_select(h.sla_stage, h.warn_at, h.acknowledged_at, m.Account.segment)
        .where(h.next_check_at <= now, h.completed_at.is_(None), h.paused_since.is_(None))
        .order_by(h.next_check_at)
        .limit(limit)
    ).all()
    report = SweepReport(checked=len(rows))
    if not rows:
        return report
    policies: dict[tuple[str, str], SlaPolicy] = {}
    wanted: list[Event] = []
    changes = []
    facts = {row[0]: PingFacts(*row[:FACTS]) for row in rows}
    for row in rows:
        hid, ws, kind, due = row[0], row[1], row[4], row[7]
        stage, warn, acked, segment = row[FACTS:]
        policy = policies.get((kind, segment))
        if policy is None:
            policy = policies[(kind, segment)] = config.policy_for(kind, segment) or default_policy(kind)
        if stage == NONE and now < due:
            wanted.append(Event(ws, hid, "warning", 0, "owner", None))
            stage = WARNED
        if stage <= WARNED and now >= due:
            wanted.append(Event(ws, hid, "breach", 0, "owner", None))
            stage = BREACHED
        if stage >= BREACHED and acked is None:
            steps = policy.escalation
            while stage - BREACHED < len(steps):
                step = steps[stage - BREACHED]
                if now < due + dt.timedelta(hours=step.after_hours):
                    break
                wanted.append(
                    Event(
                        ws,
                        hid,
                        "escalation",
                        stage - BREACHED + 1,
                        step.to,
                        step.channel or config.escalation_channel,
                    )
                )
                stage += 1
        changes.append((hid, stage, next_check(stage, warn, due, policy, acked is not None)))
    if wanted:
        inserted = set(
            insert_ignore_many(
                session,
                m.SlaEvent.__table__,  # type: ignore[arg-type]
                ("workspace_id", "handoff_id", "kind", "step", "occurred_at"),
                [(e.workspace_id, e.handoff_id, e.kind, e.step, now) for e in wanted],
                ("handoff_id", "kind", "step"),
                returning=("handoff_id", "kind", "step"),
            )
        )
        report.recorded = [e for e in wanted if (e.handoff_id, e.kind, e.step) in inserted]
        report.facts = {e.handoff_id: facts[e.handoff_id] for e in report.recorded}
    update_many(
        session,
        m.Handoff.__table__,  # type: ignore[arg-type]
        "id",
        ("sla_stage", "next_check_at"),
        changes,
    )
    return report


# --- who is told ---------------------------------------------------------------------------------------


def recipients(event: Event, facts: PingFacts, escalation_channel: str | None) -> list[tuple[str, str]]:
    """(role, Slack id) pairs for an event: the owner at a warning; owner and manager at a breach; the
    step's target at an escalation. Anyone missing (no manager, no Slack id) falls back to the
    escalation channel — never silence; [] only when not even a channel is configured."""
    if event.kind == "warning":
        wanted = [("owner", facts.owner_slack)]
    elif event.kind == "breach":
        wanted = [("owner", facts.owner_slack), ("manager", facts.manager_slack)]
    elif event.target == "channel":
        wanted = [("channel", event.channel or escalation_channel)]
    elif event.target == "managers_manager":
        wanted = [("managers_manager", facts.managers_manager_slack)]
    else:
        wanted = [("manager", facts.manager_slack)]
    out: list[tuple[str, str]] = []
    for role, slack_id in wanted:
        if slack_id:
            out.append((role, slack_id))
        elif escalation_channel and ("channel", escalation_channel) not in out:
            out.append(("channel", escalation_channel))
    return out


def open_for_closed_won(
    session: Session, ws: int, config: SlaConfig, now: dt.datetime, *, days: int = 7
) -> int:
    """A CRM closed/won starts the sales→CS handoff: each account closed/won in the last ``days`` days
    without one gets it under the sales_to_cs policy (if there is one), owned by its CSM — once, the
    external id being the claim. The clock starts when the bot learns of the closed/won."""
    if not any(p.kind == "sales_to_cs" for p in config.policies):
        return 0
    has = select(m.Handoff.account_id).where(m.Handoff.workspace_id == ws, m.Handoff.kind == "sales_to_cs")
    accounts = session.scalars(
        select(m.Account).where(
            m.Account.workspace_id == ws,
            m.Account.closed_won_on >= now.date() - dt.timedelta(days=days),
            m.Account.closed_won_on <= now.date(),
            m.Account.id.not_in(has),
        )
    ).all()
    opened = 0
    for account in accounts:
        policy = config.policy_for("sales_to_cs", account.segment)
        if policy is None:
            continue
        owner = session.get(m.Person, account.csm_id) if account.csm_id else None
        external_id = f"closed-won:{account.external_id}"
        opened += (
            open_handoff(
                session,
                ws,
                account=account,
                policy=policy,
                config=config,
                owner=owner,
                external_id=external_id[:64],
                now=now,
            )
            is not None
        )
    return opened
