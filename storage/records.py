"""Validated input records, one pydantic model per import kind (CLI files and the ingest API).

Field names are the CSV column names and the JSON keys. Account references use the account's CRM id
(``account``); people are referred to by e-mail. Times without an offset are taken as UTC.
List fields (``credited_people``, ``credited_teams``) take a JSON list or a ``;``-separated string.

Limits hold the same on every database: integers stop at what their column's type holds on PostgreSQL
(SQLite would take more); times must stay within years 1-9999 once converted to UTC; text holds no
control characters (free-text fields may hold tabs and line breaks). The OpenAPI document of the
ingest API is generated from these models, so it states the same limits.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema
from sqlalchemy import BigInteger, Column, Integer, SmallInteger

from storage import models as m
from storage import vocab
from storage.errors import LOCAL_DATE, LOCAL_DATE_HINT

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


# Control characters (Unicode category Cc: C0, DEL, C1). One-line fields refuse them all; free text
# (notes, comments, reasons, win texts) keeps tab, line feed and carriage return.
_LINE_CONTROLS = "\\x00-\\x1f\\x7f-\\x9f"
_TEXT_CONTROLS = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"

# The largest value of each integer column type on PostgreSQL (SQLite's INTEGER holds up to 2^63 - 1,
# so PostgreSQL's limits are the ones both databases share).
_INT_MAX = ((SmallInteger, 2**15 - 1), (BigInteger, 2**63 - 1), (Integer, 2**31 - 1))


def column_max(column: Column[Any]) -> int:
    """The largest integer ``column`` holds on every supported database."""
    for type_, limit in _INT_MAX:  # SmallInteger and BigInteger are kinds of Integer: test them first
        if isinstance(column.type, type_):
            return limit
    raise TypeError(f"{column} is not an integer column")


@dataclass(frozen=True)
class NoControls:
    """Annotated metadata: refuse the control characters in the regex class ``chars``, and state it
    in the JSON schema as a pattern (so the OpenAPI document says what is enforced)."""

    chars: str
    allowed: str

    def check(self, value: str) -> str:
        hit = re.search(f"[{self.chars}]", value)
        if hit:
            raise ValueError(
                f"control character U+{ord(hit.group()):04X} at character {hit.start() + 1}; "
                f"remove it ({self.allowed})"
            )
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> Any:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", f"^[^{self.chars}]*$")
        return json_schema


ONE_LINE = NoControls(_LINE_CONTROLS, "no control characters, tab or line break in this field")
FREE_TEXT = NoControls(_TEXT_CONTROLS, "only tab and line breaks are allowed in free text")


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
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC
        raise ValueError("outside years 1-9999 once converted to UTC; check the year and offset") from None


def _month(value: Any) -> Any:
    """Accept ``2026-10`` or any date in the month; store the month's first day."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value.strip()):
        value = value.strip() + "-01"
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError as exc:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):  # well formed: what is wrong with it
                raise ValueError(f"{exc} in {value.strip()[:7]!r}") from None
            raise ValueError(
                f"{value.strip()!r} is not a month: write YYYY-MM (e.g. 2026-10) or a date in the month"
                + (LOCAL_DATE_HINT if LOCAL_DATE.fullmatch(value.strip()) else "")
            ) from None
    if isinstance(value, dt.date):
        return value.replace(day=1)
    return value


def _domain(value: str) -> str:
    value = value.strip().lower().removeprefix("https://").removeprefix("http://").removeprefix("www.")
    value = value.split("/", 1)[0]
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)+", value):
        raise ValueError("not a domain name like example.com")
    return value


def _url(value: str) -> str:
    if not re.match(r"^https?://", value):
        raise ValueError("not a link starting with https:// or http://")
    return value


