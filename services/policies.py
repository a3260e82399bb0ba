"""Business policies: health weights and bands, win credits, SLA policies and calendars, currency.

They come from the optional TOML file named by ``RETENTION_BOT_CONFIG`` (see ``docs/configuration.md``);
every field has a documented default.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from services.errors import ConfigError
from storage.kinds import KINDS

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
    # A manager's copy of their team's breaches comes as ONE daily roll-up DM (services/rollups.py),
    # at ``rollup_hour`` in the manager's time zone, instead of one DM per breach; false: one DM per
    # breach, as before. Escalation steps (nobody acknowledged) are always sent at once.
    manager_rollup: bool = True
    rollup_hour: int = Field(9, ge=0, le=23)
    # More pings than this for one recipient in one sweep (a storm) come as ONE message listing them
    # (services/sla.py); 0: never batch.
    batch_over: int = Field(10, ge=0)

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


# --- shared goals: the owner matrix, targets and their tolerance (services.goals) ---------------

TEAMS = ("leadership", "revops", "sales", "marketing", "cs", "support", "product", "engineering", "finance")
TargetKind = Literal["week", "month", "quarter"]
# Kept exactly (storage: millionths); range and places per unit are checked in Policies._known_kpis.
TargetValue = Annotated[Decimal, Field(allow_inf_nan=False)]


def _known_teams(teams: list[str]) -> list[str]:
    unknown = [t for t in teams if t not in TEAMS]
    if unknown:
        raise ValueError(f"unknown team {unknown[0]!r}; the teams are: {', '.join(TEAMS)}")
    return teams


class KpiGoal(_Strict):
    """``[kpis.<key>]``: who owns a KPI, the capability it measures and its targets. A ratio target
    is a fraction (``1.10`` for 110 %), money in the currency, days in days, a score 0–100."""

    owners: list[str] | None = Field(None, min_length=1)  # None: the defaults (services.scorecard.KPIS)
    capability: str | None = Field(None, min_length=1, max_length=60)
    targets: dict[TargetKind, TargetValue] = Field(default_factory=dict)  # every segment
    segments: dict[str, dict[TargetKind, TargetValue]] = Field(default_factory=dict)  # one segment's own

    @field_validator("owners")
    @classmethod
    def _teams(cls, owners: list[str] | None) -> list[str] | None:
        return None if owners is None else _known_teams(owners)


class Tolerance(_Strict):
    """How far a value may miss its target and still be "at risk" rather than "off track"."""

    ratio_points: Decimal = Field(Decimal("2"), ge=0, le=100)  # percentage points, for ratios
    score_points: Decimal = Field(Decimal("2"), ge=0, le=100)  # points of a 0–100 score (health index)
    money_percent: Decimal = Field(Decimal("10"), ge=0, le=100)  # % of the target, for money
    days_percent: Decimal = Field(Decimal("10"), ge=0, le=100)  # % of the target, for days


# --- warehouse sync (docs/sync.md) ---

_EVERY = re.compile(r"^\s*(\d+)\s*(m|min|h|d)\s*$")
_EVERY_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SyncConfig(_Strict):
    """``[sync]``: one SQL query per import kind, read from a warehouse by its SQLAlchemy URL.

    ``url`` may name environment variables as ``${NAME}`` (all of it, or just the password), so the
    secret stays out of the file; they are read when a sync runs. ``every`` (``"30m"``, ``"1h"``,
    ``"1d"``) makes the worker run it once per interval."""

    url: str | None = Field(None, min_length=1)
    every: str | None = None
    queries: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        unknown = sorted(set(self.queries) - set(KINDS))
        if unknown:
            raise ValueError(f"queries: unknown kind(s) {unknown}; the kinds are {sorted(KINDS)}")
        empty = sorted(kind for kind, sql in self.queries.items() if not sql.strip())
        if empty:
            raise ValueError(f"queries: the query of {empty} is empty")
        if self.every is not None:
            match = _EVERY.match(self.every)
            if not match or int(match.group(1)) == 0:
                raise ValueError(f'every = {self.every!r}: write an interval like "30m", "1h" or "1d"')
            if self.every_seconds < 300:
                raise ValueError(f'every = {self.every!r}: at least 5 minutes apart ("5m")')
        # The form only, unless a variable holds the scheme (url = "${WAREHOUSE_URL}"): ${NAME}
        # stands for text read when the sync runs.
        if self.url is not None and (not _ENV_REF.match(self.url) or "://" in self.url):
            try:
                make_url(_ENV_REF.sub("x", self.url))
            except (ArgumentError, ValueError):  # the message would quote the URL, password and all
                raise ValueError(
                    "url: not a SQLAlchemy database URL; write it like "
                    '"postgresql://USER:${PASSWORD}@HOST/DB" (docs/sync.md)'
                ) from None
        if (self.every is not None or self.queries) and self.url is None:
            raise ValueError("url: required with queries or every (the warehouse's SQLAlchemy URL)")
        if self.every is not None and not self.queries:
            raise ValueError("queries: every needs at least one query under [sync.queries]")
        return self

    @property
    def every_seconds(self) -> int:
        match = _EVERY.match(self.every or "")
        return int(match.group(1)) * _EVERY_UNITS[match.group(2)] if match else 0

    def resolved_url(self, environ: Mapping[str, str]) -> str:
        """``url`` with each ``${NAME}`` replaced by that environment variable; ConfigError if unset."""
        if self.url is None:
            raise ConfigError(
                "config [sync] url: not set; name the warehouse's SQLAlchemy URL (docs/sync.md)"
            )
        missing = [name for name in _ENV_REF.findall(self.url) if not environ.get(name)]
        if missing:
            raise ConfigError(
                f"config [sync] url: environment variable(s) {', '.join(missing)} not set "
                "(the url names them as ${NAME})"
            )
        return _ENV_REF.sub(lambda m: environ[m.group(1)], self.url)


# --- plays (docs/plays.md) ---------------------------------------------------------------------------

PLAY_OWNER_ROLES = ("csm", "ae", "support_lead", "exec_sponsor")


Priority = Literal["low", "normal", "high", "urgent"]
TouchKind = Literal["qbr", "ebr", "exec_meeting", "meeting", "workshop", "call"]


class _Params(_Strict):
    pass


class HealthDropParams(_Params):
    """The health snapshot of the day is red (when ``red``), or ``points`` or more below the one
    ``days`` days before."""

    points: float = Field(15, gt=0, le=100)
    days: int = Field(30, ge=1, le=365)
    red: bool = True


class UsageDropParams(_Params):
    """Every one of the last ``window_days`` days has usage, and all of them are more than ``pct`` %
    below the mean daily active users of the ``baseline_days`` before (at least ``min_baseline_days``
    of them with usage)."""

    pct: float = Field(30, gt=0, lt=100)
    window_days: int = Field(14, ge=1, le=90)
    baseline_days: int = Field(90, ge=7, le=365)
    min_baseline_days: int = Field(30, ge=1, le=365)


class TicketSpikeParams(_Params):
    count: int = Field(3, ge=1, le=10_000)
    days: int = Field(14, ge=1, le=365)
    priorities: list[Priority] = Field(
        default_factory=lambda: list[Priority](["high", "urgent"]), min_length=1
    )


class NpsDetractorParams(_Params):
    max_score: int = Field(6, ge=0, le=10)
    days: int = Field(7, ge=1, le=365)  # responses of the last N days (a missed day is still seen)


class NoExecTouchpointParams(_Params):
    days: int = Field(90, ge=1, le=3650)
    sponsored_only: bool = True  # only accounts that have an executive sponsor
    kinds: list[TouchKind] = Field(
        default_factory=lambda: list[TouchKind](["ebr", "exec_meeting"]), min_length=1
    )


class RenewalAtRiskParams(_Params):
    days_out: list[int] = Field(default_factory=lambda: [120, 90, 60, 30], min_length=1)
    window_days: int = Field(7, ge=1, le=30)  # fires within this many days after crossing a mark
    min_tier: Literal["medium", "high"] = "high"

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if any(d < 1 or d > 730 for d in self.days_out):
            raise ValueError("days_out: each mark must be between 1 and 730 days")
        return self


class FirstValueParams(_Params):
    days: int = Field(7, ge=1, le=365)


class SeatsFullParams(_Params):
    pct: float = Field(90, gt=0, le=1000)
    days: int = Field(7, ge=1, le=90)  # the peak active users of the last N days against the seats


TRIGGER_PARAMS: dict[str, type[_Params]] = {
    "health_drop": HealthDropParams,
    "usage_drop": UsageDropParams,
    "ticket_spike": TicketSpikeParams,
    "nps_detractor": NpsDetractorParams,
    "no_exec_touchpoint": NoExecTouchpointParams,
    "renewal_at_risk": RenewalAtRiskParams,
    "first_value": FirstValueParams,
    "seats_full": SeatsFullParams,
}
PLAY_TRIGGERS = tuple(TRIGGER_PARAMS)
EXPAND_TRIGGERS = ("first_value", "seats_full")


class PlayDef(_Strict):
    """One play: what opens it (``trigger``; None: only by hand), who owns it, when it is due, its
    steps and runbook, how long after closing it may open again, and the segments it applies to."""

    key: str = Field(pattern=r"^[a-z0-9_]{1,48}$")
    title: str = Field(min_length=1, max_length=120)
    trigger: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    motion: Literal["save", "expand"] | None = None  # default: expand for first_value/seats_full
    owner: Literal["csm", "ae", "support_lead", "exec_sponsor"] = "csm"
    due_hours: float = Field(72, gt=0, le=24 * 365)
    clock: Literal["calendar", "business"] = "calendar"
    calendar: str = "default"
    steps: list[str] = Field(default_factory=list)
    runbook_url: str | None = Field(None, pattern=r"^https?://\S+$", max_length=2000)
    cooldown_days: int = Field(30, ge=0, le=3650)
    segments: list[str] = Field(default_factory=list)  # empty: every segment
    enabled: bool = True

    @model_validator(mode="after")
    def _trigger_known(self) -> Self:
        if self.trigger is None:
            if self.params:
                raise ValueError(f"play {self.key}: params without a trigger")
            return self
        if self.trigger not in TRIGGER_PARAMS:
            known = list(PLAY_TRIGGERS)
            raise ValueError(f"play {self.key}: unknown trigger {self.trigger!r}; known: {known}")
        try:
            TRIGGER_PARAMS[self.trigger].model_validate(self.params)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ValueError(f"play {self.key}: params.{where}: {err['msg']}") from None
        return self

    @property
    def settings(self) -> Any:
        """The trigger's parameters, parsed (defaults filled in)."""
        return TRIGGER_PARAMS[self.trigger].model_validate(self.params) if self.trigger else None

    @property
    def kind(self) -> str:
        """save or expand: how its outcomes are read."""
        if self.motion:
            return self.motion
        return "expand" if self.trigger in EXPAND_TRIGGERS else "save"


