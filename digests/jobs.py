"""Scheduled messages, decided each time from the database — never from pickled job state (the tick
that calls them is ``bot.scheduler.plan``):

- every digest that is due (``digests.schedule.due``): built once per workspace, segment and date,
  then claimed per channel into the delivery ledger. The outbox (``bot.outbox``) posts it.

The SLA sweep's pings are queued by ``digests.sla_pings.sweep_and_queue``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from digests.digest import DigestError, DigestMessage, context, render
from digests.notices import claim_unbuildable
from digests.schedule import DIGEST, Due, claim, due
from services import goals
from services.charts import chart_facts
from services.digest import weekly
from services.policies import Policies
from storage.db import Database
from storage.periods import PeriodKind

logger = logging.getLogger(__name__)


def enqueue_digests(
    db: Database,
    now: dt.datetime,
    *,
    policies: Policies,
    templates: Path | None,
    admins: Sequence[str],
    charts: bool = True,
) -> int:
    """Build and claim every digest that is due now; returns how many this call claimed. With
    ``charts``, each digest's thread also gets its charts (``digests.charts``), when there is data."""
    with db.read() as session:
        items = due(session, now)
    groups: dict[tuple[int, str | None, dt.date, PeriodKind, str | None], list[Due]] = defaultdict(list)
    for item in items:
        groups[(item.workspace_id, item.segment, item.as_of, item.cadence, item.team)].append(item)
    claimed = 0
    for (ws, segment, as_of, cadence, team), group in groups.items():
        try:
            message: DigestMessage | str = _build(
                db, ws, segment, as_of, now, policies, templates, cadence=cadence, team=team
            )
        except DigestError as exc:
            message = str(exc)
        facts = (
            _charts(db, ws, segment, as_of, policies, now)
            if charts and isinstance(message, DigestMessage)
            else None
        )
        with db.write() as session:
            for item in group:
                claimed += _claim(session, item, message, now, admins, facts)
    return claimed


def monthly_targets(
    db: Database, ws: int, segment: str | None, policies: Policies, now: dt.datetime
) -> tuple[float | None, float | None]:
    """NRR's and GRR's targets for the charts' dashed lines: the month's target, else the quarter's,
    else the week's (the same trailing-12-month ratio whatever the period kind)."""
    with db.read() as session:
        targets = goals.targets_in(session, ws, now, policies)

    def pick(kpi: str) -> float | None:
        for kind in ("month", "quarter", "week"):
            found = targets.pick(kpi, kind, segment)
            if found is not None:
                return float(found.value)
        return None

    return pick("nrr"), pick("grr")


def _charts(
    db: Database, ws: int, segment: str | None, as_of: dt.date, policies: Policies, now: dt.datetime
) -> dict[str, Any] | None:
    """The charts' facts (drawn at upload, once per process), or None when there is nothing to draw.
    A failure here never holds the digest back: it goes without charts."""
    try:
        nrr, grr = monthly_targets(db, ws, segment, policies, now)
        facts = chart_facts(db, ws, as_of=as_of, segment=segment, nrr_target=nrr, grr_target=grr)
    except Exception:
        logger.exception("the digest's charts for workspace %s could not be computed; sent without", ws)
        return None
    return None if facts.empty else facts.to_json()


def _build(
    db: Database,
    ws: int,
    segment: str | None,
    as_of: dt.date,
    now: dt.datetime,
    policies: Policies,
    templates: Path | None,
    *,
    cadence: PeriodKind = "week",
    team: str | None = None,
) -> DigestMessage:
    facts = weekly(
        db, ws, as_of=as_of, now=now, policies=policies, segment=segment, period_kind=cadence, team=team
    )
    message = render(context(facts), templates)
    if message.problems:
        raise DigestError(f"the digest breaks Slack's limits: {'; '.join(message.problems)}")
    return message


def _claim(
    session: Session,
    item: Due,
    message: DigestMessage | str,
    now: dt.datetime,
    admins: Sequence[str],
    charts: dict[str, Any] | None = None,
) -> bool:
    if isinstance(message, DigestMessage):
        return claim(session, item, now, message, charts)
    claim_unbuildable(
        session,
        item.workspace_id,
        admins,
        kind=DIGEST,
        subject=item.subject,
        channel_id=item.channel_id,
        words=message,
        now=now,
    )
    return False
