"""What the scheduler does, decided each time from the database — never from pickled job state:

- per workspace, once a day (claimed in ``job_runs``): yesterday's health snapshot, which the
  scorecard and the digest's movers read, and the wins the data shows (``storage.wins.detect``);
- shout-outs for recent wins that have none yet, into the workspace's wins channel;
- every digest that is due (``digests.schedule.due``): built once per workspace, segment and date,
  then claimed per channel into the delivery ledger. The outbox (``bot.outbox``) posts it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.settings import Settings
from digests.digest import DigestError, DigestMessage, context, render
from digests.notices import tell_admins
from digests.schedule import DIGEST, Due, claim, due
from digests.shoutout import shoutout_args
from digests.sla_pings import ping_args
from services import health
from services.digest import weekly
from storage import deliveries, sla, wins
from storage.db import Database
from storage.models import Handoff, JobRun, Workspace
from storage.upsert import insert_ignore

logger = logging.getLogger(__name__)

SHOUTOUT_DAYS = 7  # wins older than this get no shout-out (no flood when a wins channel is first set)


@dataclass
class PlanReport:
    snapshots: int = 0
    wins_detected: int = 0
    shoutouts: int = 0
    digests: int = 0
    handoffs_opened: int = 0  # sales→CS handoffs started by a CRM closed/won


def run_once(session: Session, ws: int, job: str, subject: str, now: dt.datetime) -> bool:
    """Claim ``job`` for ``subject`` in this workspace. Claim and work share the caller's transaction:
    if the work fails, the claim is rolled back with it and the next tick tries again."""
    return bool(
        insert_ignore(
            session,
            JobRun,
            [{"workspace_id": ws, "job": job, "subject": subject, "started_at": now, "finished_at": now}],
            ["workspace_id", "job", "subject"],
        )
    )


def daily(db: Database, ws: int, now: dt.datetime, settings: Settings, report: PlanReport) -> None:
    day = (now - dt.timedelta(days=1)).date()
    policies = settings.policies
    with db.write() as session:
        if run_once(session, ws, "health_snapshot", day.isoformat(), now):
            report.snapshots += health.snapshot(session, ws, day, policies.health)
    with db.write() as session:
        if run_once(session, ws, "detect_wins", day.isoformat(), now):
            start = day - dt.timedelta(days=policies.wins.lookback_days - 1)
            report.wins_detected += wins.detect(
                session, ws, start, day, expansion_threshold=policies.wins.expansion_arr_threshold
            )


def enqueue_shoutouts(
    session: Session,
    ws: int,
    now: dt.datetime,
    settings: Settings,
    win_ids: list[int] | None = None,
) -> int:
    """Queue the shout-out of each win (given, or every recent one without one) in the wins channel."""
    channel = session.scalar(select(Workspace.wins_channel_id).where(Workspace.id == ws))
    if not channel:
        return 0
    ids = (
        win_ids
        if win_ids is not None
        else wins.owing_shoutout(
            session,
            ws,
            now.date() - dt.timedelta(days=SHOUTOUT_DAYS),
            detected_per_day=settings.policies.wins.detected_shoutouts_per_day,
            today_start=dt.datetime.combine(now.date(), dt.time(), tzinfo=dt.UTC),
        )
    )
    queued = 0
    for win in wins.shoutouts(session, ws, ids):
        subject = wins.shoutout_subject(win.id, win.source)
        try:
            args = shoutout_args(win, settings.policies.currency, settings.digest_templates)
        except DigestError as exc:
            _unbuildable(
                session,
                ws,
                settings,
                kind=wins.SHOUTOUT,
                subject=subject,
                channel_id=channel,
                words=str(exc),
                now=now,
            )
            continue
        queued += (
            deliveries.enqueue(
                session, ws, kind=wins.SHOUTOUT, subject=subject, channel_id=channel, args=args, now=now
            )
            is not None
        )
    return queued


def _unbuildable(
    session: Session,
    ws: int,
    settings: Settings,
    *,
    kind: str,
    subject: str,
    channel_id: str,
    words: str,
    now: dt.datetime,
) -> bool:
    """A message that cannot be built is claimed as failed (not rebuilt every tick) and admins are told
    once; False when it was claimed before."""
    if (
        deliveries.enqueue(
            session,
            ws,
            kind=kind,
            subject=subject,
            channel_id=channel_id,
            args={},
            now=now,
            state=deliveries.FAILED,
            error=words,
        )
        is None
    ):
        return False
    tell_admins(
        session,
        ws,
        settings.admin_user_ids,
        kind=kind,
        subject=subject,
        channel_id=channel_id,
        words=words,
        now=now,
    )
    return True


def set_wins_channel(session: Session, ws: int, channel_id: str | None) -> None:
    session.execute(update(Workspace).where(Workspace.id == ws).values(wins_channel_id=channel_id))


def enqueue_digests(db: Database, now: dt.datetime, settings: Settings) -> int:
    """Build and claim every digest that is due now; returns how many this call claimed."""
    with db.read() as session:
        items = due(session, now)
    groups: dict[tuple[int, str | None, dt.date], list[Due]] = defaultdict(list)
    for item in items:
        groups[(item.workspace_id, item.segment, item.as_of)].append(item)
    claimed = 0
    for (ws, segment, as_of), group in groups.items():
        try:
            message: DigestMessage | str = _build(db, ws, segment, as_of, now, settings)
        except DigestError as exc:
            message = str(exc)
        with db.write() as session:
            for item in group:
                claimed += _claim(session, item, message, now, settings)
    return claimed


def _build(
    db: Database, ws: int, segment: str | None, as_of: dt.date, now: dt.datetime, settings: Settings
) -> DigestMessage:
    facts = weekly(db, ws, as_of=as_of, now=now, policies=settings.policies, segment=segment)
    message = render(context(facts), settings.digest_templates)
    if message.problems:
        raise DigestError(f"the digest breaks Slack's limits: {'; '.join(message.problems)}")
    return message


def _claim(
    session: Session, item: Due, message: DigestMessage | str, now: dt.datetime, settings: Settings
) -> bool:
    if isinstance(message, DigestMessage):
        return claim(session, item, now, message)
    _unbuildable(
        session,
        item.workspace_id,
        settings,
        kind=DIGEST,
        subject=item.subject,
        channel_id=item.channel_id,
        words=message,
        now=now,
    )
    return False


SLA_PING = "sla"
WHO = {"owner": "the owner", "manager": "the owner's manager", "managers_manager": "the manager's manager"}


def sla_sweep(db: Database, now: dt.datetime, settings: Settings) -> sla.SweepReport:
    """Record every SLA warning, breach and escalation that is due, and queue its pings, in one
    transaction: an event and its pings exist together or not at all, and only the sweeper that
    recorded an event pings for it.

    An event nobody can be told of (no Slack id, no escalation channel, no admins) is not lost: it
    waits in the delivery ledger, and a later sweep queues its pings once someone can be told — the
    person got a Slack id, a channel or an admin was configured — unless the handoff was done or
    acknowledged meanwhile (``_owed_now``)."""
    with db.read() as session:  # outside the write transaction: most sweeps find nothing changed
        owed = _owed_now(session, now, settings)
    with db.write() as session:
        report = sla.sweep(session, now, config := settings.policies.sla)
        rows: list[tuple[int, str, str, str, dict[str, Any]]] = []
        waiting: list[tuple[int, str, str, dict[str, Any], str]] = []
        for event in report.recorded:
            fact = report.facts[event.handoff_id]
            targets = _sla_targets(event, fact, settings)
            if not targets:
                why = why_nobody(event, fact)
                logger.debug(
                    "SLA %s of handoff %s waits for a recipient: %s", event.kind, fact.external_id, why
                )
                waiting.append((event.workspace_id, SLA_PING, _waiting_subject(event), {}, why))
                continue
            rows += _sla_pings(event, fact, targets, now, config.escalation_channel)
        rows += _hand_on(session, owed, now, settings, report)
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


def _waiting_subject(event: sla.Event) -> str:
    """An owed event's ledger subject: the event itself (unique per handoff, kind and step)."""
    return f"{event.handoff_id}:{event.kind}:{event.step}:waiting:{event.target}:{event.channel or ''}"


