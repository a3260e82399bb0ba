"""The scheduled work and its timing: APScheduler 3.11 ticks, the database decides.

Three interval jobs, all idempotent and safe on any number of replicas: ``plan`` (every
``TICK_SECONDS``: daily snapshots and win detection, shout-outs, due digests — ``plan`` below),
``sla`` (every ``SLA_SWEEP_SECONDS``: warnings, breaches, escalations and their pings) and
``deliver`` (every ``DELIVER_SECONDS``: the outbox). The jobs live in APScheduler's memory store only
as timers; what is due comes from subscriptions and the delivery ledger, so nothing is lost or
repeated when the code or the process changes. ``serve`` runs them in a background thread unless
``SCHEDULER=false``; ``retention-bot worker`` runs them alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from slack_sdk import WebClient

from bot.outbox import DrainReport, Outbox
from bot.settings import Settings
from bot.tokens import WorkspaceClients
from digests import feedback as feedback_digests
from digests import shoutout
from digests.jobs import enqueue_digests
from digests.sla_pings import sweep_and_queue
from services import handoffs, wins
from services.daily import run_daily
from services.sla import SweepReport
from storage.db import Database
from storage.workspaces import enabled_ids

logger = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class PlanReport:
    snapshots: int = 0
    wins_detected: int = 0
    shoutouts: int = 0
    digests: int = 0
    handoffs_opened: int = 0  # sales→CS handoffs started by a CRM closed/won
    shipped_notices: int = 0  # owners told that a theme their accounts asked for shipped


def announce_wins(settings: Settings) -> wins.Announce:
    """The shout-out queue, with the settings it needs: ``services.wins``' hook into ``digests``."""
    return partial(
        shoutout.queue,
        currency=settings.policies.currency,
        templates=settings.digest_templates,
        admins=settings.admin_user_ids,
    )


def plan(db: Database, now: dt.datetime, settings: Settings) -> PlanReport:
    """One tick's planning for every enabled workspace; one workspace's failure never stops the others."""
    report = PlanReport()
    policies = settings.policies
    announce = announce_wins(settings)
    with db.read() as session:
        workspaces = enabled_ids(session)
    for ws in workspaces:
        try:
            daily = run_daily(db, ws, now, policies)
            report.snapshots += daily.snapshots
            report.wins_detected += daily.wins_detected
            report.shoutouts += wins.queue_owed(
                db, ws, now, per_day=policies.wins.detected_shoutouts_per_day, announce=announce
            )
            report.handoffs_opened += handoffs.open_for_closed_won(db, ws, policies.sla, now)
            report.shipped_notices += feedback_digests.queue_shipped_notices(db, ws, now)
        except Exception:
            logger.exception("scheduled work for workspace %s failed; the next tick tries again", ws)
    try:
        report.digests += enqueue_digests(
            db, now, policies=policies, templates=settings.digest_templates, admins=settings.admin_user_ids
        )
    except Exception:
        logger.exception("planning the digests failed; the next tick tries again")
    try:
        report.digests += feedback_digests.enqueue_voc_digests(
            db, now, currency=policies.currency, admins=settings.admin_user_ids
        )
    except Exception:
        logger.exception("planning the voice of the customer digests failed; the next tick tries again")
    return report


class Worker:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        clients: Callable[[int], WebClient] | None = None,
        channel_interval: float = 1.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.outbox = Outbox(
            db,
            clients or WorkspaceClients(settings, db),
            clock,
            threads=settings.delivery_threads,
            channel_interval=channel_interval,
            admins=settings.admin_user_ids,
        )
        self._sla_waiting = 0  # SLA pings waiting for a recipient, as last logged

    def plan(self) -> PlanReport:
        report = plan(self.db, self.clock(), self.settings)
        if (
            report.digests
            or report.shoutouts
            or report.wins_detected
            or report.snapshots
            or report.shipped_notices
        ):
            logger.info("planned: %s", report)
        return report

    def deliver(self) -> DrainReport:
        report = self.outbox.drain()
        if report.posted or report.failed or report.uncertain or report.retry:
            logger.info("delivered: %s", report)
        return report

    def sla(self) -> SweepReport:
        settings = self.settings
        report = sweep_and_queue(self.db, self.clock(), settings.policies.sla, settings.admin_user_ids)
        if report.recorded or report.handed_on:
            logger.info(
                "SLA sweep: %d warnings, %d breaches, %d escalations recorded, %d waiting pings queued",
                report.count("warning"),
                report.count("breach"),
                report.count("escalation"),
                report.handed_on,
            )
        if report.waiting_total != self._sla_waiting:  # said when it changes, not every minute
            self._sla_waiting = report.waiting_total
            logger.warning(
                "SLA sweep: %d waiting for a recipient%s",
                report.waiting_total,
                "".join(f"; {n}: {why}" for why, n in sorted(report.waiting.items())),
            )
        return report

    def tick(self) -> tuple[PlanReport, DrainReport]:
        """Plan and sweep, then deliver what they queued at once (the jobs also run on their own)."""
        planned = self.plan()
        self.sla()
        return planned, self.deliver()

    def plan_and_deliver(self) -> None:
        self.plan()
        self.deliver()  # what was just planned goes out now, not at the next deliver tick

    def sweep_and_deliver(self) -> None:
        self.sla()
        self.deliver()

    def scheduler(self, *, blocking: bool) -> BaseScheduler:
        sched: BaseScheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=dt.UTC)
        first = utcnow()  # APScheduler's timers run on real time; the work reads self.clock
        jobs = [
            ("plan", self.plan_and_deliver, self.settings.tick_seconds, first),
            ("sla", self.sweep_and_deliver, self.settings.sla_sweep_seconds, first),
            ("deliver", self.deliver, self.settings.deliver_seconds, None),
        ]
        for job_id, work, seconds, start in jobs:
            sched.add_job(
                work,
                "interval",
                seconds=seconds,
                id=job_id,
                next_run_time=start or first + dt.timedelta(seconds=seconds),
                max_instances=1,  # a slow run is never overlapped by the next
                coalesce=True,  # runs missed while busy or asleep collapse into one
                misfire_grace_time=None,
            )
        return sched