def _default_plays() -> list[PlayDef]:
    return [
        PlayDef(
            key="health_red",
            title="Health fell: find out why",
            trigger="health_drop",
            owner="csm",
            due_hours=16,
            clock="business",
            steps=["Read the health drivers", "Call the champion", "Agree a recovery plan", "Log it"],
            cooldown_days=30,
        ),
        PlayDef(
            key="usage_drop",
            title="Usage dropped against its baseline",
            trigger="usage_drop",
            owner="csm",
            due_hours=24,
            clock="business",
            steps=["Check which features fell", "Ask the champion what changed", "Offer enablement"],
            cooldown_days=30,
        ),
        PlayDef(
            key="ticket_spike",
            title="High-priority tickets are piling up",
            trigger="ticket_spike",
            owner="support_lead",
            due_hours=8,
            clock="business",
            steps=["Review the open tickets", "Assign an escalation engineer", "Update the customer"],
            cooldown_days=14,
        ),
        PlayDef(
            key="nps_detractor",
            title="Close the loop with a detractor",
            trigger="nps_detractor",
            owner="csm",
            due_hours=48,
            steps=["Read the comment", "Reply within two days", "Log what they need"],
            cooldown_days=30,
        ),
        PlayDef(
            key="exec_touchpoint",
            title="No executive touchpoint in 90 days",
            trigger="no_exec_touchpoint",
            owner="exec_sponsor",
            due_hours=24 * 14,
            steps=["Propose an executive business review", "Prepare the value summary"],
            cooldown_days=60,
        ),
        PlayDef(
            key="renewal_at_risk",
            title="Renewal coming up with the account at risk",
            trigger="renewal_at_risk",
            owner="ae",
            due_hours=24 * 5,
            steps=["Confirm the renewal date and decision maker", "Build the save plan with the CSM"],
            cooldown_days=14,
        ),
        PlayDef(
            key="first_value",
            title="First value reached: plan the expansion",
            trigger="first_value",
            owner="ae",
            due_hours=24 * 7,
            steps=["Congratulate the champion", "Share the value summary", "Open the expansion talk"],
            cooldown_days=365,
        ),
        PlayDef(
            key="seats_full",
            title="Seats nearly used up: offer more",
            trigger="seats_full",
            owner="ae",
            due_hours=24 * 5,
            steps=["Confirm who is waiting for a seat", "Send the expansion quote"],
            cooldown_days=60,
        ),
        PlayDef(
            key="save_call",
            title="Save call (opened by hand)",
            trigger=None,
            owner="csm",
            due_hours=24,
            clock="business",
            steps=["Write down what the customer said", "Agree the next step"],
            cooldown_days=0,
        ),
    ]


