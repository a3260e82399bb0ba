"""Validated input records, one pydantic model per import kind (CLI files and the ingest API).

Field names are the CSV column names and the JSON keys. Account references use the account's CRM id
(``account``); people are referred to by e-mail. Times without an offset are taken as UTC.
List fields (``credited_people``, ``credited_teams``) take a JSON list or a ``;``-separated string.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from storage import vocab

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value


def _slug(value: str) -> str:
    value = value.strip().lower()
    if not _SLUG.match(value):
        raise ValueError("use lower-case letters, digits, '_' or '-'")
    return value


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _month(value: Any) -> Any:
    """Accept ``2026-10`` or any date in the month; store the month's first day."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value.strip()):
        value = value.strip() + "-01"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value.strip())
    if isinstance(value, dt.date):
        return value.replace(day=1)
    return value


def _domain(value: str) -> str:
    value = value.strip().lower().removeprefix("https://").removeprefix("http://").removeprefix("www.")
    value = value.split("/", 1)[0]
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)+", value):
        raise ValueError("not a domain name like example.com")
    return value


Email = Annotated[str, AfterValidator(_email)]
Slug = Annotated[str, Field(max_length=32), AfterValidator(_slug)]
ExternalId = Annotated[str, Field(min_length=1, max_length=64)]
UTCTime = Annotated[dt.datetime, AfterValidator(_utc)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Team = Literal[vocab.TEAMS]  # type: ignore[valid-type]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class AccountRecord(Record):
    external_id: ExternalId
    name: Annotated[str, Field(min_length=1, max_length=200)]
    domain: Annotated[str, AfterValidator(_domain)] | None = None
    segment: Slug
    plan: Annotated[str, Field(max_length=64)] | None = None
    stage: Literal[vocab.STAGES] | None = None  # type: ignore[valid-type]
    closed_won_on: dt.date | None = None
    renewal_on: dt.date | None = None
    crm_url: Annotated[str, Field(max_length=2000, pattern=r"^https?://")] | None = None
    ae_email: Email | None = None
    csm_email: Email | None = None
    support_lead_email: Email | None = None
    exec_sponsor_email: Email | None = None


class PersonRecord(Record):
    email: Email
    name: Annotated[str, Field(min_length=1, max_length=200)]
    team: Team
    slack_user_id: Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,31}$")] | None = None
    manager_email: Email | None = None
    timezone: Annotated[str, Field(max_length=64)] = "UTC"

    @model_validator(mode="after")
    def _checks(self) -> Self:
        if self.manager_email == self.email:
            raise ValueError("manager_email: a person cannot be their own manager")
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown IANA time zone {self.timezone!r}") from None
        return self


class RevenueRecord(Record):
    account: ExternalId
    month: Annotated[dt.date, BeforeValidator(_month)]
    mrr: Amount


class UsageRecord(Record):
    account: ExternalId
    day: dt.date
    active_users: Annotated[int, Field(ge=0)]
    licensed_seats: Annotated[int, Field(ge=0)] | None = None


class FeatureUsageRecord(Record):
    account: ExternalId
    day: dt.date
    feature: Annotated[str, Field(min_length=1, max_length=64)]
    active_users: Annotated[int, Field(ge=0)]


class TicketRecord(Record):
    external_id: ExternalId
    account: ExternalId
    opened_at: UTCTime
    closed_at: UTCTime | None = None
    priority: Literal[vocab.TICKET_PRIORITIES] = "normal"  # type: ignore[valid-type]
    csat: Annotated[int, Field(ge=1, le=5)] | None = None

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.closed_at is not None and self.closed_at < self.opened_at:
            raise ValueError("closed_at: before opened_at")
        return self


class TouchpointRecord(Record):
    external_id: ExternalId
    account: ExternalId
    kind: Literal[vocab.TOUCHPOINT_KINDS]  # type: ignore[valid-type]
    occurred_at: UTCTime
    person_email: Email | None = None
    notes: Annotated[str, Field(max_length=4000)] | None = None


class NpsRecord(Record):
    external_id: ExternalId
    account: ExternalId
    responded_at: UTCTime
    score: Annotated[int, Field(ge=0, le=10)]
    respondent_email: Email | None = None
    comment: Annotated[str, Field(max_length=4000)] | None = None


class MilestoneRecord(Record):
    account: ExternalId
    kind: Literal[vocab.MILESTONE_KINDS]  # type: ignore[valid-type]
    target_on: dt.date | None = None
    achieved_on: dt.date | None = None


class RiskFlagRecord(Record):
    external_id: ExternalId
    account: ExternalId
    flagged_on: dt.date
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    owner_email: Email | None = None
    outcome: Literal[vocab.RISK_OUTCOMES] = "open"  # type: ignore[valid-type]
    resolved_on: dt.date | None = None

    @model_validator(mode="after")
    def _resolution(self) -> Self:
        if self.outcome == "open" and self.resolved_on is not None:
            raise ValueError("resolved_on: an open flag has no resolution date (or set outcome)")
        if self.outcome != "open" and self.resolved_on is None:
            raise ValueError(f"resolved_on: required when outcome is {self.outcome}")
        if self.resolved_on is not None and self.resolved_on < self.flagged_on:
            raise ValueError("resolved_on: before flagged_on")
        return self


class HandoffRecord(Record):
    external_id: ExternalId
    account: ExternalId
    kind: Slug
    from_team: Team
    to_team: Team
    owner_email: Email | None = None
    opened_at: UTCTime
    due_at: UTCTime
    completed_at: UTCTime | None = None

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.due_at < self.opened_at:
            raise ValueError("due_at: before opened_at")
        if self.completed_at is not None and self.completed_at < self.opened_at:
            raise ValueError("completed_at: before opened_at")
        return self


class WinRecord(Record):
    external_id: ExternalId
    account: ExternalId
    kind: Literal[vocab.WIN_KINDS]  # type: ignore[valid-type]
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    amount: Amount | None = None
    won_on: dt.date
    recorded_by_email: Email | None = None
    credited_people: Annotated[list[Email], BeforeValidator(_split_list), Field(max_length=50)] = []
    credited_teams: Annotated[list[Team], BeforeValidator(_split_list), Field(max_length=20)] = []

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if not self.credited_people and not self.credited_teams:
            raise ValueError("credited_people: credit at least one person or team")
        return self
