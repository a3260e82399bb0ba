"""KPI targets: the append-only history of every change (``kpi_target_changes``) and the targets in
force at any time, read back from it. The rules (which target wins, status) are ``services.goals``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import models as m

Layer = str  # "set" (Slack or the CLI: overrides) or "policy" (the policy file's)
TargetKey = tuple[str, str, str | None]  # (KPI, period kind, segment or None for every segment)


@dataclass(frozen=True)
class TargetChange:
    kpi: str
    period_kind: str
    segment: str | None
    layer: Layer
    old: Decimal | None
    new: Decimal | None
    by: str
    at: dt.datetime


def _change(row: m.KpiTargetChange) -> TargetChange:
    return TargetChange(
        row.kpi,
        row.period_kind,
        row.segment,
        row.layer,
        row.old_value,
        row.new_value,
        row.changed_by,
        row.changed_at,
    )


def in_force_changes(
    session: Session, ws: int, at: dt.datetime, layer: Layer, *, cleared: bool = False
) -> dict[TargetKey, TargetChange]:
    """The targets of ``layer`` in force at ``at``, each as the change that set it: the latest
    change of each key up to ``at`` (a key whose latest change cleared it is left out, unless
    ``cleared``: then that change is given too, its ``new`` None)."""
    t = m.KpiTargetChange
    latest = (
        select(
            t.id,
            func.row_number()
            .over(
                partition_by=(t.kpi, t.period_kind, t.segment),
                order_by=(t.changed_at.desc(), t.id.desc()),
            )
            .label("rank"),
        )
        .where(t.workspace_id == ws, t.layer == layer, t.changed_at <= at)
        .subquery()
    )
    rows = session.execute(
        select(t.kpi, t.period_kind, t.segment, t.layer, t.old_value, t.new_value, t.changed_by, t.changed_at)
        .join(latest, latest.c.id == t.id)
        .where(latest.c.rank == 1, *([] if cleared else [t.new_value.is_not(None)]))
    ).all()
    return {(r[0], r[1], r[2]): TargetChange(*r) for r in rows}


def in_force(session: Session, ws: int, at: dt.datetime, layer: Layer) -> dict[TargetKey, Decimal]:
    """The targets of ``layer`` in force at ``at``, by key."""
    return {k: c.new for k, c in in_force_changes(session, ws, at, layer).items() if c.new is not None}


def lock(session: Session, ws: int) -> None:
    """Hold the workspace's row until the transaction ends (PostgreSQL ``SELECT … FOR UPDATE``), so
    two writers that compare the history and then record a change take turns. SQLite needs nothing:
    its write transactions begin ``IMMEDIATE`` and so run one at a time."""
    session.execute(select(m.Workspace.id).where(m.Workspace.id == ws).with_for_update())


def record(
    session: Session,
    ws: int,
    key: TargetKey,
    layer: Layer,
    new: Decimal | None,
    *,
    by: str,
    at: dt.datetime,
) -> TargetChange | None:
    """Record that ``key``'s target in ``layer`` became ``new`` (None: cleared), with the value it
    had; nothing when it already was that (a retried request changes nothing)."""
    kpi, kind, segment = key
    t = m.KpiTargetChange
    old = session.scalar(
        select(t.new_value)
        .where(
            t.workspace_id == ws,
            t.layer == layer,
            t.kpi == kpi,
            t.period_kind == kind,
            t.segment.is_(None) if segment is None else t.segment == segment,
            t.changed_at <= at,
        )
        .order_by(t.changed_at.desc(), t.id.desc())
        .limit(1)
    )
    if old == new:
        return None
    row = m.KpiTargetChange(
        workspace_id=ws,
        kpi=kpi,
        period_kind=kind,
        segment=segment,
        layer=layer,
        old_value=old,
        new_value=new,
        changed_by=by,
        changed_at=at,
    )
    session.add(row)
    session.flush()
    return _change(row)


def history(session: Session, ws: int, kpi: str | None = None, limit: int = 200) -> list[TargetChange]:
    """The changes, newest first (of one KPI, or all)."""
    t = m.KpiTargetChange
    query = select(t).where(t.workspace_id == ws)
    if kpi is not None:
        query = query.where(t.kpi == kpi)
    rows = session.scalars(query.order_by(t.changed_at.desc(), t.id.desc()).limit(limit)).all()
    return [_change(r) for r in rows]