Email = Annotated[str, Field(max_length=254), ONE_LINE, AfterValidator(_email)]
Slug = Annotated[str, Field(max_length=32), AfterValidator(_slug)]
ExternalId = Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
Name = Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]
Url = Annotated[
    str,
    Field(max_length=2000, json_schema_extra={"pattern": f"^https?://[^{_LINE_CONTROLS}]*$"}),
    ONE_LINE,
    AfterValidator(_url),
]
# Counts: non-negative integers no larger than their column holds.
ActiveUsers = Annotated[int, Field(ge=0, le=column_max(m.UsageDaily.active_users))]
Seats = Annotated[int, Field(ge=0, le=column_max(m.UsageDaily.licensed_seats))]
FeatureUsers = Annotated[int, Field(ge=0, le=column_max(m.FeatureUsage.active_users))]
UTCTime = Annotated[dt.datetime, AfterValidator(_utc)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Team = Literal[vocab.TEAMS]  # type: ignore[valid-type]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class AccountRecord(Record):
    external_id: ExternalId
    name: Name
    domain: Annotated[str, Field(max_length=253), ONE_LINE, AfterValidator(_domain)] | None = None
    segment: Slug
    plan: Annotated[str, Field(max_length=64), ONE_LINE] | None = None
    stage: Literal[vocab.STAGES] | None = None  # type: ignore[valid-type]
    closed_won_on: dt.date | None = None
    renewal_on: dt.date | None = None
    crm_url: Url | None = None
    ae_email: Email | None = None
    csm_email: Email | None = None
    support_lead_email: Email | None = None
    exec_sponsor_email: Email | None = None
    # Acquisition cuts: where the deal came from (e.g. "inbound", "partner") and its campaign.
    source: Annotated[str, Field(max_length=64), ONE_LINE] | None = None
    campaign: Annotated[str, Field(max_length=64), ONE_LINE] | None = None


class PersonRecord(Record):
    email: Email
    name: Name
    team: Team
    slack_user_id: Annotated[str, Field(max_length=32, pattern=r"^[UW][A-Z0-9]{2,31}$")] | None = None
    manager_email: Email | None = None
    timezone: Annotated[str, Field(max_length=64), ONE_LINE] = "UTC"

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
    active_users: ActiveUsers
    licensed_seats: Seats | None = None


class FeatureUsageRecord(Record):
    account: ExternalId
    day: dt.date
    feature: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE]
    active_users: FeatureUsers


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
    notes: Annotated[str, Field(max_length=4000), FREE_TEXT] | None = None


class NpsRecord(Record):
    external_id: ExternalId
    account: ExternalId
    responded_at: UTCTime
    score: Annotated[int, Field(ge=0, le=10)]
    respondent_email: Email | None = None
    comment: Annotated[str, Field(max_length=4000), FREE_TEXT] | None = None


class MilestoneRecord(Record):
    account: ExternalId
    kind: Literal[vocab.MILESTONE_KINDS]  # type: ignore[valid-type]
    target_on: dt.date | None = None
    achieved_on: dt.date | None = None


class RiskFlagRecord(Record):
    external_id: ExternalId
    account: ExternalId
    flagged_on: dt.date
    reason: Annotated[str, Field(min_length=1, max_length=2000), FREE_TEXT]
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
    text: Annotated[str, Field(min_length=1, max_length=4000), FREE_TEXT]
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


class PlayRecord(Record):
    """A play run elsewhere (a CRM task): open while it has no ``closed_at``; closed ones name their
    outcome. Re-importing the same ``external_id`` updates it (its state follows the file)."""

    external_id: ExternalId
    account: ExternalId
    play: Annotated[str, Field(min_length=1, max_length=64), ONE_LINE, AfterValidator(_slug)]
    owner_email: Email | None = None
    owner_role: Literal[vocab.OWNER_ROLES] = "csm"  # type: ignore[valid-type]
    opened_at: UTCTime
    due_at: UTCTime | None = None
    closed_at: UTCTime | None = None
    outcome: Literal[m.PLAY_OUTCOMES] | None = None  # type: ignore[valid-type]
    note: Annotated[str, Field(max_length=4000), FREE_TEXT] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.closed_at is None and self.outcome is not None:
            raise ValueError("outcome: an open play has no outcome (or set closed_at)")
        if self.closed_at is not None and self.outcome is None:
            raise ValueError(f"outcome: required when closed_at is set ({', '.join(m.PLAY_OUTCOMES)})")
        if self.closed_at is not None and self.closed_at < self.opened_at:
            raise ValueError("closed_at: before opened_at")
        if self.due_at is not None and self.due_at < self.opened_at:
            raise ValueError("due_at: before opened_at")
        return self


class FeedbackRecord(Record):
    """Customer feedback from a helpdesk tag export, a call-recording tool or a survey: one item each.
    ``theme`` names a theme (created if new; a merged theme's name leads to the theme it went into);
    left empty, the item keeps the theme it has."""

    external_id: ExternalId
    account: ExternalId
    kind: Literal["request", "bug", "pain", "praise"] = "request"
    text: Annotated[str, Field(min_length=1, max_length=4000), FREE_TEXT]
    theme: Annotated[str, Field(min_length=1, max_length=80), ONE_LINE] | None = None
    importance: Literal["low", "medium", "high", "critical"] = "medium"
    contact: Annotated[str, Field(max_length=254), ONE_LINE] | None = None
    source: Literal["import", "nps"] = "import"
    link: Url | None = None
    logged_at: UTCTime
    logged_by_email: Email | None = None

    @model_validator(mode="after")
    def _readable_theme(self) -> Self:
        if self.theme is not None and not " ".join(self.theme.lstrip("#").split()):
            raise ValueError("theme: a theme needs a name (or leave it empty)")
        return self
