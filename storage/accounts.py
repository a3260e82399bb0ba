"""The account health card: everything `/health ACCOUNT` and `retention-bot health` show."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, and_, bindparam, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from services.policies import HealthPolicy
from storage import health, vocab
from storage import models as m
from storage.periods import latest_complete_month
from storage.wins import OWNER_COLUMNS

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
        return sla_state(self.due_at, self.paused, now)


def sla_state(due_at: dt.datetime, paused: bool, now: dt.datetime) -> str:
    """ "due in 5h", "overdue by 2d" or "paused", as the card, /sla and App Home show it."""
    if paused:
        return "paused"
    left = due_at - now
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
                # Every component's share of the trend (they add up to it, to rounding), largest first.
                "drivers": [
                    {
                        "component": d.component,
                        "change": round(d.change, 1),
                        "then": None if d.then is None else round(d.then, 1),
                        "now": None if d.now is None else round(d.now, 1),
                    }
                    for d in h.changes
                ],
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
    """The lifecycle stage from data (docs/import.md, accounts): an imported stage wins when there is one."""
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


STAGE_MILESTONES = ("kickoff", "first_value", "adopted")  # the milestones `derive_stage` reads


@functools.cache
def _card_statements() -> dict[str, Any]:
    """The card's queries, built once with bound parameters: /health runs them on every request.
    The account comes with its owners and the facts its lifecycle stage needs in one row."""
    ws, aid = bindparam("ws"), bindparam("account_id")
    acc, mr, ms, nps, h, w = (
        m.Account.__table__,
        m.MrrSnapshot.__table__,
        m.Milestone.__table__,
        m.NpsResponse.__table__,
        m.Handoff.__table__,
        m.Win.__table__,
    )
    p, ct, cp = m.Person.__table__, m.WinCreditTeam.__table__, m.WinCreditPerson.__table__
    month = bindparam("month", type_=Date())
    account_mrr = [mr.c.workspace_id == ws, mr.c.account_id == acc.c.id]
    facts = [
        select(mr.c.mrr).where(*account_mrr, mr.c.month == month).scalar_subquery().label("mrr"),
        select(mr.c.id)
        .where(*account_mrr, mr.c.month <= month, mr.c.mrr > 0)
        .limit(1)
        .scalar_subquery()
        .label("paid_id"),
        select(func.avg(nps.c.score))
        .where(
            nps.c.workspace_id == ws,
            nps.c.account_id == acc.c.id,
            nps.c.responded_at >= bindparam("since", type_=m.UTCDateTime()),
        )
        .scalar_subquery()
        .label("nps"),
        *(
            select(ms.c.achieved_on)
            .where(ms.c.workspace_id == ws, ms.c.account_id == acc.c.id, ms.c.kind == kind)
            .scalar_subquery()
            .label(kind)
            for kind in STAGE_MILESTONES
        ),
    ]
    # The account's own columns (not the ORM entity: loading one costs more than the query itself).
    account = select(*acc.c).where(acc.c.workspace_id == ws, acc.c.id == aid)
    for role in vocab.OWNER_ROLES:
        owner = p.alias(role)
        account = account.outerjoin(
            owner, (owner.c.id == getattr(acc.c, f"{role}_id")) & (owner.c.workspace_id == ws)
        ).add_columns(
            owner.c.name.label(f"{role}_name"),
            owner.c.email.label(f"{role}_email"),
            owner.c.slack_user_id.label(f"{role}_slack"),
        )
    return {
        "account": account.add_columns(*facts),
        "handoffs": select(
            h.c.id,
            h.c.external_id,
            h.c.kind,
            h.c.from_team,
            h.c.to_team,
            p.c.name,
            h.c.effective_due_at,
            h.c.paused_since,
        )
        .select_from(h.outerjoin(p, p.c.id == h.c.owner_id))
        .where(h.c.workspace_id == ws, h.c.account_id == aid, h.c.completed_at.is_(None))
        .order_by(h.c.effective_due_at),
        "wins": select(w.c.id, w.c.won_on, w.c.kind, w.c.text, w.c.amount)
        .where(
            w.c.workspace_id == ws, w.c.account_id == aid, w.c.won_on > bindparam("wins_since", type_=Date())
        )
        .order_by(w.c.won_on.desc(), w.c.id.desc())
        .limit(5),
        # Each win's credited teams and people, in one round trip: (win id, is a person, name).
        "credits": union_all(
            select(ct.c.win_id, literal(False).label("person"), ct.c.team.label("name")).where(
                ct.c.workspace_id == ws, ct.c.win_id.in_(bindparam("ids", expanding=True))
            ),
            select(cp.c.win_id, literal(True), p.c.name)
            .join(p, p.c.id == cp.c.person_id)
            .where(cp.c.workspace_id == ws, cp.c.win_id.in_(bindparam("ids", expanding=True))),
        ).order_by("name"),
    }


def account_card(
    session: Session, ws: int, account_id: int, *, now: dt.datetime, policy: HealthPolicy
) -> AccountCard:
    today = now.date()
    q = _card_statements()
    params: dict[str, Any] = {
        "ws": ws,
        "account_id": account_id,
        "month": latest_complete_month(today),
        "since": now - dt.timedelta(days=180),
        "wins_since": today - dt.timedelta(days=RECENT_WINS_DAYS),
    }
    # Core execution on the session's connection: the ORM's per-statement work (events, entity
    # loading) cost more than these indexed lookups themselves on the /health hot path.
    conn = session.connection()
    row = conn.execute(q["account"], params).one()
    acc = m.Account(**{col.key: row._mapping[col.name] for col in m.Account.__table__.c})
    mrr = row.mrr if row.mrr is not None else Decimal("0.00")
    stage = derive_stage(
        explicit=acc.stage,
        closed_won=acc.closed_won_on,
        paying=mrr > 0,
        paid_before=row.paid_id is not None,
        milestones={kind: getattr(row, kind) for kind in STAGE_MILESTONES},
        promoter=row.nps is not None and float(row.nps) >= PROMOTER,
        renewal_on=acc.renewal_on,
        today=today,
    )
    card = AccountCard(acc, stage, mrr, health.account_health(conn, ws, account_id, today, policy))
    for role in vocab.OWNER_ROLES:
        name = getattr(row, f"{role}_name")
        if name is not None:
            owner = Owner(
                role,
                vocab.OWNER_ROLE_TEAMS[role],
                name,
                getattr(row, f"{role}_email"),
                getattr(row, f"{role}_slack"),
            )
            card.owners.append(owner)
    for hid, ext, kind, src, dst, owner_name, due, paused in conn.execute(q["handoffs"], params):
        card.handoffs.append(OpenHandoff(hid, ext, kind, src, dst, owner_name, due, paused is not None))

    wins = conn.execute(q["wins"], params).all()
    if wins:
        teams: dict[int, list[str]] = defaultdict(list)
        names: dict[int, list[str]] = defaultdict(list)
        for win_id, is_person, name in conn.execute(q["credits"], {**params, "ids": [w.id for w in wins]}):
            (names if is_person else teams)[win_id].append(name)
        for w in wins:
            card.wins.append(RecentWin(w.won_on, w.kind, w.text, w.amount, teams[w.id], names[w.id]))
    return card


def owned_accounts(
    session: Session, ws: int, person_id: int, limit: int
) -> tuple[list[tuple[str, str, float | None, str | None]], int]:
    """The person's accounts (any owner role), worst latest health first; and how many there are."""
    hs = m.HealthSnapshot
    latest = (
        select(hs.account_id, func.max(hs.day).label("day"))
        .where(hs.workspace_id == ws)
        .group_by(hs.account_id)
        .subquery()
    )
    owns = or_(*[col == person_id for col in OWNER_COLUMNS])
    base = (
        select(m.Account.name, m.Account.external_id, hs.score, hs.band)
        .outerjoin(latest, latest.c.account_id == m.Account.id)
        .outerjoin(hs, and_(hs.account_id == m.Account.id, hs.day == latest.c.day))
        .where(m.Account.workspace_id == ws, owns)
    )
    total = session.scalar(select(func.count()).where(m.Account.workspace_id == ws, owns)) or 0
    rows = session.execute(base.order_by(hs.score.is_(None), hs.score, m.Account.name).limit(limit)).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows], int(total)
