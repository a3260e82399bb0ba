"""Business policies: health weights and bands, win credits, SLA policies and calendars, currency.

They come from the optional TOML file named by ``RETENTION_BOT_CONFIG`` (see ``docs/configuration.md``);
every field has a documented default.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.errors import ConfigError

HEALTH_COMPONENTS = ("usage", "adoption", "support", "engagement", "sentiment", "commercial")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthBands(_Strict):
    """Scores below ``red_below`` are red, from ``green_from`` up green, yellow between."""

    red_below: float = Field(40, ge=0, le=100)
    green_from: float = Field(70, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.red_below > self.green_from:
            raise ValueError("red_below must not be above green_from")
        return self

    def band(self, score: float) -> str:
        if score < self.red_below:
            return "red"
        return "green" if score >= self.green_from else "yellow"


class HealthPolicy(_Strict):
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "usage": 0.30,
            "adoption": 0.15,
            "support": 0.15,
            "engagement": 0.15,
            "sentiment": 0.10,
            "commercial": 0.15,
        }
    )
    bands: HealthBands = HealthBands()
    # Mean daily active users ÷ licensed seats that earns full marks on the usage component.
    usage_target: float = Field(0.5, gt=0, le=1)
    # Points taken off the commercial component while a risk flag is open.
    open_risk_penalty: float = Field(25, ge=0, le=100)

    @model_validator(mode="after")
    def _known_components(self) -> Self:
        unknown = sorted(set(self.weights) - set(HEALTH_COMPONENTS))
        if unknown:
            raise ValueError(f"unknown health component(s) {unknown}; known: {list(HEALTH_COMPONENTS)}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("health weights must be ≥ 0 and not all zero")
        return self


class WinPolicy(_Strict):
    """Which wins the bot spots in the data by itself (``storage.wins``)."""

    # An expansion is a shared win from this much added ARR in one month (in the currency).
    expansion_arr_threshold: Decimal = Field(Decimal("10000"), ge=0)
    # Each daily run looks this many days back, so a day the bot was down is still covered.
    lookback_days: int = Field(7, ge=1, le=90)
    # Shout-outs a day for wins found in the data, largest first (0: none; the digest lists them all).
    # Wins recorded with /win always get theirs.
    detected_shoutouts_per_day: int = Field(10, ge=0, le=1000)


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessCalendar(_Strict):
    """Working time for business-hours SLAs: weekdays, daily hours and holidays in a time zone
    (``"owner"``: the handoff owner's own time zone, from the people import)."""

    timezone: str = "UTC"
    weekdays: list[str] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1)
    hours: str = Field("09:00-17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
    holidays: list[dt.date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if self.timezone != "owner":
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"timezone {self.timezone!r} is not an IANA time zone (or 'owner')"
                ) from None
        unknown = sorted(set(self.weekdays) - set(WEEKDAY_NAMES))
        if unknown:
            raise ValueError(f"unknown weekdays {unknown}; use {list(WEEKDAY_NAMES)}")
        if self.opens >= self.closes:
            raise ValueError(f"hours {self.hours!r}: the day must open before it closes")
        return self

    @property
    def opens(self) -> dt.time:
        return dt.time.fromisoformat(self.hours.split("-")[0])

    @property
    def closes(self) -> dt.time:
        end = self.hours.split("-")[1]
        return dt.time.max if end == "24:00" else dt.time.fromisoformat(end)


class EscalationStep(_Strict):
    """Who is told next if nobody acknowledged a breach ``after_hours`` (calendar hours) after it."""

    to: Literal["manager", "managers_manager", "channel"]
    after_hours: float = Field(gt=0)
    channel: str | None = Field(None, pattern=r"^[CG][A-Z0-9]{2,31}$")  # default: [sla] escalation_channel


class SlaPolicy(_Strict):
    """The SLA of one handoff kind (and optionally one segment)."""

    kind: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    segment: str | None = None  # None: every segment without a policy of its own
    from_team: str = "sales"
    to_team: str = "cs"
    hours: float = Field(gt=0, le=24 * 365)
    clock: Literal["calendar", "business"] = "calendar"
    calendar: str = "default"
    warn_at: float = Field(0.75, gt=0, lt=1)  # the share of the time used when the owner is warned
    escalation: list[EscalationStep] = Field(
        default_factory=lambda: [EscalationStep(to="manager", after_hours=4)]
    )
    max_snooze_hours: float = Field(24, ge=0)  # the most a handoff's clock may be snoozed in all
    # /handoff open asks for the handoff checklist in a dialog (success plan, contacts, SOW and usage
    # targets, first-value target); default: on for sales_to_cs, the handoff it was made for.
    checklist: bool | None = None

    @property
    def asks_checklist(self) -> bool:
        return self.kind == "sales_to_cs" if self.checklist is None else self.checklist

    @model_validator(mode="after")
    def _steps_in_order(self) -> Self:
        times = [step.after_hours for step in self.escalation]
        if times != sorted(times) or len(set(times)) != len(times):
            raise ValueError("escalation steps: after_hours must increase from step to step")
        return self

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.segment or '*'}"


