"""`demo-data --me`: the person trying the demo in Slack gets a portfolio of their own, so that /health
with no argument, /sla, /handoff list and App Home show something in the first minute.

``adopt`` puts the person in the people list (or finds them there) and runs each step of
``storage.demo.ME_STEPS`` in order: each step gets the same transaction, the workspace and a ``Me``
(who, when, and the accounts they own once ``own_accounts`` has run) and returns one line saying what it
added. A part of the product that has something to show in Slack appends its own step there.
Everything is keyed (the people row by e-mail, handoffs by ``DEMO-ME-…`` ids), so running it again
changes nothing that is already there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from storage import models as m
from storage.importer import import_records

PORTFOLIO_PER_BAND = 3  # accounts of each health band the person owns
BANDS = ("red", "yellow", "green")


@dataclass
class Me:
    person_id: int
    email: str
    slack_user_id: str | None
    now: dt.datetime  # the real time: what Slack shows is "due in 2 hours" from now
    as_of: dt.date  # the demo data's day
    accounts: list[tuple[int, str, str | None]] = field(default_factory=list)  # (id, CRM id, band)


MeStep = Callable[[Session, int, Me], str]


class MeError(ValueError):
    """The person cannot be added (their Slack id is another person's…); the message says why."""


def _person(session: Session, ws: int, email: str, slack_user_id: str | None, name: str) -> m.Person:
    """The person with this e-mail or Slack id; added to the CS team (under its head) when new."""
    people = session.scalars(
        select(m.Person).where(
            m.Person.workspace_id == ws,
            or_(m.Person.email == email, m.Person.slack_user_id == (slack_user_id or "")),
        )
    ).all()
    if len(people) > 1:
        raise MeError(f"{email} and Slack user {slack_user_id} are two different people in the people list")
    if people:
        person = people[0]
        if slack_user_id and person.slack_user_id is None:
            person.slack_user_id = slack_user_id
        return person
    head = session.scalar(
        select(m.Person.id)
        .where(m.Person.workspace_id == ws, m.Person.team == "cs", m.Person.manager_id.is_not(None))
        .order_by(m.Person.id)
        .limit(1)
    )
    person = m.Person(
        workspace_id=ws,
        email=email,
        name=name,
        team="cs",
        slack_user_id=slack_user_id,
        manager_id=head,
        timezone="UTC",
    )
    session.add(person)
    session.flush()
    return person


def own_accounts(session: Session, ws: int, me: Me) -> str:
    """Make the person CSM of ``PORTFOLIO_PER_BAND`` accounts of each health band (paying ones first,
    then by CRM id), the worst-scored others filling in for a band with fewer; the accounts' other
    owners stay."""
    snap = m.HealthSnapshot
    day = session.scalar(select(func.max(snap.day)).where(snap.workspace_id == ws, snap.day <= me.as_of))
    mine: list[tuple[int, str, str | None]] = []
    if day is not None:
        for band in BANDS:
            rows = session.execute(
                select(m.Account.id, m.Account.external_id, snap.band)
                .join(snap, and_(snap.account_id == m.Account.id, snap.day == day))
                .where(m.Account.workspace_id == ws, snap.band == band)
                .order_by(m.Account.renewal_on.is_(None), m.Account.external_id)  # paying ones first
                .limit(PORTFOLIO_PER_BAND)
            ).all()
            mine += [(r[0], r[1], r[2]) for r in rows]
        # A band with fewer accounts (red is rare in a healthy book): the worst of the rest fill in.
        short = PORTFOLIO_PER_BAND * len(BANDS) - len(mine)
        if short > 0:
            rows = session.execute(
                select(m.Account.id, m.Account.external_id, snap.band)
                .join(snap, and_(snap.account_id == m.Account.id, snap.day == day))
                .where(m.Account.workspace_id == ws, m.Account.id.not_in([a[0] for a in mine] or [0]))
                .order_by(snap.score, m.Account.external_id)
                .limit(short)
            ).all()
            mine += [(r[0], r[1], r[2]) for r in rows]
    if not mine:  # no health yet: the first accounts
        first = session.execute(
            select(m.Account.id, m.Account.external_id)
            .where(m.Account.workspace_id == ws)
            .order_by(m.Account.external_id)
            .limit(PORTFOLIO_PER_BAND * len(BANDS))
        ).all()
        mine = [(r[0], r[1], None) for r in first]
    if mine:
        session.execute(
            update(m.Account)
            .where(m.Account.workspace_id == ws, m.Account.id.in_([a[0] for a in mine]))
            .values(csm_id=me.person_id)
        )
    me.accounts = mine
    bands = ", ".join(f"{sum(a[2] == b for a in mine)} {b}" for b in BANDS if any(a[2] == b for a in mine))
    return f"you own {len(mine)} accounts as CSM" + (f" ({bands})" if bands else "")


# (external id suffix, kind, from team, to team, opened hours before now, due hours after now)
_HANDOFFS = (
    ("1", "escalation", "support", "cs", 30, -6),  # overdue by 6 hours
    ("2", "sales_to_cs", "sales", "cs", 46, 2),  # due in 2 hours
    ("3", "cs_kickoff", "cs", "cs", 20, 20),  # due tomorrow
)


def open_handoffs(session: Session, ws: int, me: Me) -> str:
    """Open handoffs owned by the person on their accounts: one overdue, one due within hours, one
    due tomorrow (imported, so validated and clocked like any other)."""
    if not me.accounts:
        return "no handoffs: no accounts to hand off"
    records = []
    for n, (suffix, kind, src, dst, opened, due) in enumerate(_HANDOFFS):
        _, external_id, _ = me.accounts[n % len(me.accounts)]
        records.append(
            {
                "external_id": f"DEMO-ME-{me.person_id}-{suffix}",
                "account": external_id,
                "kind": kind,
                "from_team": src,
                "to_team": dst,
                "owner_email": me.email,
                "opened_at": (me.now - dt.timedelta(hours=opened)).isoformat(),
                "due_at": (me.now + dt.timedelta(hours=due)).isoformat(),
                "completed_at": None,
            }
        )
    result = import_records(
        session, ws, "handoffs", ((i, r, None) for i, r in enumerate(records, 1)), source="demo --me"
    )
    return (
        f"{len(records)} open handoffs ({result.inserted} new): one overdue, one due in 2 hours, one tomorrow"
    )


def adopt(
    session: Session,
    ws: int,
    *,
    email: str,
    slack_user_id: str | None,
    name: str,
    now: dt.datetime,
    as_of: dt.date,
    steps: list[MeStep],
) -> tuple[Me, list[str]]:
    """Put the person in the people list and run ``steps``; what each added, in words."""
    person = _person(session, ws, email, slack_user_id, name)
    me = Me(person.id, person.email, person.slack_user_id, now, as_of)
    return me, [step(session, ws, me) for step in steps]
