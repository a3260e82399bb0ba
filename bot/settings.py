"""Settings: one ``Settings`` object built in ``main()`` and passed down.

Plain settings come from environment variables (and a ``.env`` file). Policies — health weights and
bands, the adoption threshold, gross margin, currency — come from an optional TOML file named by
``RETENTION_BOT_CONFIG`` (see ``docs/configuration.md``).
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.db import BadDatabaseUrl, check_url

DEFAULT_DATABASE_URL = "sqlite:///retention_bot.db"

FERNET_KEY_HINT = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
HEALTH_COMPONENTS = ("usage", "adoption", "support", "engagement", "sentiment", "commercial")


class ConfigError(Exception):
    """A setting or policy file is wrong; the message says which and how to fix it."""


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


class Policies(_Strict):
    """Business policies, from the TOML config file; every field has a documented default."""

    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    gross_margin: Decimal = Field(Decimal("0.80"), gt=0, le=1)
    adoption_threshold: float = Field(0.40, gt=0, le=1)
    health: HealthPolicy = HealthPolicy()
    wins: WinPolicy = WinPolicy()
    sla: SlaConfig = SlaConfig()


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    config_file: Path | None = Field(None, validation_alias="RETENTION_BOT_CONFIG")
    # The workspace the CLI works on; Slack requests name their own workspace.
    workspace: str = Field("default", validation_alias="RETENTION_BOT_WORKSPACE", min_length=1, max_length=64)
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")

    # Slack (see docs/slack.md). Single workspace: a bot token; several: OAuth client id and secret.
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, validation_alias="SLACK_CLIENT_SECRET")
    slack_api_url: str = Field(
        "https://slack.com/api/", validation_alias="SLACK_API_URL", pattern=r"^https?://"
    )
    # Fernet key (32 url-safe base64 bytes) that encrypts OAuth bot tokens at rest.
    token_encryption_key: SecretStr | None = Field(None, validation_alias="TOKEN_ENCRYPTION_KEY")
    # A directory whose digest.json.j2 / digest_detail.json.j2 override the packaged digest templates.
    digest_templates: Path | None = Field(None, validation_alias="DIGEST_TEMPLATES")
    admin_user_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="ADMIN_USER_IDS"
    )
    ingest_token: SecretStr | None = Field(None, validation_alias="INGEST_TOKEN")
    host: str = Field("127.0.0.1", validation_alias="HOST")
    port: int = Field(3000, validation_alias="PORT", ge=1, le=65535)
    # Threads per server process: requests waiting on Slack hold one each, so several per process.
    server_threads: int = Field(8, validation_alias="SERVER_THREADS", ge=1, le=256)
    # How many of a server process's threads use the database at once (the rest wait their turn):
    # threads querying together only take turns on one core (docs/slack.md, bench/slack_health.py).
    db_concurrency: int = Field(2, validation_alias="DB_CONCURRENCY", ge=1, le=256)
    # Server processes sharing one listening socket (one Python process uses one core); 0 = one per core.
    web_processes: int = Field(0, validation_alias="WEB_PROCESSES", ge=0, le=64)
    # The HTTP edge (docs/slack.md): open connections per server process (idle ones included; past it
    # new ones wait unanswered), seconds a connection may send nothing before it is closed, and the
    # largest request body (bytes; the ingest API takes up to 10 MiB per request).
    connection_limit: int = Field(1000, validation_alias="CONNECTION_LIMIT", ge=1, le=100_000)
    channel_timeout: int = Field(30, validation_alias="CHANNEL_TIMEOUT", ge=1, le=3600)
    max_request_body_bytes: int = Field(
        20 * 1024 * 1024, validation_alias="MAX_REQUEST_BODY_BYTES", ge=64 * 1024, le=1024**3
    )
    # Scheduled work (digests, shout-outs, daily snapshots): `serve` runs it too unless SCHEDULER=false
    # (then run `retention-bot worker` separately). Replicas may all run it: the database claims the work.
    scheduler: bool = Field(True, validation_alias="SCHEDULER")
    tick_seconds: int = Field(60, validation_alias="TICK_SECONDS", ge=1, le=3600)
    deliver_seconds: int = Field(10, validation_alias="DELIVER_SECONDS", ge=1, le=3600)
    sla_sweep_seconds: int = Field(60, validation_alias="SLA_SWEEP_SECONDS", ge=1, le=3600)
    delivery_threads: int = Field(32, validation_alias="DELIVERY_THREADS", ge=1, le=256)

    policies: Policies = Field(default_factory=Policies, exclude=True)

    @field_validator("database_url")
    @classmethod
    def _usable_database(cls, value: str) -> str:
        try:
            check_url(value)
        except BadDatabaseUrl as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"{value!r} is not a log level: use DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def oauth(self) -> bool:
        return self.slack_client_id is not None

    def check_slack(self, *, socket_mode: bool = False, worker: bool = False) -> None:
        """Stop start-up with one line when the Slack settings cannot work together. A worker only
        posts, so it needs a token (or the OAuth store) but no signing secret."""
        if self.oauth:
            if self.slack_client_secret is None:
                raise ConfigError("setting SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID (OAuth mode)")
            if self.token_encryption_key is None:
                raise ConfigError(
                    "setting TOKEN_ENCRYPTION_KEY: required in OAuth mode to encrypt bot tokens at rest; "
                    f"make one with: {FERNET_KEY_HINT}"
                )
            _fernet_key(self.token_encryption_key)
        elif self.slack_bot_token is None:
            raise ConfigError(
                "setting SLACK_BOT_TOKEN: required (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth)"
            )
        elif not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            raise ConfigError("setting SLACK_BOT_TOKEN: a bot token starts with xoxb-")
        if worker:
            return
        if socket_mode:
            token = self.slack_app_token.get_secret_value() if self.slack_app_token else ""
            if not token.startswith("xapp-"):
                raise ConfigError("setting SLACK_APP_TOKEN: Socket Mode needs an app-level token (xapp-…)")
        elif self.slack_signing_secret is None:
            raise ConfigError("setting SLACK_SIGNING_SECRET: required to verify requests from Slack")

    @model_validator(mode="after")
    def _load_policy_file(self) -> Self:
        if self.config_file is not None:
            self.policies = load_policies(self.config_file)
        return self


def _fernet_key(key: SecretStr) -> bytes:
    from cryptography.fernet import Fernet

    raw = key.get_secret_value().encode()
    try:
        Fernet(raw)
    except (ValueError, TypeError):
        raise ConfigError(
            "setting TOKEN_ENCRYPTION_KEY: not a Fernet key (32 url-safe base64-encoded bytes)"
        ) from None
    return raw


def build_settings(**overrides: object) -> Settings:
    """Build settings once (``main()`` calls this); turns validation errors into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"])
        # A validator's own message reads on its own; pydantic prefixes it with "Value error, ".
        raise ConfigError(f"setting {name}: {err['msg'].removeprefix('Value error, ')}") from None
