"""Handoff SLAs: opening a handoff under its policy, its due and warning times from the SLA clock,
pausing, snoozing, acknowledging and finishing it — and the sweep that records every warning, breach
and escalation once, and queues its pings.

The sweep reads only the handoffs whose ``next_check_at`` has come (an index), decides each one's new
stage, inserts the SLA events under their unique key (handoff, kind, step) and pings only for the
events it inserted: a second sweeper, a restart or a repeated sweep inserts nothing and so pings nobody.

The session-level functions (``open_handoff``, ``pause``, ``resume``, ``snooze``, ``acknowledge``,
``finish``) work inside their caller's transaction: ``services.handoffs`` owns it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from services.policies import WEEKDAY_NAMES, SlaConfig, SlaPolicy
from storage import deliveries, sla_clock
from storage import handoffs as store
from storage import models as m
from storage.db import Database
from storage.handoffs import PingFacts
from storage.sla_clock import BREACHED, NONE, WARNED

logger = logging.getLogger(__name__)

SNOOZE = "snooze: "  # the reason prefix that tells a snooze from a pause
SLA_PING = "sla"  # the delivery kind of SLA pings


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
    """When the sweep must look again, under ``policy``'s escalation steps (``sla_clock.next_check``)."""
    return sla_clock.next_check(stage, warn, due, [s.after_hours for s in policy.escalation], acknowledged)


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
    return store.insert_handoff(
        session,
        {
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
        },
    )


def policy_of(session: Session, config: SlaConfig, handoff: m.Handoff) -> SlaPolicy:
    segment = store.account_segment(session, handoff.account_id)
    return config.policy_for(handoff.kind, segment) or default_policy(handoff.kind)


def _refresh(session: Session, config: SlaConfig, handoff: m.Handoff) -> None:
    """Recompute the due and warning times after a pause, resume or snooze, and the next check."""
    policy = policy_of(session, config, handoff)
    if handoff.policy_key is not None:
        pauses = store.pauses_of(session, handoff.id)
        owner_tz = store.owner_timezone(session, handoff.owner_id)
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


def _open(handoff: m.Handoff) -> None:
    if handoff.completed_at is not None:
        raise SlaError(f"handoff {handoff.external_id} is already done")


def pause(
    session: Session, config: SlaConfig, handoff: m.Handoff, reason: str, by: int | None, now: dt.datetime
) -> None:
    _open(handoff)
    if handoff.paused_since is not None:
        raise SlaError(f"handoff {handoff.external_id} is already paused")
    store.add_pause(session, handoff, started_at=now, reason=reason, by=by)
    handoff.paused_since = now
    handoff.next_check_at = None
    n = store.count_events(session, handoff.id, "pause")
    store.insert_event(session, handoff, "pause", n, by, now, {"reason": reason})


def resume(session: Session, config: SlaConfig, handoff: m.Handoff, by: int | None, now: dt.datetime) -> None:
    _open(handoff)
    if handoff.paused_since is None:
        raise SlaError(f"handoff {handoff.external_id} is not paused")
    store.end_open_pause(session, handoff.id, now)
    handoff.paused_seconds += int((now - handoff.paused_since).total_seconds())
    handoff.paused_since = None
    session.flush()
    _refresh(session, config, handoff)
    n = store.count_events(session, handoff.id, "resume")
    store.insert_event(session, handoff, "resume", n, by, now)


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
    used = store.paused_hours(session, handoff.id, SNOOZE, now)
    if used + hours > policy.max_snooze_hours + 1e-9:
        left = max(policy.max_snooze_hours - used, 0)
        raise SlaError(
            f"the {policy.kind} policy allows {policy.max_snooze_hours:g} h of snoozing in all; "
            f"{left:g} h are left"
        )
    store.add_pause(
        session,
        handoff,
        started_at=now,
        ended_at=now + dt.timedelta(hours=hours),
        reason=SNOOZE + reason,
        by=by,
    )
    handoff.paused_seconds += int(hours * 3600)
    session.flush()
    _refresh(session, config, handoff)
    n = store.count_events(session, handoff.id, "snooze")
    store.insert_event(
        session, handoff, "snooze", n, by, now, {"hours": hours, "reason": reason, "by": slack_user}
    )


