"""Who is recognised in a period: the people credited in shared wins, the owners of risk flags resolved
as saved, and the owners of handoffs completed on time — each with their team. People who opted out
(``people.unlisted``, set by ``/win optout``) are left out; their teams keep the credit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, literal, select, union_all, update
from sqlalchemy.orm import Session

from storage import models as m


@dataclass(frozen=True)
class Credited:
    name: str
    team: str
    slack_user_id: str | None
    wins: int
    saves: int
    on_time: int  # handoffs completed by their due time

    @property
    def total(self) -> int:
        return self.wins + self.saves + self.on_time


def credited_people(
    session: Session, ws: int, start: dt.date, end: dt.date, *, limit: int = 100
) -> list[Credited]:
    """People credited in [start, end), most credits first, then by name."""
    start_utc = dt.datetime.combine(start, dt.time(), dt.UTC)
    end_utc = dt.datetime.combine(end, dt.time(), dt.UTC)
    wins = (
        select(m.WinCreditPerson.person_id.label("person_id"), literal("win").label("what"))
        .join(m.Win, m.Win.id == m.WinCreditPerson.win_id)
        .where(m.Win.workspace_id == ws, m.Win.won_on >= start, m.Win.won_on < end)
    )
    saves = select(m.RiskFlag.owner_id, literal("save")).where(
        m.RiskFlag.workspace_id == ws,
        m.RiskFlag.outcome == "saved",
        m.RiskFlag.resolved_on >= start,
        m.RiskFlag.resolved_on < end,
        m.RiskFlag.owner_id.is_not(None),
    )
    handoffs = select(m.Handoff.owner_id, literal("handoff")).where(
        m.Handoff.workspace_id == ws,
        m.Handoff.owner_id.is_not(None),
        m.Handoff.completed_at >= start_utc,
        m.Handoff.completed_at < end_utc,
        m.Handoff.completed_at <= m.Handoff.effective_due_at,
    )
    credits = union_all(wins, saves, handoffs).subquery()

    def count(what: str) -> ColumnElement[int]:
        return func.sum(case((credits.c.what == what, 1), else_=0))

    n_wins, n_saves, n_on_time = count("win"), count("save"), count("handoff")
    total = func.count()
    rows = session.execute(
        select(m.Person.name, m.Person.team, m.Person.slack_user_id, n_wins, n_saves, n_on_time)
        .join(credits, credits.c.person_id == m.Person.id)
        .where(and_(m.Person.workspace_id == ws, m.Person.unlisted.is_(False)))
        .group_by(m.Person.id, m.Person.name, m.Person.team, m.Person.slack_user_id)
        .order_by(total.desc(), m.Person.name)
        .limit(limit)
    ).all()
    return [
        Credited(name, team, slack, int(w or 0), int(s or 0), int(h or 0))
        for name, team, slack, w, s, h in rows
    ]


def set_unlisted(session: Session, ws: int, person_id: int, unlisted: bool) -> None:
    session.execute(
        update(m.Person)
        .where(m.Person.workspace_id == ws, m.Person.id == person_id)
        .values(unlisted=unlisted)
    )