class SlaConfig(_Strict):
    calendars: dict[str, BusinessCalendar] = Field(default_factory=lambda: {"default": BusinessCalendar()})
    policies: list[SlaPolicy] = Field(default_factory=list)
    # Where escalations go when a person has no manager or has left Slack (never silence).
    escalation_channel: str | None = Field(None, pattern=r"^[CG][A-Z0-9]{2,31}$")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen = set()
        for policy in self.policies:
            if policy.key in seen:
                raise ValueError(f"two policies for {policy.key}")
            seen.add(policy.key)
            if policy.clock == "business" and policy.calendar not in self.calendars:
                raise ValueError(
                    f"policy {policy.key}: calendar {policy.calendar!r} is not defined under [sla.calendars]"
                )
            for step in policy.escalation:
                if step.to == "channel" and not (step.channel or self.escalation_channel):
                    raise ValueError(
                        f"policy {policy.key}: a channel escalation needs its channel "
                        "or [sla] escalation_channel"
                    )
        return self

    def policy_for(self, kind: str, segment: str | None) -> SlaPolicy | None:
        """The segment's own policy for the kind, else the kind's policy for every segment."""
        by_key = {p.key: p for p in self.policies}
        return by_key.get(f"{kind}/{segment}") or by_key.get(f"{kind}/*")


class FeedbackPolicy(_Strict):
    """The customer feedback loop (docs/feedback.md)."""

    # Slack user ids who may curate themes (add, merge, set status) besides ADMIN_USER_IDS.
    product_admins: list[str] = Field(default_factory=list)
    # The reaction (emoji name, no colons) that logs a message as customer feedback.
    reaction: str = Field("customer-feedback", pattern=r"^[a-z0-9_+'-]{1,100}$")
    # Themes curated in the policy file: created (status new) if missing.
    themes: list[str] = Field(default_factory=list, max_length=2000)
    # A renewal or expansion this many days after a theme the account asked for shipped is a shared win.
    ship_win_days: int = Field(120, ge=1, le=730)
    # Words around an account's name in customer channel names ("cust-acme", "acme-shared").
    channel_affixes: list[str] = Field(
        default_factory=lambda: ["cust", "customer", "ext", "shared", "client", "acct", "account", "support"]
    )


class Policies(_Strict):
    """Business policies, from the TOML config file; every field has a documented default."""

    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    gross_margin: Decimal = Field(Decimal("0.80"), gt=0, le=1)
    adoption_threshold: float = Field(0.40, gt=0, le=1)
    health: HealthPolicy = HealthPolicy()
    wins: WinPolicy = WinPolicy()
    sla: SlaConfig = SlaConfig()
    feedback: FeedbackPolicy = FeedbackPolicy()


def load_policies(path: Path) -> Policies:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (RETENTION_BOT_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    try:
        return Policies.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"config file {path}: {problems}") from None