def acknowledge(
    session: Session, handoff: m.Handoff, by: int | None, now: dt.datetime, slack_user: str | None = None
) -> bool:
    """Someone owns the breach: no further escalation. False if it was acknowledged before."""
    if not store.insert_event(session, handoff, "ack", 0, by, now, {"by": slack_user}):
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
        store.end_open_pause(session, handoff.id, now)
        handoff.paused_since = None
    handoff.completed_at = now
    handoff.next_check_at = None
    store.insert_event(session, handoff, "done", 0, by, now, {"by": slack_user})
    return True


# --- the sweep ----------------------------------------------------------------------------------------


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


# The pings of one event: chat.postMessage arguments (no channel) per recipient role (digests builds them).
Pings = Callable[[Event, PingFacts, list[str], dt.datetime], list[dict[str, Any]]]
# One message listing many events for one recipient (a storm), as chat.postMessage arguments.
Batch = Callable[[list[tuple[Event, PingFacts]], dt.datetime], dict[str, Any]]
Delivery = tuple[int, str, str, str, dict[str, Any]]  # (workspace, kind, subject, channel, args)
Planned = tuple[Delivery, Event, PingFacts]


def _record(session: Session, now: dt.datetime, config: SlaConfig, *, limit: int = 200_000) -> SweepReport:
    """Record every warning, breach and escalation that is due, once; return the ones this call
    recorded (the ones to ping)."""
    rows = store.due_for_sweep(session, now, limit)
    report = SweepReport(checked=len(rows))
    if not rows:
        return report
    policies: dict[tuple[str, str | None], SlaPolicy] = {}
    wanted: list[Event] = []
    changes = []
    for row in rows:
        hid, ws, kind, due, segment = row.handoff_id, row.workspace_id, row.kind, row.due, row.segment
        stage, acked = row.sla_stage, row.acknowledged_at
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
        changes.append((hid, stage, next_check(stage, row.warn_at, due, policy, acked is not None)))
    if wanted:
        facts = {row.handoff_id: row for row in rows}
        inserted = store.insert_events(
            session, [(e.workspace_id, e.handoff_id, e.kind, e.step, now) for e in wanted]
        )
        report.recorded = [e for e in wanted if (e.handoff_id, e.kind, e.step) in inserted]
        report.facts = {e.handoff_id: facts[e.handoff_id] for e in report.recorded}
    store.set_stages(session, changes)
    return report


def sweep(
    db: Database,
    now: dt.datetime,
    config: SlaConfig,
    *,
    admins: Collection[str],
    pings: Pings,
    batch: Batch | None = None,
) -> SweepReport:
    """Record every SLA warning, breach and escalation that is due, and queue its pings (built by
    ``pings``), in one transaction: an event and its pings exist together or not at all, and only the
    sweeper that recorded an event pings for it.

    An event nobody can be told of (no Slack id, no escalation channel, no admins) is not lost: it
    waits in the delivery ledger, and a later sweep queues its pings once someone can be told — the
    person got a Slack id, a channel or an admin was configured — unless the handoff was done or
    acknowledged meanwhile (``_owed_now``).

    A storm is not hundreds of DMs: a recipient with more than ``config.batch_over`` pings in one
    sweep gets ONE message listing them (built by ``batch``; ``_batched``)."""
    with db.read() as session:  # outside the write transaction: most sweeps find nothing changed
        owed = _owed_now(session, now, config, admins)
    with db.write() as session:
        report = _record(session, now, config)
        planned: list[Planned] = []
        waiting: list[tuple[int, str, str, dict[str, Any], str]] = []
        for event in report.recorded:
            fact = report.facts[event.handoff_id]
            targets = _targets(event, fact, config, admins)
            if not targets:
                why = why_nobody(event, fact, config.manager_rollup)
                logger.debug(
                    "SLA %s of handoff %s waits for a recipient: %s", event.kind, fact.external_id, why
                )
                waiting.append((event.workspace_id, SLA_PING, _waiting_subject(event), {}, why))
                continue
            planned += _deliveries(event, fact, targets, now, config.escalation_channel, pings)
        planned += _hand_on(session, owed, now, config, report, pings)
        rows = _batched(planned, now, config, batch)
        if rows:
            deliveries.enqueue_many(session, rows, now)
        if waiting:
            deliveries.enqueue_waiting(session, waiting, now)
        new: dict[str, int] = {}
        for *_, why in waiting:
            new[why] = new.get(why, 0) + 1
            report.waiting[why] = report.waiting.get(why, 0) + 1
        for why, n in sorted(new.items()):  # one line per reason, however many handoffs
            logger.warning("SLA sweep: %d new events wait for a recipient: %s", n, why)
    return report


