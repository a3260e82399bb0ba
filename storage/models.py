"""SQLAlchemy 2 models for everything the bot keeps (the kinds of docs/import.md).

Every row belongs to one workspace (``workspace_id``); child rows carry it too so that every query
can filter on it without a join. Times are stored in UTC; dates are calendar dates.
Money is exact: ``Money`` stores integer minor units (cents) on every database — SQLite has no exact
decimal type — and gives ``Decimal`` to Python.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

CENT = Decimal("0.01")

# Identifiers: integer keys that autoincrement on SQLite too.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Money(TypeDecorator[Decimal]):
    """An exact amount stored as integer cents; sub-cent values are refused, never rounded away."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return to_cents(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return from_cents(value)


def to_cents(value: Decimal | None) -> int | None:
    if value is None:
        return None
    cents = Decimal(value) * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{value} has more than two decimal places")
    return int(cents)


def from_cents(value: int | None) -> Decimal | None:
    return None if value is None else (Decimal(int(value)) / 100).quantize(CENT)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes in, timezone-aware UTC datetimes out, on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store times as timezone-aware UTC")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime, Decimal: Money}


def table(model: type[Base]) -> Table:
    """A model's table, typed as a ``Table`` (``__table__`` is typed as any ``FromClause``)."""
    return cast(Table, model.__table__)


def _ws() -> Mapped[int]:
    return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=False)


def _account() -> Mapped[int]:
    return mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))


# --- tenancy and people --------------------------------------------------------------------------


class Workspace(Base):
    """A tenant: one Slack workspace (or Enterprise Grid org), or a named local workspace for the CLI."""

    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    slack_team_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    slack_enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # Where /win and detected wins get their shout-out (a channel id); None: no shout-outs.
    wins_channel_id: Mapped[str | None] = mapped_column(String(32))
    # Changes whenever the workspace's accounts do (the importer sets a new one): lookup's name cache key.
    accounts_version: Mapped[str] = mapped_column(
        String(32), default=lambda: uuid.uuid4().hex, server_default=""
    )
    created_at: Mapped[dt.datetime]


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("workspace_id", "email"),
        UniqueConstraint("workspace_id", "slack_user_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    team: Mapped[str] = mapped_column(String(32))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Opted out of being listed by name in the digest's recognition (``/win optout``).
    unlisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    manager: Mapped[Person | None] = relationship(remote_side=[id])


# --- accounts and revenue ------------------------------------------------------------------------


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_accounts_workspace_domain", "workspace_id", "domain"),
        # Pattern operators on PostgreSQL: a name prefix is a range under them (storage/lookup.py).
        Index(
            "ix_accounts_workspace_name",
            "workspace_id",
            "name_key",
            postgresql_ops={"name_key": "varchar_pattern_ops"},
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # Lower-cased name, for case-insensitive exact and prefix lookups that use an index.
    name_key: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(253))
    segment: Mapped[str] = mapped_column(String(32))
    plan: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str | None] = mapped_column(String(16))
    closed_won_on: Mapped[dt.date | None]
    renewal_on: Mapped[dt.date | None]
    crm_url: Mapped[str | None] = mapped_column(String(2000))
    ae_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    csm_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    support_lead_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    exec_sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # Acquisition cuts (issue 13): where the deal came from and which campaign; both optional.
    source: Mapped[str | None] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(64))


# A CRM id typed in another case ("acc-000001") is found through this index (storage/lookup.py).
Index("ix_accounts_workspace_external_id_lower", Account.workspace_id, func.lower(Account.external_id))


