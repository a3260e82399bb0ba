"""Managers' daily roll-ups instead of storms: each manager gets ONE DM a day listing their team's new
SLA breaches and the team's plays that are overdue, instead of one DM per breach (a sweep of 20,000
breaches used to queue 20,000 more DMs for a few managers, at Slack's one message per second per
conversation: hours).

What stays immediate and what is rolled up (``[sla] manager_rollup``, on by default):

- immediate: every ping to the person who must act — the owner's warning and breach, and each
  escalation step (nobody acknowledged the breach: now the manager must act);
- rolled up: the manager's copy of a breach, which is for their information (the owner has it).

A manager's roll-up for local day D is due from ``[sla] rollup_hour`` on D in the manager's time zone
and lists the breaches recorded since their previous roll-up's time (the 24 hours before, normally),
so each breach is in exactly one roll-up. It is claimed in the delivery ledger under
(workspace, ``sla_rollup``, "<manager id>:<D>"): any number of ticks, replicas or restarts send it once.
The overdue plays are those past their due time at the roll-up (open or accepted; snoozed ones are
not), owned by a direct report: listed every day while they stay overdue — a play's owner gets its
own message when it opens, and its manager hears of it here only once it is late. A day without a
new breach or an overdue play sends nothing (the next roll-up starts at the last one sent: the quiet
days in between had nothing to list), and days the worker was down are caught up by the next roll-up,
up to a week back. Only direct reports count as the team (as in ``/sla team``).

The message is built by a function the caller passes (``digests/rollups.rollup_args``): services do
not build Block Kit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.policies import SlaConfig
from storage import deliveries
from storage import rollups as store
from storage.db import Database
from storage.rollups import Manager, TeamBreach, TeamOverduePlay

ROLLUP = "sla_rollup"  # the delivery kind of a manager's daily roll-up


@dataclass(frozen=True)
class Rollup:
    """One manager's roll-up for one day: what ``build`` turns into a DM."""

    workspace_id: int
    manager: Manager
    day: dt.date  # in the manager's time zone
    since: dt.datetime
    until: dt.datetime
    breaches: list[TeamBreach] = field(default_factory=list)
    overdue: list[TeamOverduePlay] = field(default_factory=list)  # the team's plays past due now
    play_titles: dict[str, str] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return f"{self.manager.id}:{self.day.isoformat()}"


Build = Callable[[Rollup, dt.datetime], dict[str, Any]]  # chat.postMessage arguments, no channel


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


CATCH_UP_DAYS = 7  # a roll-up after days without one covers them all, up to a week


def window(
    manager: Manager, now: dt.datetime, hour: int, last: dt.date | None = None
) -> tuple[dt.date, dt.datetime, dt.datetime] | None:
    """(local day, since, until) of the manager's roll-up that is due at ``now``; None before today's
    roll-up time (yesterday's is then the latest, and it was due yesterday). It starts where the
    manager's ``last`` roll-up ended (one day before for the first; at most a week before)."""
    zone = _zone(manager.timezone)
    local = now.astimezone(zone)
    until = dt.datetime.combine(local.date(), dt.time(hour), zone)
    if local < until:
        return None
    back = 1 if last is None or last >= local.date() else min((local.date() - last).days, CATCH_UP_DAYS)
    since = dt.datetime.combine(local.date() - dt.timedelta(days=back), dt.time(hour), zone)
    return local.date(), since.astimezone(dt.UTC), until.astimezone(dt.UTC)


def due(
    db: Database, ws: int, now: dt.datetime, config: SlaConfig, play_titles: dict[str, str] | None = None
) -> list[Rollup]:
    """The roll-ups due at ``now`` and not yet claimed, with the team's new breaches and the plays
    overdue now; those with nothing to say are left out."""
    if not config.manager_rollup:
        return []
    with db.read() as session:
        wanted: list[Rollup] = []
        last = store.last_days(session, ws, ROLLUP)
        for manager in store.managers(session, ws):
            when = window(manager, now, config.rollup_hour, last.get(manager.id))
            if when is not None:
                wanted.append(Rollup(ws, manager, *when))
        if not wanted:
            return []
        claimed = deliveries.taken(session, ROLLUP, [r.subject for r in wanted])
        wanted = [r for r in wanted if (ws, r.subject) not in claimed]
        if not wanted:
            return []
        since = min(r.since for r in wanted)
        until = max(r.until for r in wanted)
        ids = [r.manager.id for r in wanted]
        rows = store.team_breaches(session, ws, ids, since, until)
        late = store.team_overdue_plays(session, ws, ids, now)
    by_manager: dict[int, list[TeamBreach]] = {}
    for row in rows:
        by_manager.setdefault(row.manager_id, []).append(row)
    overdue: dict[int, list[TeamOverduePlay]] = {}
    for play in late:
        overdue.setdefault(play.manager_id, []).append(play)
    out = []
    for rollup in wanted:
        mine = [
            b for b in by_manager.get(rollup.manager.id, []) if rollup.since <= b.breached_at < rollup.until
        ]
        plays = overdue.get(rollup.manager.id, [])
        if mine or plays:
            out.append(
                Rollup(
                    ws, rollup.manager, rollup.day, rollup.since, rollup.until, mine, plays, play_titles or {}
                )
            )
    return out


def queue(
    db: Database,
    ws: int,
    now: dt.datetime,
    config: SlaConfig,
    build: Build,
    play_titles: dict[str, str] | None = None,
) -> int:
    """Queue every manager roll-up that is due (``due``) in the delivery ledger; returns how many this
    call claimed (a second call, a second worker: 0)."""
    rollups = due(db, ws, now, config, play_titles)
    if not rollups:
        return 0
    rows = []
    for rollup in rollups:
        args = build(rollup, now)
        if config.escalation_channel:
            args["_fallback"] = config.escalation_channel  # a manager who left: the channel
        rows.append((ws, ROLLUP, rollup.subject, rollup.manager.slack_user_id, args))
    with db.write() as session:
        before = deliveries.taken(session, ROLLUP, [r[2] for r in rows])
        deliveries.enqueue_many(session, rows, now)
    return len([r for r in rows if (ws, r[2]) not in before])