def _sla_targets(event: sla.Event, fact: sla.PingFacts, settings: Settings) -> list[tuple[str, str]]:
    """Whom an event's pings go to: its recipients, else the admins; [] when nobody can be told."""
    return sla.recipients(event, fact, settings.policies.sla.escalation_channel) or [
        ("admin", admin) for admin in settings.admin_user_ids
    ]


def _sla_pings(
    event: sla.Event,
    fact: sla.PingFacts,
    targets: list[tuple[str, str]],
    now: dt.datetime,
    escalation_channel: str | None,
) -> list[tuple[int, str, str, str, dict[str, Any]]]:
    """The delivery rows of an event's pings, one per recipient (the subject names the recipient)."""
    rows = []
    messages = ping_args(event, fact, [role for role, _ in targets], now)
    for (role, to), args in zip(targets, messages, strict=True):
        if role != "channel" and escalation_channel:
            args["_fallback"] = escalation_channel  # a person who left: the channel
        subject = f"{event.handoff_id}:{event.kind}:{event.step}:{to}"
        rows.append((event.workspace_id, SLA_PING, subject, to, args))
    return rows


def why_nobody(event: sla.Event, fact: sla.PingFacts) -> str:
    """Why nobody can be told of an event, for the sweep's report and the ledger."""
    if event.kind == "escalation" and event.target == "channel":
        missing = "the escalation step names no channel"
    elif fact.owner is None:
        missing = "the handoff has no owner"
    else:
        roles = ["owner"] if event.kind == "warning" else ["owner", "manager"]
        if event.kind == "escalation":
            roles = [event.target]
        missing = "no Slack id for " + " or ".join(WHO.get(r, r) for r in roles)
    return f"{missing}, no [sla] escalation_channel, no ADMIN_USER_IDS"


