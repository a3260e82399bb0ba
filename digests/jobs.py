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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.settings import Settings
from digests.digest import DigestError, DigestMessage, gather, render
from digests.notices import tell_admins
from digests.schedule import DIGEST, Due, claim, due
from digests.shoutout import shoutout_args
from services.handoffs import open_for_closed_won
from storage import deliveries, health, wins
from storage.db import Database
from storage.models import JobRun, Workspace
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
    with db.read() as session:
        context = gather(session, ws, as_of=as_of, now=now, policies=settings.policies, segment=segment)
    message = render(context, settings.digest_templates)
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
                report.handoffs_opened += open_for_closed_won(session, ws, settings.policies.sla, now)
        except Exception:
            logger.exception("scheduled work for workspace %s failed; the next tick tries again", ws)
    try:
        report.digests += enqueue_digests(db, now, settings)
    except Exception:
        logger.exception("planning the digests failed; the next tick tries again")
    return report
