"""The account health card: everything `/health ACCOUNT` and `retention-bot health` show."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.settings import HealthPolicy
from storage import health, vocab
from storage import models as m
from storage.periods import latest_complete_month

RECENT_WINS_DAYS = 90
RENEWAL_WINDOW_DAYS = 90
PROMOTER = 9


@dataclass(frozen=True)
class Owner:
    role: str
    team: str
    name: str
    email: str
    slack_user_id: str | None


@dataclass(frozen=True)
class OpenHandoff:
    id: int
    external_id: str
    kind: str
    from_team: str
    to_team: str
    owner: str | None
    due_at: dt.datetime
    paused: bool

    def state(self, now: dt.datetime) -> str:
        if self.paused:
            return "paused"
        left = self.due_at - now
        hours = abs(left.total_seconds()) / 3600
        span = f"{hours:.0f}h" if hours < 48 else f"{hours / 24:.0f}d"
        return f"due in {span}" if left.total_seconds() >= 0 else f"overdue by {span}"


@dataclass(frozen=True)
class RecentWin:
    won_on: dt.date
    kind: str
    text: str
    amount: Decimal | None
    teams: list[str]
    people: list[str]


@dataclass
class AccountCard:
    account: m.Account
    stage: str
    mrr: Decimal
    health: health.AccountHealth
    owners: list[Owner] = field(default_factory=list)
    handoffs: list[OpenHandoff] = field(default_factory=list)
    wins: list[RecentWin] = field(default_factory=list)

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        card, h = self, self.health
        return {
            "account": {
                "external_id": card.account.external_id,
                "name": card.account.name,
                "domain": card.account.domain,
                "segment": card.account.segment,
                "stage": card.stage,
                "renewal_on": None
                if card.account.renewal_on is None
                else card.account.renewal_on.isoformat(),
                "mrr": str(card.mrr),
                "arr": str(card.arr),
                "crm_url": card.account.crm_url,
            },
            "health": {
                "score": h.now.score,
                "band": h.now.band,
                "score_30_days_ago": h.then.score,
                "trend": h.trend,
                "components": {k: round(v, 1) for k, v in h.now.components.items()},
                "drivers": [{"component": d.component, "change": round(d.change, 1)} for d in h.drivers],
            },
            "owners": [o.__dict__ for o in card.owners],
            "open_handoffs": [
                {
                    "id": x.external_id,
                    "kind": x.kind,
                    "from": x.from_team,
                    "to": x.to_team,
                    "owner": x.owner,
                    "due_at": x.due_at.isoformat(),
                    "state": x.state(now),
                }
                for x in card.handoffs
            ],
            "recent_wins": [
                {
                    "won_on": w.won_on.isoformat(),
                    "kind": w.kind,
                    "text": w.text,
                    "amount": None if w.amount is None else str(w.amount),
                    "teams": w.teams,
                    "people": w.people,
                }
                for w in card.wins
            ],
        }


def derive_stage(
    *,
    explicit: str | None,
    closed_won: dt.date | None,
    paying: bool,
    paid_before: bool,
    milestones: dict[str, dt.date | None],
    promoter: bool,
    renewal_on: dt.date | None,
    today: dt.date,
) -> str:
    """The lifecycle stage from data (PRODUCT.md): an imported stage wins when there is one."""
    if explicit:
        return explicit
    if paid_before and not paying:
        return "churned"
    if renewal_on is not None and paying and 0 <= (renewal_on - today).days <= RENEWAL_WINDOW_DAYS:
        return "renewal"
    if milestones.get("adopted") or milestones.get("first_value"):
        return "champion" if milestones.get("adopted") and promoter else "adopted"
    if milestones.get("kickoff"):
        return "onboarded"
    if closed_won is not None or paying:
        return "closed_won"
    return "qualified"


def account_card(
    session: Session, ws: int, account_id: int, *, now: dt.datetime, policy: HealthPolicy
) -> AccountCard:
    today = now.date()
    acc = session.scalars(
        select(m.Account).where(m.Account.workspace_id == ws, m.Account.id == account_id)
    ).one()
    month = latest_complete_month(today)
    mrr_rows = dict(
        session.execute(
            select(m.MrrSnapshot.month, m.MrrSnapshot.mrr).where(
                m.MrrSnapshot.workspace_id == ws,
                m.MrrSnapshot.account_id == account_id,
                m.MrrSnapshot.month <= month,
            )
        ).all()
    )
    mrr = mrr_rows.get(month, Decimal("0.00"))
    milestones = dict(
        session.execute(
            select(m.Milestone.kind, m.Milestone.achieved_on).where(
                m.Milestone.workspace_id == ws, m.Milestone.account_id == account_id
            )
        ).all()
    )
    nps = session.scalar(
        select(func.avg(m.NpsResponse.score)).where(
            m.NpsResponse.workspace_id == ws,
            m.NpsResponse.account_id == account_id,
            m.NpsResponse.responded_at >= now - dt.timedelta(days=180),
        )
    )
    stage = derive_stage(
        explicit=acc.stage,
        closed_won=acc.closed_won_on,
        paying=mrr > 0,
        paid_before=any(v > 0 for v in mrr_rows.values()),
        milestones=milestones,
        promoter=nps is not None and float(nps) >= PROMOTER,
        renewal_on=acc.renewal_on,
        today=today,
    )
    card = AccountCard(acc, stage, mrr, health.account_health(session, ws, account_id, today, policy))

    owner_ids = {role: getattr(acc, f"{role}_id") for role in vocab.OWNER_ROLES}
    people = {
        p.id: p
        for p in session.scalars(
            select(m.Person).where(
                m.Person.workspace_id == ws, m.Person.id.in_([i for i in owner_ids.values() if i])
            )
        )
    }
    for role, pid in owner_ids.items():
        if pid in people:
            p = people[pid]
            card.owners.append(Owner(role, vocab.OWNER_ROLE_TEAMS[role], p.name, p.email, p.slack_user_id))

    h = m.Handoff
    for row in session.execute(
        select(
            h.id,
            h.external_id,
            h.kind,
            h.from_team,
            h.to_team,
            m.Person.name,
            h.effective_due_at,
            h.paused_since,
        )
        .outerjoin(m.Person, m.Person.id == h.owner_id)
        .where(h.workspace_id == ws, h.account_id == account_id, h.completed_at.is_(None))
        .order_by(h.effective_due_at)
    ):
        card.handoffs.append(
            OpenHandoff(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] is not None)
        )

    wins = session.scalars(
        select(m.Win)
        .where(
            m.Win.workspace_id == ws,
            m.Win.account_id == account_id,
            m.Win.won_on > today - dt.timedelta(days=RECENT_WINS_DAYS),
        )
        .order_by(m.Win.won_on.desc())
        .limit(5)
    ).all()
    ids = [w.id for w in wins]
    teams: dict[int, list[str]] = defaultdict(list)
    for win_id, team in session.execute(
        select(m.WinCreditTeam.win_id, m.WinCreditTeam.team)
        .where(m.WinCreditTeam.win_id.in_(ids))
        .order_by(m.WinCreditTeam.team)
    ):
        teams[win_id].append(team)
    names: dict[int, list[str]] = defaultdict(list)
    for win_id, name in session.execute(
        select(m.WinCreditPerson.win_id, m.Person.name)
        .join(m.Person, m.Person.id == m.WinCreditPerson.person_id)
        .where(m.WinCreditPerson.win_id.in_(ids))
        .order_by(m.Person.name)
    ):
        names[win_id].append(name)
    for w in wins:
        card.wins.append(RecentWin(w.won_on, w.kind, w.text, w.amount, teams[w.id], names[w.id]))
    return card