@dataclass
class Owed:
    """What a sweep decided about the owed events it found: hand on, drop, or still waiting (why)."""

    ready: list[tuple[int, sla.Event, sla.PingFacts, list[tuple[str, str]]]]
    dropped: list[int]
    still: list[tuple[int, str, str | None]]  # (row, why now, why before)


def _owed_now(session: Session, now: dt.datetime, settings: Settings) -> Owed:
    """Look at every owed event. One whose handoff is done or acknowledged is no longer needed, nor a
    warning once the handoff is due (as the sweep skips a warning it first sees late); a breach and
    each escalation step are all told, as they would have been."""
    owed = []
    for row_id, ws, subject, why in deliveries.waiting(session, SLA_PING):
        hid, kind, step, _, target, channel = subject.split(":", 5)
        owed.append((row_id, sla.Event(ws, int(hid), kind, int(step), target, channel or None), why))
    out = Owed([], [], [])
    if not owed:
        return out
    ids = sorted({event.handoff_id for _, event, _ in owed})
    facts = sla.ping_facts(session, ids)
    still_open: set[int] = set()
    for chunk in range(0, len(ids), 5000):
        still_open.update(
            session.scalars(
                select(Handoff.id).where(
                    Handoff.id.in_(ids[chunk : chunk + 5000]),
                    Handoff.completed_at.is_(None),
                    Handoff.acknowledged_at.is_(None),
                )
            )
        )
    for row_id, event, why in owed:
        fact = facts.get(event.handoff_id)
        if (
            fact is None
            or event.handoff_id not in still_open
            or (event.kind == "warning" and now >= fact.due)
        ):
            out.dropped.append(row_id)
        elif targets := _sla_targets(event, fact, settings):
            out.ready.append((row_id, event, fact, targets))
        else:
            out.still.append((row_id, why_nobody(event, fact), why))
    return out


def _hand_on(
    session: Session, owed: Owed, now: dt.datetime, settings: Settings, report: sla.SweepReport
) -> list[tuple[int, str, str, str, dict[str, Any]]]:
    """The pings of the owed events someone can be told of now, for the rows this sweep claims (a
    sweeper racing for them claims none of them twice)."""
    taken = deliveries.claim_waiting(session, [row for row, *_ in owed.ready] + owed.dropped)
    rows = []
    escalation_channel = settings.policies.sla.escalation_channel
    for row_id, event, fact, targets in owed.ready:
        if row_id in taken:
            rows += _sla_pings(event, fact, targets, now, escalation_channel)
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


def plan(db: Database, now: dt.datetime, settings: Settings) -> PlanReport:
    """One tick's planning for every enabled workspace; one workspace's failure never stops the others."""
    report = PlanReport()
    with db.read() as session:
        workspaces = list(session.scalars(select(Workspace.id).where(Workspace.disabled_reason.is_(None))))
    for ws in workspaces:
        try:
            daily(db, ws, now, settings, report)
            with db.write() as session:
                report.shoutouts += enqueue_shoutouts(session, ws, now, settings)
                report.handoffs_opened += sla.open_for_closed_won(session, ws, settings.policies.sla, now)
        except Exception:
            logger.exception("scheduled work for workspace %s failed; the next tick tries again", ws)
    try:
        report.digests += enqueue_digests(db, now, settings)
    except Exception:
        logger.exception("planning the digests failed; the next tick tries again")
    return report