# --- who is told ---------------------------------------------------------------------------------------


WHO = {"owner": "the owner", "manager": "the owner's manager", "managers_manager": "the manager's manager"}


def recipients(
    event: Event, facts: PingFacts, escalation_channel: str | None, *, manager_rollup: bool = False
) -> list[tuple[str, str]]:
    """(role, Slack id) pairs for an event: the owner at a warning; owner and manager at a breach (the
    owner alone under ``manager_rollup``: the manager reads it in their daily roll-up,
    ``services.rollups``); the step's target at an escalation. Anyone missing (no manager, no Slack id)
    falls back to the escalation channel — never silence; [] only when not even a channel is
    configured."""
    if event.kind == "warning":
        wanted = [("owner", facts.owner_slack)]
    elif event.kind == "breach" and manager_rollup:
        # The manager reads it in their daily roll-up, which needs their Slack id: with none (or no
        # manager) the escalation channel hears of it now, as it would without the roll-up.
        wanted = [("owner", facts.owner_slack)] + ([] if facts.manager_slack else [("manager", None)])
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


def _targets(
    event: Event, fact: PingFacts, config: SlaConfig, admins: Collection[str]
) -> list[tuple[str, str]]:
    """Whom an event's pings go to: its recipients, else the admins; [] when nobody can be told."""
    return recipients(event, fact, config.escalation_channel, manager_rollup=config.manager_rollup) or [
        ("admin", admin) for admin in admins
    ]


def _waiting_subject(event: Event) -> str:
    """An owed event's ledger subject: the event itself (unique per handoff, kind and step)."""
    return f"{event.handoff_id}:{event.kind}:{event.step}:waiting:{event.target}:{event.channel or ''}"


def _deliveries(
    event: Event,
    fact: PingFacts,
    targets: list[tuple[str, str]],
    now: dt.datetime,
    escalation_channel: str | None,
    pings: Pings,
) -> list[Planned]:
    """The delivery rows of an event's pings, one per recipient (the subject names the recipient)."""
    rows: list[Planned] = []
    messages = pings(event, fact, [role for role, _ in targets], now)
    for (role, to), args in zip(targets, messages, strict=True):
        if role != "channel" and escalation_channel:
            args["_fallback"] = escalation_channel  # a person who left: the channel
        subject = f"{event.handoff_id}:{event.kind}:{event.step}:{to}"
        rows.append(((event.workspace_id, SLA_PING, subject, to, args), event, fact))
    return rows


