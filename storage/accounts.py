"""The rows behind the account health card and a person's accounts: SQL only (the card itself is
``services.accounts``)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Date,
    Row,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from storage import models as m
from storage import vocab
from storage.models import table
from storage.wins import OWNER_COLUMNS

STAGE_MILESTONES = ("kickoff", "first_value", "adopted")  # the milestones the lifecycle stage reads


@functools.cache
def _card_statements() -> dict[str, Any]:
    """The card's queries, built once with bound parameters: /health runs them on every request.
    The account comes with its owners and the facts its lifecycle stage needs in one row."""
    ws: BindParameter[Any] = bindparam("ws")
    account_id: BindParameter[Any] = bindparam("account_id")
    accounts, mrr, milestones, nps = (
        table(m.Account),
        table(m.MrrSnapshot),
        table(m.Milestone),
        table(m.NpsResponse),
    )
    handoffs, wins, people = table(m.Handoff), table(m.Win), table(m.Person)
    credit_teams, credit_people = table(m.WinCreditTeam), table(m.WinCreditPerson)
    month = bindparam("month", type_=Date())
    account_mrr = [mrr.c.workspace_id == ws, mrr.c.account_id == accounts.c.id]
    facts = [
        select(mrr.c.mrr).where(*account_mrr, mrr.c.month == month).scalar_subquery().label("mrr"),
        select(mrr.c.id)
        .where(*account_mrr, mrr.c.month <= month, mrr.c.mrr > 0)
        .limit(1)
        .scalar_subquery()
        .label("paid_id"),
        select(func.avg(nps.c.score))
        .where(
            nps.c.workspace_id == ws,
            nps.c.account_id == accounts.c.id,
            nps.c.responded_at >= bindparam("since", type_=m.UTCDateTime()),
        )
        .scalar_subquery()
        .label("nps"),
        *(
            select(milestones.c.achieved_on)
            .where(
                milestones.c.workspace_id == ws,
                milestones.c.account_id == accounts.c.id,
                milestones.c.kind == kind,
            )
            .scalar_subquery()
            .label(kind)
            for kind in STAGE_MILESTONES
        ),
    ]
    # The account's own columns (not the ORM entity: loading one costs more than the query itself).
    account = select(*accounts.c).where(accounts.c.workspace_id == ws, accounts.c.id == account_id)
    for role in vocab.OWNER_ROLES:
        owner = people.alias(role)
        account = account.outerjoin(
            owner, (owner.c.id == getattr(accounts.c, f"{role}_id")) & (owner.c.workspace_id == ws)
        ).add_columns(
            owner.c.name.label(f"{role}_name"),
            owner.c.email.label(f"{role}_email"),
            owner.c.slack_user_id.label(f"{role}_slack"),
        )
    return {
        "account": account.add_columns(*facts),
        "handoffs": select(
            handoffs.c.id,
            handoffs.c.external_id,
            handoffs.c.kind,
            handoffs.c.from_team,
            handoffs.c.to_team,
            people.c.name,
            handoffs.c.effective_due_at,
            handoffs.c.paused_since,
        )
        .select_from(handoffs.outerjoin(people, people.c.id == handoffs.c.owner_id))
        .where(
            handoffs.c.workspace_id == ws,
            handoffs.c.account_id == account_id,
            handoffs.c.completed_at.is_(None),
        )
        .order_by(handoffs.c.effective_due_at),
        "wins": select(wins.c.id, wins.c.won_on, wins.c.kind, wins.c.text, wins.c.amount)
        .where(
            wins.c.workspace_id == ws,
            wins.c.account_id == account_id,
            wins.c.won_on > bindparam("wins_since", type_=Date()),
        )
        .order_by(wins.c.won_on.desc(), wins.c.id.desc())
        .limit(5),
        # Each win's credited teams and people, in one round trip: (win id, is a person, name).
        "credits": union_all(
            select(
                credit_teams.c.win_id, literal(False).label("person"), credit_teams.c.team.label("name")
            ).where(
                credit_teams.c.workspace_id == ws,
                credit_teams.c.win_id.in_(bindparam("ids", expanding=True)),
            ),
            select(credit_people.c.win_id, literal(True), people.c.name)
            .join(people, people.c.id == credit_people.c.person_id)
            .where(
                credit_people.c.workspace_id == ws,
                credit_people.c.win_id.in_(bindparam("ids", expanding=True)),
            ),
        ).order_by("name"),
    }


@dataclass
class CardFacts:
    """The rows behind one account's card, as read: the account row (its columns, its owners'
    name/email/slack per role, mrr, paid_id, nps and the `STAGE_MILESTONES` dates), its open
    handoffs, its recent wins, and each win's credited (teams, people) by win id."""

    account: Row[Any]
    handoffs: list[Any]  # rows: id, external_id, kind, from_team, to_team, owner name, due, paused_since
    wins: list[Any]  # rows: id, won_on, kind, text, amount
    credits: dict[int, tuple[list[str], list[str]]] = field(default_factory=dict)


