"""The scheduled work and its timing: APScheduler 3.11 ticks, the database decides.

Interval jobs, all idempotent and safe on any number of replicas: ``plan`` (every
``TICK_SECONDS``: daily snapshots and win detection, shout-outs, due digests — ``plan`` below),
``sla`` (every ``SLA_SWEEP_SECONDS``: warnings, breaches, escalations and their pings) and
``deliver`` (every ``DELIVER_SECONDS``: the outbox), and with ``[sync] every`` set, ``sync`` (the
warehouse sync, asked every tick, run once per interval: ``services.sync``). The jobs live in
APScheduler's memory store only as timers; what is due comes from subscriptions and the delivery
ledger, so nothing is lost or repeated when the code or the process changes. ``serve`` runs them
in a background thread unless ``SCHEDULER=false``; ``retention-bot worker`` runs them alone.
"""

from __future__ import annotations

import datetime as dt
import gc
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
from digests import plays as play_messages
from digests import rollups, shoutout
from digests.jobs import enqueue_digests
from digests.sla_pings import sweep_and_queue
from services import handoffs, plays, wins
from services import sync as warehouse_sync
from services.daily import run_daily
from services.errors import ConfigError
from services.sla import SweepReport
from storage.db import Database
from storage.workspaces import enabled_ids

logger = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def settle_heap() -> None:
    """Take what the process built at start-up (modules, mappers, settings, the engine) out of the
    cyclic garbage collector's reach (``gc.freeze``), as long-running Python services do: otherwise
    every full collection walks that whole heap again, and one that falls inside a fan-out holds the
    GIL for 60–90 ms while 200 messages wait (bench/digest_fanout.py: the lease of a week's 400
    messages took 90–114 ms instead of 23–27). Called once by `worker` and `serve` before the scheduled
    work starts; nothing built later is affected."""
    gc.collect()
    gc.freeze()


@dataclass
class PlanReport:
    snapshots: int = 0
    wins_detected: int = 0
    shoutouts: int = 0
    digests: int = 0
    handoffs_opened: int = 0  # sales→CS handoffs started by a CRM closed/won
    plays_opened: int = 0
    rollups: int = 0  # managers' daily roll-ups of their team's breaches
    shipped_notices: int = 0  # owners told that a theme their accounts asked for shipped


def announce_wins(settings: Settings) -> wins.Announce:
    """The shout-out queue, with the settings it needs: ``services.wins``' hook into ``digests``."""
    return partial(
        shoutout.queue,
        currency=settings.policies.currency,
        templates=settings.digest_templates,
        admins=settings.admin_user_ids,
    )


def notify_plays(settings: Settings) -> plays.Notify:
    """The plays' owner messages: ``services.plays``' hook into the Slack layer (``digests.plays``:
    one message per owner per evaluation, a roll-up when it opened several)."""
    return play_messages.notifier(settings.policies)


def plan(db: Database, now: dt.datetime, settings: Settings) -> PlanReport:
    """One tick's planning for every enabled workspace; one workspace's failure never stops the others."""
    report = PlanReport()
    policies = settings.policies
    announce = announce_wins(settings)
    with db.read() as session:
        workspaces = enabled_ids(session)
    for ws in workspaces:
        try:
            daily = run_daily(db, ws, now, policies, notify_plays(settings))
            report.snapshots += daily.snapshots
            report.plays_opened += daily.plays_opened
            report.wins_detected += daily.wins_detected
            report.shoutouts += wins.queue_owed(
                db, ws, now, per_day=policies.wins.detected_shoutouts_per_day, announce=announce
            )
            report.handoffs_opened += handoffs.open_for_closed_won(db, ws, policies.sla, now)
            report.rollups += rollups.queue(db, ws, now, policies)
            plays.wake_snoozed(db, ws, now)
            report.shipped_notices += feedback_digests.queue_shipped_notices(db, ws, now)
        except Exception:
            logger.exception("scheduled work for workspace %s failed; the next tick tries again", ws)
    try:
        report.digests += enqueue_digests(
            db,
            now,
            policies=policies,
            templates=settings.digest_templates,
            admins=settings.admin_user_ids,
            charts=settings.digest_charts,
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
        self.last_sync: warehouse_sync.DueRun | None = None  # tick()'s warehouse sync, if it ran one

    def plan(self) -> PlanReport:
        report = plan(self.db, self.clock(), self.settings)
        if (
            report.digests
            or report.shoutouts
            or report.wins_detected
            or report.snapshots
            or report.plays_opened
            or report.rollups
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

    def sync(self) -> warehouse_sync.DueRun | None:
        """The warehouse sync, when ``[sync] every`` is set and this interval's is not done yet (by any
        replica); into the workspace the CLI uses (RETENTION_BOT_WORKSPACE)."""
        cfg = self.settings.policies.sync
        if not cfg.every:
            return None
        from services.tenancy import configured_workspace

        try:
            slug = configured_workspace(self.settings.workspace, oauth=self.settings.oauth)
        except ConfigError as exc:
            logger.error("warehouse sync: %s", exc)
            return None
        return warehouse_sync.run_due(self.db, slug, cfg, self.clock())

    def tick(self) -> tuple[PlanReport, DrainReport]:
        """Sync (when due), plan and sweep, then deliver what they queued at once (the jobs also run on
        their own)."""
        self.last_sync = self.sync()
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
        jobs: list[tuple[str, Callable[[], object], int, dt.datetime | None]] = [
            ("plan", self.plan_and_deliver, self.settings.tick_seconds, first),
            ("sla", self.sweep_and_deliver, self.settings.sla_sweep_seconds, first),
            ("deliver", self.deliver, self.settings.deliver_seconds, None),
        ]
        if self.settings.policies.sync.every:  # due once per interval; asked every tick
            jobs.append(("sync", self.sync, self.settings.tick_seconds, first))
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