def _batched(
    planned: list[Planned], now: dt.datetime, config: SlaConfig, batch: Batch | None
) -> list[Delivery]:
    """The sweep's deliveries, with each recipient who has more than ``batch_over`` of them given ONE
    message listing them instead. Its subject is the first ping's ("batch:" before it): that event is
    new in this sweep, so the key is this message's alone and a repeated sweep queues nothing."""
    if batch is None or config.batch_over <= 0:
        return [row for row, _, _ in planned]
    groups: dict[tuple[int, str], list[Planned]] = {}
    for item in planned:
        row = item[0]
        groups.setdefault((row[0], row[3]), []).append(item)
    out: list[Delivery] = []
    for (ws, to), items in groups.items():
        if len(items) <= config.batch_over:
            out += [row for row, _, _ in items]
            continue
        args = batch([(event, fact) for _, event, fact in items], now)
        fallback = items[0][0][4].get("_fallback")
        if fallback:
            args["_fallback"] = fallback
        out.append((ws, SLA_PING, f"batch:{items[0][0][2]}", to, args))
    return out


def why_nobody(event: Event, fact: PingFacts, manager_rollup: bool = False) -> str:
    """Why nobody can be told of an event, for the sweep's report and the ledger."""
    if event.kind == "escalation" and event.target == "channel":
        missing = "the escalation step names no channel"
    elif fact.owner is None:
        missing = "the handoff has no owner"
    else:
        alone = event.kind == "warning" or manager_rollup
        roles = ["owner"] if alone else ["owner", "manager"]
        if event.kind == "escalation":
            roles = [event.target]
        missing = "no Slack id for " + " or ".join(WHO.get(r, r) for r in roles)
    return f"{missing}, no [sla] escalation_channel, no ADMIN_USER_IDS"


@dataclass
class Owed:
    """What a sweep decided about the owed events it found: hand on, drop, or still waiting (why)."""

    ready: list[tuple[int, Event, PingFacts, list[tuple[str, str]]]]
    dropped: list[int]
    still: list[tuple[int, str, str | None]]  # (row, why now, why before)


def _owed_now(session: Session, now: dt.datetime, config: SlaConfig, admins: Collection[str]) -> Owed:
    """Look at every owed event. One whose handoff is done or acknowledged is no longer needed, nor a
    warning once the handoff is due (as the sweep skips a warning it first sees late); a breach and
    each escalation step are all told, as they would have been."""
    owed = []
    for row_id, ws, subject, why in deliveries.waiting(session, SLA_PING):
        hid, kind, step, _, target, channel = subject.split(":", 5)
        owed.append((row_id, Event(ws, int(hid), kind, int(step), target, channel or None), why))
    out = Owed([], [], [])
    if not owed:
        return out
    ids = sorted({event.handoff_id for _, event, _ in owed})
    facts = store.ping_facts(session, ids)
    open_ids = store.still_open(session, ids)
    for row_id, event, why in owed:
        fact = facts.get(event.handoff_id)
        if fact is None or event.handoff_id not in open_ids or (event.kind == "warning" and now >= fact.due):
            out.dropped.append(row_id)
        elif targets := _targets(event, fact, config, admins):
            out.ready.append((row_id, event, fact, targets))
        else:
            out.still.append((row_id, why_nobody(event, fact, config.manager_rollup), why))
    return out


def _hand_on(
    session: Session, owed: Owed, now: dt.datetime, config: SlaConfig, report: SweepReport, pings: Pings
) -> list[Planned]:
    """The pings of the owed events someone can be told of now, for the rows this sweep claims (a
    sweeper racing for them claims none of them twice)."""
    taken = deliveries.claim_waiting(session, [row for row, *_ in owed.ready] + owed.dropped)
    rows: list[Planned] = []
    for row_id, event, fact, targets in owed.ready:
        if row_id in taken:
            rows += _deliveries(event, fact, targets, now, config.escalation_channel, pings)
            report.handed_on += 1
    if report.handed_on or owed.dropped:
        logger.info(
            "SLA sweep: %d owed pings handed on, %d no longer needed", report.handed_on, len(owed.dropped)
        )
    for row_id, why, before in owed.still:
        report.waiting[why] = report.waiting.get(why, 0) + 1
        if why != before:  # the data changed, but not enough: the ledger says why now
            deliveries.still_waiting(session, row_id, why, now)
    return rows