def card_facts(
    conn: Connection,
    ws: int,
    account_id: int,
    *,
    month: dt.date,
    since: dt.datetime,
    wins_since: dt.date,
) -> CardFacts:
    """One account's card rows in three or four indexed round trips on ``conn`` (Core execution: the
    ORM's per-statement work costs more than these lookups themselves on the /health hot path)."""
    q = _card_statements()
    params: dict[str, Any] = {
        "ws": ws,
        "account_id": account_id,
        "month": month,
        "since": since,
        "wins_since": wins_since,
    }
    row = conn.execute(q["account"], params).one()
    facts = CardFacts(row, list(conn.execute(q["handoffs"], params)), list(conn.execute(q["wins"], params)))
    if facts.wins:
        teams: dict[int, list[str]] = defaultdict(list)
        names: dict[int, list[str]] = defaultdict(list)
        ids = [w.id for w in facts.wins]
        for win_id, is_person, name in conn.execute(q["credits"], {**params, "ids": ids}):
            (names if is_person else teams)[win_id].append(name)
        facts.credits = {win_id: (teams[win_id], names[win_id]) for win_id in ids}
    return facts


def account_in_workspace(session: Session, ws: int, account_id: int) -> bool:
    """Whether ``account_id`` (a value that came from Slack) is an account of the workspace ``ws``."""
    found = session.scalar(
        select(m.Account.id).where(m.Account.workspace_id == ws, m.Account.id == account_id)
    )
    return found is not None


def owned_accounts(
    session: Session, ws: int, person_id: int, limit: int
) -> tuple[list[tuple[str, str, float | None, str | None]], int]:
    """The person's accounts (any owner role), worst latest health first; and how many there are."""
    snap = m.HealthSnapshot
    latest = (
        select(snap.account_id, func.max(snap.day).label("day"))
        .where(snap.workspace_id == ws)
        .group_by(snap.account_id)
        .subquery()
    )
    owns = or_(*[col == person_id for col in OWNER_COLUMNS])
    base = (
        select(m.Account.name, m.Account.external_id, snap.score, snap.band)
        .outerjoin(latest, latest.c.account_id == m.Account.id)
        .outerjoin(snap, and_(snap.account_id == m.Account.id, snap.day == latest.c.day))
        .where(m.Account.workspace_id == ws, owns)
    )
    total = session.scalar(select(func.count()).where(m.Account.workspace_id == ws, owns)) or 0
    rows = session.execute(base.order_by(snap.score.is_(None), snap.score, m.Account.name).limit(limit)).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows], int(total)


def segments(session: Session, ws: int) -> list[str]:
    """The segments the workspace's accounts are in, for validating and listing them."""
    query = (
        select(m.Account.segment).where(m.Account.workspace_id == ws).distinct().order_by(m.Account.segment)
    )
    return list(session.scalars(query))