class PlaySettings(_Strict):
    """``[play_settings]``: where a play goes when neither its owner role nor the team's manager
    can own it."""

    fallback_channel: str | None = Field(None, pattern=r"^[CG][A-Z0-9]{2,31}$")




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
    kpis: dict[str, KpiGoal] = Field(default_factory=dict)
    tolerance: Tolerance = Tolerance()
    sync: SyncConfig = SyncConfig()
    plays: list[PlayDef] = Field(default_factory=_default_plays)
    play_settings: PlaySettings = PlaySettings()
    feedback: FeedbackPolicy = FeedbackPolicy()

    @model_validator(mode="after")
    def _known_kpis(self) -> Self:
        if not self.kpis:
            return self
        # Imported here: services.scorecard imports this module for ``Policies``.
        from services.goals import target_problem
        from services.scorecard import KPIS

        for key, goal in self.kpis.items():
            if key not in KPIS:
                raise ValueError(f"unknown KPI {key!r} under [kpis]; the KPIs are: {', '.join(KPIS)}")
            unit = KPIS[key][1]
            # The rules of a target set from Slack or the CLI (services.goals.parse_target), so the
            # file cannot hold one that storage rejects or a ratio written as 110 (11000 %).
            where = [(f"targets.{kind}", v) for kind, v in goal.targets.items()] + [
                (f"segments.{seg}.{kind}", v)
                for seg, kinds in goal.segments.items()
                for kind, v in kinds.items()
            ]
            for name, value in where:
                problem = target_problem(value, unit)
                if problem is not None:
                    raise ValueError(f"[kpis.{key}] {name} = {value:f}: {problem}")
        return self

    @model_validator(mode="after")
    def _plays_consistent(self) -> Self:
        seen: set[str] = set()
        for play in self.plays:
            if play.key in seen:
                raise ValueError(f"two plays with key {play.key}")
            seen.add(play.key)
            if play.clock == "business" and self.play_calendar(play) is None:
                raise ValueError(
                    f"play {play.key}: calendar {play.calendar!r} is not defined under [sla.calendars]"
                )
        return self

    def play_calendar(self, play: PlayDef) -> BusinessCalendar | None:
        """The business calendar of a play's due time: one of [sla.calendars]; "default" is the
        built-in Mon–Fri 09:00–17:00 UTC when the file does not define it."""
        found = self.sla.calendars.get(play.calendar)
        if found is None and play.calendar == "default":
            return BusinessCalendar()
        return found

    def play(self, key: str) -> PlayDef | None:
        return next((p for p in self.plays if p.key == key), None)


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
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            if err["loc"]
            else str(err["msg"]).removeprefix("Value error, ")  # a rule across sections says where
            for err in exc.errors()
        )
        raise ConfigError(f"config file {path}: {problems}") from None
