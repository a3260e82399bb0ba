"""People: who a Slack user is in the data, and who reports to whom.

Every function takes the workspace id and filters on it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import models as m


def person_by_slack_id(session: Session, ws: int, slack_user_id: str) -> m.Person | None:
    return session.scalars(
        select(m.Person).where(m.Person.workspace_id == ws, m.Person.slack_user_id == slack_user_id)
    ).first()


def people_by_slack_ids(session: Session, ws: int, ids: list[str]) -> dict[str, m.Person]:
    rows = session.scalars(
        select(m.Person).where(m.Person.workspace_id == ws, m.Person.slack_user_id.in_(ids))
    )
    return {p.slack_user_id: p for p in rows if p.slack_user_id}


def reports_of(session: Session, ws: int, manager_id: int) -> list[int]:
    return list(
        session.scalars(
            select(m.Person.id).where(m.Person.workspace_id == ws, m.Person.manager_id == manager_id)
        )
    )
