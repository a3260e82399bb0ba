"""Accounts as the bot shows them: finding one from what a person typed, its health card, and a
person's own accounts. Each public function owns its transaction and returns plain data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from services.charts import health_histories_in, health_history_in
from services.errors import AlreadyShared, NoSingleAccount
from services.health import AccountHealth, account_health
from services.policies import HealthPolicy
from storage import accounts, vocab
from storage import models as m
from storage.accounts import STAGE_MILESTONES, card_facts
from storage.db import Database
from storage.deliveries import claim_share
from storage.lookup import Match, find_account
from storage.people import person_by_slack_id
from storage.periods import latest_complete_month
from storage.plays import PlayRow, list_plays


def _lookup(session: Session, ws: int, text: str) -> tuple[Match, bool]:
    """The one account ``text`` names, and whether it was taken from a typo; else `NoSingleAccount`."""
    found = find_account(session, ws, text)
    if found.match is None:
        raise NoSingleAccount(found.query, found.candidates, found.suggestions, found.more)
    return found.match, found.guessed


def resolve(session: Session, ws: int, text: str) -> Match:
    """The one account ``text`` names (CRM id, domain, name, prefix, a typo close to one name), for
    every service that takes an account query; raises `NoSingleAccount` with the candidates or the
    "did you mean" suggestions otherwise."""
    return _lookup(session, ws, text)[0]


def resolve_for_write(session: Session, ws: int, text: str) -> Match:
    """Like `resolve`, for a service that writes (a win, a handoff): nothing is recorded against a
    guess, so a typo's closest name comes back as the suggestion to confirm, not as the match."""
    match, guessed = _lookup(session, ws, text)
    if guessed:
        raise NoSingleAccount(text, [], [match])
    return match


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
    health: AccountHealth
    owners: list[Owner] = field(default_factory=list)
    handoffs: list[OpenHandoff] = field(default_factory=list)
    wins: list[RecentWin] = field(default_factory=list)
    plays: list[PlayRow] = field(default_factory=list)  # not closed, due first
    typo_of: str | None = None  # what was typed, when the account was taken from a typo of its name
    # Stored health score of each of the last 90 days up to today, oldest first (None: no snapshot).
    history: list[float | None] = field(default_factory=list)

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12


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


def account_card(
    session: Session, ws: int, account_id: int, *, now: dt.datetime, policy: HealthPolicy
) -> AccountCard:
    """The card of the account ``account_id``, in the caller's transaction."""
    today = now.date()
    # Core execution on the session's connection: the ORM's per-statement work (events, entity
    # loading) cost more than these indexed lookups themselves on the /health hot path.
    conn = session.connection()
    facts = card_facts(
        conn,
        ws,
        account_id,
        month=latest_complete_month(today),
        since=now - dt.timedelta(days=180),
        wins_since=today - dt.timedelta(days=RECENT_WINS_DAYS),
    )
    row = facts.account
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
    card = AccountCard(acc, stage, mrr, account_health(conn, ws, account_id, today, policy))
    card.history = health_history_in(session, ws, account_id, today=today)
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
    for hid, ext, kind, src, dst, owner_name, due, paused in facts.handoffs:
        card.handoffs.append(OpenHandoff(hid, ext, kind, src, dst, owner_name, due, paused is not None))
    for w in facts.wins:
        teams, people = facts.credits[w.id]
        card.wins.append(RecentWin(w.won_on, w.kind, w.text, w.amount, teams, people))
    card.plays = list_plays(session, ws, account_id=account_id)
    return card


def card(db: Database, ws: int, text: str, *, now: dt.datetime, policy: HealthPolicy) -> AccountCard:
    """The health card of the one account ``text`` names (`/health ACCOUNT`, `retention-bot health`);
    raises `NoSingleAccount`. One read transaction: the lookup and the card."""
    with db.read() as session:
        match, guessed = _lookup(session, ws, text)
        found = account_card(session, ws, match.id, now=now, policy=policy)
    found.typo_of = " ".join(text.split()) if guessed else None
    return found


def card_by_id(
    db: Database, ws: int, account_id: int | None, *, now: dt.datetime, policy: HealthPolicy
) -> AccountCard | None:
    """The card of the account a button names (a value from Slack): None when it is not an account
    of ``ws`` (any more)."""
    if account_id is None:
        return None
    with db.read() as session:
        if not accounts.account_in_workspace(session, ws, account_id):
            return None
        return account_card(session, ws, account_id, now=now, policy=policy)


def share_card(
    db: Database,
    ws: int,
    account_id: int | None,
    *,
    channel_id: str,
    subject: str,
    now: dt.datetime,
    policy: HealthPolicy,
) -> AccountCard | None:
    """The card to post in ``channel_id``, claimed once under ``subject`` (the message and what it
    shares) in the delivery ledger: None when the account is gone; raises `AlreadyShared` on a second
    press, a double click or a retried request."""
    if account_id is None:
        return None
    with db.write() as session:
        if not accounts.account_in_workspace(session, ws, account_id):
            return None
        if not claim_share(session, ws, subject=subject, channel_id=channel_id, now=now):
            raise AlreadyShared(subject)
        return account_card(session, ws, account_id, now=now, policy=policy)


@dataclass(frozen=True)
class MyAccounts:
    rows: list[tuple[str, str, float | None, str | None]]  # (name, external id, score, band), worst first
    total: int
    # External id → stored health score of each of the last 90 days (oldest first; None: no snapshot).
    histories: dict[str, list[float | None]] = field(default_factory=dict)


def my_accounts(
    db: Database, ws: int, slack_user: str, limit: int, *, today: dt.date | None = None
) -> MyAccounts | None:
    """The accounts the person ``slack_user`` owns in any role, worst latest health first, with each
    one's 90-day health history up to ``today`` (none without it); None when their Slack user is not
    in the people list."""
    with db.read() as session:
        me = person_by_slack_id(session, ws, slack_user)
        if me is None:
            return None
        rows, total = accounts.owned_accounts(session, ws, me.id, limit)
        histories = health_histories_in(session, ws, [ext for _, ext, _, _ in rows], today=today)
    return MyAccounts(rows, total, histories)
