"""Rows for the plays tests, written straight through the models (the importer has its own tests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count

from sqlalchemy.orm import Session

from storage import models as m
from storage import usage_rollup

_ids = count(1)


def person(
    session: Session, ws: int, name: str, team: str, slack: str | None, manager: int | None = None
) -> int:
    p = m.Person(
        workspace_id=ws,
        email=f"{name.lower()}@x.io",
        name=name,
        team=team,
        slack_user_id=slack,
        manager_id=manager,
    )
    session.add(p)
    session.flush()
    return p.id


def account(session: Session, ws: int, ext: str, **kw: object) -> int:
    name = str(kw.pop("name", f"Account {ext}"))
    a = m.Account(
        workspace_id=ws,
        external_id=ext,
        name=name,
        name_key=name.lower(),
        segment=str(kw.pop("segment", "smb")),
        **kw,
    )
    session.add(a)
    session.flush()
    return a.id


def health(session: Session, ws: int, account_id: int, day: dt.date, score: float, band: str) -> None:
    session.add(
        m.HealthSnapshot(
            workspace_id=ws, account_id=account_id, day=day, score=score, band=band, components={}
        )
    )


def usage(
    session: Session,
    ws: int,
    account_id: int,
    first: dt.date,
    last: dt.date,
    users: int,
    seats: int | None = None,
) -> None:
    day = first
    while day <= last:
        session.add(
            m.UsageDaily(
                workspace_id=ws, account_id=account_id, day=day, active_users=users, licensed_seats=seats
            )
        )
        day += dt.timedelta(days=1)
    session.flush()
    # as every writer of usage rows does: the running totals the usage_drop trigger reads
    usage_rollup.refresh(session, ws)


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def ticket(session: Session, ws: int, account_id: int, day: dt.date, priority: str) -> None:
    session.add(
        m.Ticket(
            workspace_id=ws,
            external_id=f"T{next(_ids)}",
            account_id=account_id,
            opened_at=at(day),
            priority=priority,
        )
    )


def nps(session: Session, ws: int, account_id: int, day: dt.date, score: int) -> None:
    session.add(
        m.NpsResponse(
            workspace_id=ws,
            external_id=f"N{next(_ids)}",
            account_id=account_id,
            responded_at=at(day),
            score=score,
        )
    )


def touch(session: Session, ws: int, account_id: int, day: dt.date, kind: str) -> None:
    session.add(
        m.Touchpoint(
            workspace_id=ws,
            external_id=f"P{next(_ids)}",
            account_id=account_id,
            kind=kind,
            occurred_at=at(day),
        )
    )


def mrr(session: Session, ws: int, account_id: int, month: dt.date, amount: str) -> None:
    session.add(m.MrrSnapshot(workspace_id=ws, account_id=account_id, month=month, mrr=Decimal(amount)))


def milestone(session: Session, ws: int, account_id: int, kind: str, achieved: dt.date | None) -> None:
    session.add(m.Milestone(workspace_id=ws, account_id=account_id, kind=kind, achieved_on=achieved))


def flag(
    session: Session, ws: int, account_id: int, flagged: dt.date, resolved: dt.date | None = None
) -> None:
    session.add(
        m.RiskFlag(
            workspace_id=ws,
            external_id=f"R{next(_ids)}",
            account_id=account_id,
            flagged_on=flagged,
            reason="test",
            outcome="open" if resolved is None else "saved",
            resolved_on=resolved,
        )
    )