class MrrSnapshot(Base):
    """Monthly recurring revenue of an account in a calendar month (``month`` is its first day)."""

    __tablename__ = "mrr_snapshots"
    __table_args__ = (
        UniqueConstraint("account_id", "month"),
        Index("ix_mrr_workspace_month", "workspace_id", "month", "account_id", "mrr"),
        CheckConstraint("mrr >= 0", name="mrr_not_negative"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    account_id: Mapped[int] = _account()
    month: Mapped[dt.date]
    mrr: Mapped[Decimal]


# --- product usage, support, engagement, sentiment ------------------------------------------------


class UsageDaily(Base):
    __tablename__ = "usage_daily"
    __table_args__ = (
        UniqueConstraint("account_id", "day"),
        # Covering: the 28-day adoption scan over all accounts reads the index alone, and so does
        # usage_drop's read of every account's running totals on two days (migration 0014).
        Index(
            "ix_usage_workspace_day",
            "workspace_id",
            "day",
            "account_id",
            "active_users",
            "licensed_seats",
            "rows_upto",
            "users_upto",
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    account_id: Mapped[int] = _account()
    day: Mapped[dt.date]
    active_users: Mapped[int] = mapped_column(Integer)
    licensed_seats: Mapped[int | None] = mapped_column(Integer)
    # The account's running totals up to and including this day (storage/usage_rollup.py): how many
    # usage rows it has and their active users summed. Kept by every writer of usage rows (the usage
    # import, so ingest and demo data too), so the usage_drop trigger reads a window's and a baseline's
    # count and sum as differences of a few rows instead of summing every row (0: not rolled up yet).
    rows_upto: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    users_upto: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class FeatureUsage(Base):
    __tablename__ = "feature_usage"
    __table_args__ = (
        UniqueConstraint("account_id", "day", "feature"),
        Index("ix_feature_usage_workspace_day", "workspace_id", "day"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    account_id: Mapped[int] = _account()
    day: Mapped[dt.date]
    feature: Mapped[str] = mapped_column(String(64))
    active_users: Mapped[int] = mapped_column(Integer)


class FeatureCatalogue(Base):
    """The features a workspace's usage data has named, and when: the adoption component's denominator."""

    __tablename__ = "feature_catalogue"
    __table_args__ = (UniqueConstraint("workspace_id", "feature"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    feature: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[dt.date]
    last_seen: Mapped[dt.date]


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_tickets_account_opened", "account_id", "opened_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    external_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = _account()
    opened_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    priority: Mapped[str] = mapped_column(String(8))
    csat: Mapped[int | None] = mapped_column(SmallInteger)


class Touchpoint(Base):
    """An engagement touchpoint: QBR/EBR, executive meeting, workshop, call."""

    __tablename__ = "touchpoints"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_touchpoints_account_at", "account_id", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    external_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = _account()
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    notes: Mapped[str | None] = mapped_column(Text)


class NpsResponse(Base):
    __tablename__ = "nps_responses"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_nps_account_at", "account_id", "responded_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    external_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = _account()
    responded_at: Mapped[dt.datetime]
    score: Mapped[int] = mapped_column(SmallInteger)
    respondent_email: Mapped[str | None] = mapped_column(String(254))
    comment: Mapped[str | None] = mapped_column(Text)


# --- lifecycle, risk, handoffs, wins --------------------------------------------------------------


class Milestone(Base):
    """A value milestone (kickoff, activation, first_value, adopted) with its target and achieved dates."""

    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("account_id", "kind"),
        Index("ix_milestones_workspace_kind_achieved", "workspace_id", "kind", "achieved_on"),
        # First value on time: the milestones due in a period and whether they were met, from the index.
        Index("ix_milestones_workspace_kind_target", "workspace_id", "kind", "target_on", "achieved_on"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    account_id: Mapped[int] = _account()
    kind: Mapped[str] = mapped_column(String(16))
    target_on: Mapped[dt.date | None]
    achieved_on: Mapped[dt.date | None]


class RiskFlag(Base):
    """A churn-risk flag and its save play: open until resolved as saved or churned."""

    __tablename__ = "risk_flags"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_risk_flags_workspace_resolved", "workspace_id", "resolved_on"),
        Index("ix_risk_flags_account", "account_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    external_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = _account()
    flagged_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(8), default="open")
    resolved_on: Mapped[dt.date | None]


class Handoff(Base):
    """A handoff between teams with its SLA clock.

    ``due_at`` is the due time the SLA policy gave at opening; ``effective_due_at`` is that plus
    every finished pause (``paused_seconds``), so "is it late?" is one indexed comparison.
    While ``paused_since`` is set the clock is stopped.
    """

    __tablename__ = "handoffs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_handoffs_workspace_due", "workspace_id", "effective_due_at"),
        Index("ix_handoffs_account", "account_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    external_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = _account()
    kind: Mapped[str] = mapped_column(String(32))
    from_team: Mapped[str] = mapped_column(String(32))
    to_team: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    opened_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    effective_due_at: Mapped[dt.datetime]
    paused_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    paused_since: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The SLA policy ("kind/segment") that set the due time; None: the due time came from an import.
    policy_key: Mapped[str | None] = mapped_column(String(80))
    warn_at: Mapped[dt.datetime | None]  # when the owner is warned (the policy's share of the time)
    acknowledged_at: Mapped[dt.datetime | None]  # a breach acknowledged: no further escalation
    # The sweep's progress: 0 nothing yet, 1 warned, 2 breached, 2 + k: escalation step k done.
    sla_stage: Mapped[int] = mapped_column(SmallInteger, default=0)
    # When the sweep must look at it next (None: nothing left to do); indexed, so a sweep reads only
    # the handoffs whose moment has come, not every open one.
    next_check_at: Mapped[dt.datetime | None] = mapped_column(index=True)


class HandoffPause(Base):
    __tablename__ = "handoff_pauses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    reason: Mapped[str] = mapped_column(Text)
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class SlaEvent(Base):
    """A warning, breach, escalation step or acknowledgement: recorded once (the unique key)."""

    __tablename__ = "sla_events"
    __table_args__ = (UniqueConstraint("handoff_id", "kind", "step"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(SmallInteger, default=0)
    occurred_at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Win(Base):
    __tablename__ = "wins"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_wins_workspace_won", "workspace_id", "won_on"),
        Index("ix_wins_account", "account_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    external_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = _account()
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal | None]
    won_on: Mapped[dt.date]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default="import")


class WinCreditPerson(Base):
    __tablename__ = "win_credit_people"
    __table_args__ = (UniqueConstraint("win_id", "person_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    win_id: Mapped[int] = mapped_column(ForeignKey("wins.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))


class WinCreditTeam(Base):
    __tablename__ = "win_credit_teams"
    __table_args__ = (UniqueConstraint("win_id", "team"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    win_id: Mapped[int] = mapped_column(ForeignKey("wins.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(32))


class HealthSnapshot(Base):
    __tablename__ = "health_snapshots"
    __table_args__ = (
        UniqueConstraint("account_id", "day"),
        Index("ix_health_workspace_day", "workspace_id", "day"),
        # The red scores alone (a few percent of them): churn risk coverage finds its candidates here
        # (storage/lifecycle_metrics.py), however many accounts are scored each day.
        Index(
            "ix_health_snapshots_red",
            "workspace_id",
            "day",
            "account_id",
            sqlite_where=sql_text("band = 'red'"),
            postgresql_where=sql_text("band = 'red'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    account_id: Mapped[int] = _account()
    day: Mapped[dt.date]
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(8))
    components: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The 28-day usage behind the score, kept so the scorecard's adoption KPI reads one row per account.
    mean_dau: Mapped[float | None] = mapped_column(Float)
    seats: Mapped[int | None] = mapped_column(Integer)


# --- digests ---------------------------------------------------------------------------------------


class DigestSubscription(Base):
    __tablename__ = "digest_subscriptions"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    channel_id: Mapped[str] = mapped_column(String(32))
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    local_time: Mapped[dt.time]
    timezone: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str | None] = mapped_column(String(32))
    cadence: Mapped[str] = mapped_column(
        String(8), default="week", server_default="week"
    )  # week|month|quarter
    team: Mapped[str | None] = mapped_column(String(32))  # its digest leads with "Your team's part"
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    problem: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]


class Delivery(Base):
    """The delivery ledger (outbox): one row per message per subject, claimed through its unique key.

    ``state``: pending → sending → posted, or retry (transient error, at ``next_attempt_at``), failed
    (permanent error), uncertain (Slack may have posted it and a look-back could not tell: an operator
    decides), waiting (nobody can receive it yet: no channel; handed on as new rows once someone can).
    While ``sending``, ``next_attempt_at`` is the lease's end: past it the sender is presumed
    dead and the message is looked for in the channel before it is ever sent again. A thread reply
    names its message in ``parent_id`` and waits for that message's ``slack_ts``.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "subject"),
        Index("ix_deliveries_state", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime | None]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))


class JobRun(Base):
    """Scheduled work done once per workspace and subject (e.g. the health snapshot of a day), whichever
    replica gets there first: the unique key is the claim."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("workspace_id", "job", "subject"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    job: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


# --- Slack -----------------------------------------------------------------------------------------


class ProcessedEvent(Base):
    """Events API deliveries already handled: Slack retries (X-Slack-Retry-Num) are dropped by event_id."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("event_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[dt.datetime]


# --- goals: revenue facts kept at import (issue 13) -------------------------------------------------


class MrrMovement(Base):
    """One account-month's revenue fact, kept up to date by every revenue import (storage/revenue_facts.py).

    A row exists for (account, month) whenever the account paid that month, the month before or twelve
    months before, so one month's rows answer NRR, GRR, logo churn and the MRR movements for any cut of
    accounts. Money in integer cents. ``movement``: new, reactivation, expansion, contraction, churn,
    flat or none (not paying either month)."""

    __tablename__ = "mrr_movements"
    __table_args__ = (
        UniqueConstraint("account_id", "month"),
        # Covering: a month's facts for any cut are read from the index alone.
        Index(
            "ix_mrr_movements_workspace_month",
            "workspace_id",
            "month",
            "account_id",
            "mrr",
            "prev_mrr",
            "base_mrr",
            "movement",
        ),
        Index("ix_mrr_movements_workspace_movement", "workspace_id", "movement", "month", "account_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    account_id: Mapped[int] = _account()
    month: Mapped[dt.date]
    mrr: Mapped[int] = mapped_column(BigInteger)  # cents, this month
    prev_mrr: Mapped[int] = mapped_column(BigInteger)  # cents, the month before
    base_mrr: Mapped[int] = mapped_column(BigInteger)  # cents, twelve months before
    movement: Mapped[str] = mapped_column(String(12))


class RevenueMonth(Base):
    """A workspace's revenue facts for one month (all accounts), summed from ``mrr_movements`` at import:
    the whole-workspace scorecard reads a row per month instead of scanning every account. Cents."""

    __tablename__ = "revenue_months"
    __table_args__ = (UniqueConstraint("workspace_id", "month"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    month: Mapped[dt.date]
    paying: Mapped[int] = mapped_column(BigInteger)
    mrr_total: Mapped[int] = mapped_column(BigInteger)
    paying_before: Mapped[int] = mapped_column(BigInteger)  # accounts paying the month before
    churned: Mapped[int] = mapped_column(BigInteger)  # of those, not paying this month
    new: Mapped[int] = mapped_column(BigInteger)
    reactivation: Mapped[int] = mapped_column(BigInteger)
    expansion: Mapped[int] = mapped_column(BigInteger)
    contraction: Mapped[int] = mapped_column(BigInteger)
    nrr_base: Mapped[int] = mapped_column(BigInteger)  # Σ MRR twelve months before, over payers then
    nrr_current: Mapped[int] = mapped_column(BigInteger)  # Σ MRR this month over the same accounts
    grr_current: Mapped[int] = mapped_column(BigInteger)  # Σ min(this month, then), same accounts


class AccountStage(Base):
    """The day an account entered each lifecycle stage (docs/metrics.md), kept up to date by every write
    of its inputs (storage/stage_dates.py): stage conversion counts these instead of deriving them."""

    __tablename__ = "account_stages"
    __table_args__ = (
        # Per stage: the accounts that entered it before a day (a count), or in a period with the day
        # they entered the stage before (the days in stage) — read from the index alone.
        Index("ix_account_stages_workspace_won", "workspace_id", "closed_won_on"),
        Index("ix_account_stages_workspace_onboarded", "workspace_id", "onboarded_on", "closed_won_on"),
        Index("ix_account_stages_workspace_adopted", "workspace_id", "adopted_on", "onboarded_on"),
        Index("ix_account_stages_workspace_champion", "workspace_id", "champion_on", "adopted_on"),
        # Onboarding time: the kickoffs of a period with their closed/won dates, from the index alone.
        Index("ix_account_stages_workspace_kickoff", "workspace_id", "kickoff_on", "account_closed_won_on"),
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[int] = _ws()
    closed_won_on: Mapped[dt.date | None]
    onboarded_on: Mapped[dt.date | None]
    adopted_on: Mapped[dt.date | None]
    champion_on: Mapped[dt.date | None]
    # As recorded: the account's closed/won date and its kickoff milestone's achieved date.
    account_closed_won_on: Mapped[dt.date | None]
    kickoff_on: Mapped[dt.date | None]


def _slack_sdk_tables() -> None:
    """slack_sdk's OAuth installation and state tables, in our metadata so our migrations create them."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    installations = SQLAlchemyInstallationStore.build_installations_table(
        Base.metadata, "slack_installations"
    )
    bots = SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, "slack_oauth_states")
    # Tokens are stored encrypted (bot.oauth): a rotating one takes over 300 characters (migration 0006).
    for table in (installations, bots):
        for name in ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"):
            if name in table.c:
                table.c[name].type = Text()


_slack_sdk_tables()


# --- shared goals: KPI targets ---------------------------------------------------------------------


class Millionths(TypeDecorator[Decimal]):
    """An exact decimal with up to six places, stored as integer millionths on every database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value) * 1_000_000
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than six decimal places")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        exact = Decimal(int(value)) / 1_000_000
        # Without trailing zeros and without an exponent: 50000, not 5E+4 (normalize's).
        return exact.quantize(Decimal(1)) if exact == exact.to_integral_value() else exact.normalize()


class KpiTargetChange(Base):
    """Every change of a KPI target, never updated or deleted: the targets in force at any time are
    the latest change of each (KPI, period kind, segment, layer) up to that time, so a past scorecard
    can be rebuilt with the targets it showed. ``layer``: ``set`` (from Slack or the CLI; it overrides)
    or ``policy`` (the policy file's, recorded when the file's value changes). ``new_value`` None:
    cleared. Ratios are fractions, money in the currency, days in days."""

    __tablename__ = "kpi_target_changes"
    __table_args__ = (Index("ix_kpi_target_changes_workspace_changed", "workspace_id", "changed_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    kpi: Mapped[str] = mapped_column(String(48))
    period_kind: Mapped[str] = mapped_column(String(8))
    segment: Mapped[str | None] = mapped_column(String(32))  # None: every segment
    layer: Mapped[str] = mapped_column(String(8))
    old_value: Mapped[Decimal | None] = mapped_column(Millionths)
    new_value: Mapped[Decimal | None] = mapped_column(Millionths)
    changed_by: Mapped[str] = mapped_column(String(64))  # a Slack user id, "cli:<user>", "policy file"
    changed_at: Mapped[dt.datetime]


# --- Slack identities ------------------------------------------------------------------------------


class WinCreditSlackUser(Base):
    """A win credited to a Slack user who is not in the people list (``/win`` by someone RevOps has not
    imported yet): they are credited as themselves, by Slack id, and mentioned in the shout-out."""

    __tablename__ = "win_credit_slack_users"
    __table_args__ = (UniqueConstraint("win_id", "slack_user_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    win_id: Mapped[int] = mapped_column(ForeignKey("wins.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32))


# --- plays -----------------------------------------------------------------------------------------

PLAY_STATES = ("open", "accepted", "snoozed", "closed")
PLAY_OUTCOMES = ("saved", "expanded", "churned", "no_action")
PLAY_SOURCES = ("signal", "hand", "import")


class Play(Base):
    """A play: an owned action on one account, opened by a signal, by hand or by an import.

    ``open_key`` is the play key while the play is not closed and None once it is: the unique key
    (workspace, account, open_key) allows at most one play per (account, play) that is not closed,
    whichever worker or person opens it (NULLs never collide, so closed plays pile up freely).
    ``signal`` is what opened it: {"trigger": …, "values": {…}} as the data stood then.
    """

    __tablename__ = "plays"
    __table_args__ = (
        UniqueConstraint("workspace_id", "account_id", "open_key"),
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_plays_workspace_state", "workspace_id", "state", "owner_id"),
        Index("ix_plays_workspace_opened", "workspace_id", "opened_at"),
        Index("ix_plays_workspace_closed", "workspace_id", "closed_at"),
        Index("ix_plays_account_key", "account_id", "play_key", "closed_at"),
        CheckConstraint("state IN ('open', 'accepted', 'snoozed', 'closed')", name="state_known"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('saved', 'expanded', 'churned', 'no_action')",
            name="outcome_known",
        ),
        CheckConstraint("source IN ('signal', 'hand', 'import')", name="source_known"),
        CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="closed_when_closed"),
        CheckConstraint("(state = 'closed') = (open_key IS NULL)", name="open_key_while_open"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    account_id: Mapped[int] = _account()
    play_key: Mapped[str] = mapped_column(String(64))
    open_key: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10), default="open")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    owner_role: Mapped[str] = mapped_column(String(16))
    # Where the play's message goes when nobody can own it (the policy's fallback channel).
    owner_channel: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[dt.datetime]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    due_at: Mapped[dt.datetime | None]
    accepted_at: Mapped[dt.datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    snoozed_until: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    signal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(8), default="signal")
    external_id: Mapped[str | None] = mapped_column(String(64))


class PlayEvent(Base):
    """Who did what to a play and when: opened, accepted, snoozed, woke, reassigned, closed."""

    __tablename__ = "play_events"
    __table_args__ = (Index("ix_play_events_play", "play_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    play_id: Mapped[int] = mapped_column(ForeignKey("plays.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# --- customer feedback (issue 15) ------------------------------------------------------------------


class FeedbackTheme(Base):
    """What customers ask for, grouped: curated by product admins, ranked by what is at stake.

    ``status``: new → planned → shipped / wont_do (each change in ``feedback_theme_events``).
    A theme merged into another keeps its row (and its name, which then leads to the other) with
    ``merged_into_id`` set; its items moved to the other."""

    __tablename__ = "feedback_themes"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name_key"),
        Index("ix_feedback_themes_workspace_status", "workspace_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80))  # lower-cased, spaces collapsed
    status: Mapped[str] = mapped_column(String(12), default="new")
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str | None] = mapped_column(String(64))  # Slack user id, "cli", "import", "policy"
    status_changed_at: Mapped[dt.datetime]
    shipped_on: Mapped[dt.date | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_themes.id", ondelete="SET NULL"))


class FeedbackThemeEvent(Base):
    """A theme's history: created, each status change, merges — who and when."""

    __tablename__ = "feedback_theme_events"
    __table_args__ = (Index("ix_feedback_theme_events_workspace_at", "workspace_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    theme_id: Mapped[int] = mapped_column(ForeignKey("feedback_themes.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(12))  # created, status, merged
    status_from: Mapped[str | None] = mapped_column(String(12))
    status_to: Mapped[str | None] = mapped_column(String(12))
    other_theme_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_themes.id", ondelete="SET NULL"))
    by: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime]


class FeedbackItem(Base):
    """One piece of customer feedback, tied to an account. ``external_id`` is the claim that makes
    capture exactly-once: ``msg:CHANNEL:TS`` for a Slack message (reaction or shortcut: a message is
    logged once), ``nps:ID`` for an NPS comment, the import's own id, ``cmd:TRIGGER`` for /feedback."""

    __tablename__ = "feedback_items"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_feedback_items_workspace_theme", "workspace_id", "theme_id", "account_id", "logged_at"),
        Index("ix_feedback_items_account", "account_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    external_id: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = _account()
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_themes.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(8))  # request, bug, pain, praise
    importance: Mapped[str] = mapped_column(String(8), default="medium")  # low, medium, high, critical
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(12))  # shortcut, reaction, command, import, nps
    link: Mapped[str | None] = mapped_column(String(2000))
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    logged_by_slack: Mapped[str | None] = mapped_column(String(32))
    logged_at: Mapped[dt.datetime]


class FeedbackDigestSubscription(Base):
    """A channel's weekly "voice of the customer" digest: the same schedule as the scorecard digest's
    (``DigestSubscription``), a kind of its own so a channel can take either or both."""

    __tablename__ = "feedback_digest_subscriptions"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws()
    channel_id: Mapped[str] = mapped_column(String(32))
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    local_time: Mapped[dt.time]
    timezone: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    problem: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime]
