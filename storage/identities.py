"""Slack identities: which person of the people list a Slack user is, linked by e-mail.

A link is the person's ``slack_user_id``. The bot sets it only where it is empty, never to a Slack id
another person of the workspace already has (the column is unique per workspace), and never changes
one that is set: a person's Slack id from the import wins over a guess by e-mail.
Every function takes the workspace id and filters on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from storage import models as m
from storage.bulk import update_many


@dataclass
class LinkReport:
    """What linking by e-mail did: people linked now, already linked, and left alone (with why)."""

    linked: list[tuple[str, str]] = field(default_factory=list)  # (e-mail, Slack id)
    already: int = 0
    taken: list[tuple[str, str]] = field(default_factory=list)  # (e-mail, Slack id another person has)
    differs: list[tuple[str, str, str]] = field(default_factory=list)  # (e-mail, stored id, Slack's id)
    not_found: list[str] = field(default_factory=list)  # e-mails Slack has no (active) user for


def is_linked(session: Session, ws: int, slack_user_id: str) -> bool:
    return (
        session.scalar(
            select(m.Person.id).where(m.Person.workspace_id == ws, m.Person.slack_user_id == slack_user_id)
        )
        is not None
    )


def unlinked_emails(session: Session, ws: int, emails: list[str] | None = None) -> list[str]:
    """E-mails of people without a Slack id (of ``emails`` only, when given), in order."""
    query = select(m.Person.email).where(m.Person.workspace_id == ws, m.Person.slack_user_id.is_(None))
    if emails is not None:
        query = query.where(m.Person.email.in_([e.lower() for e in emails]))
    return list(session.scalars(query.order_by(m.Person.email)))


def count_people(session: Session, ws: int) -> tuple[int, int]:
    """(people, people without a Slack id)."""
    total, unlinked = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((m.Person.slack_user_id.is_(None), 1), else_=0)), 0),
        ).where(m.Person.workspace_id == ws)
    ).one()
    return int(total), int(unlinked)


def link_by_email(
    session: Session, ws: int, slack_ids: Mapping[str, str], *, searched: list[str]
) -> LinkReport:
    """Link the people whose e-mail (any case) is a key of ``slack_ids`` to that Slack id; the other
    e-mails of ``searched`` are reported as not found. One transaction: the caller's."""
    wanted = {email.lower(): sid for email, sid in slack_ids.items()}
    report = LinkReport()
    report.not_found = sorted({e.lower() for e in searched} - set(wanted))
    if not wanted:
        return report
    people = session.execute(
        select(m.Person.id, m.Person.email, m.Person.slack_user_id).where(
            m.Person.workspace_id == ws, m.Person.email.in_(list(wanted))
        )
    ).all()
    holders = dict(
        session.execute(
            select(m.Person.slack_user_id, m.Person.email).where(
                m.Person.workspace_id == ws, m.Person.slack_user_id.in_(list(wanted.values()))
            )
        ).all()
    )
    links: list[tuple[int, str]] = []
    for person_id, email, stored in sorted(people, key=lambda row: row[1]):
        sid = wanted[email]
        if stored == sid:
            report.already += 1
        elif stored is not None:
            report.differs.append((email, stored, sid))
        elif holders.get(sid) not in (None, email):
            report.taken.append((email, sid))
        else:
            links.append((person_id, sid))
            holders[sid] = email
            report.linked.append((email, sid))
    if len(links) == 1:
        person_id, sid = links[0]
        session.execute(
            update(m.Person)
            .where(m.Person.id == person_id, m.Person.slack_user_id.is_(None))
            .values(slack_user_id=sid)
        )
    else:  # one statement for the lot (an org of 10,000 links in well under a second)
        update_many(session, m.Person.__table__, "id", ["slack_user_id"], links)  # type: ignore[arg-type]
    return report


def person_name(session: Session, ws: int, slack_user_id: str) -> str | None:
    return session.scalar(
        select(m.Person.name).where(m.Person.workspace_id == ws, m.Person.slack_user_id == slack_user_id)
    )
