"""Settings: one ``Settings`` object built in ``main()`` and passed down.

Plain settings come from environment variables (and a ``.env`` file). Policies — health weights and
bands, the adoption threshold, gross margin, currency — come from an optional TOML file named by
``RETENTION_BOT_CONFIG`` (see ``docs/configuration.md``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.errors import ConfigError
from services.policies import Policies, load_policies
from storage.db import BadDatabaseUrl, check_url

DEFAULT_DATABASE_URL = "sqlite:///retention_bot.db"

FERNET_KEY_HINT = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    config_file: Path | None = Field(None, validation_alias="RETENTION_BOT_CONFIG")
    # The workspace the CLI works on; Slack requests name their own workspace.
    workspace: str = Field("default", validation_alias="RETENTION_BOT_WORKSPACE", min_length=1, max_length=64)
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    # "json": one JSON object per log line, for log shipping (docs/deploy.md); "text": plain lines.
    log_format: Literal["text", "json"] = Field("text", validation_alias="LOG_FORMAT")

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
    # The digest's charts, uploaded into its thread (needs the files:write scope).
    digest_charts: bool = Field(True, validation_alias="DIGEST_CHARTS")
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
        """Stop start-up with one line naming every Slack setting that cannot work (all of them at
        once, not one per attempt) and where to get them. A worker only posts, so it needs a token (or
        the OAuth store) but no signing secret."""
        problems: list[str] = []
        if self.oauth:
            if self.slack_client_secret is None:
                problems.append("setting SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID (OAuth mode)")
            if self.token_encryption_key is None:
                problems.append(
                    "setting TOKEN_ENCRYPTION_KEY: required in OAuth mode to encrypt bot tokens at rest; "
                    f"make one with: {FERNET_KEY_HINT}"
                )
            else:
                try:
                    _fernet_key(self.token_encryption_key)
                except ConfigError as exc:
                    problems.append(str(exc))
        elif self.slack_bot_token is None:
            problems.append(
                "setting SLACK_BOT_TOKEN: required (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth)"
            )
        elif not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            problems.append("setting SLACK_BOT_TOKEN: a bot token starts with xoxb-")
        if not worker:
            if socket_mode:
                token = self.slack_app_token.get_secret_value() if self.slack_app_token else ""
                if not token.startswith("xapp-"):
                    problems.append("setting SLACK_APP_TOKEN: Socket Mode needs an app-level token (xapp-…)")
            elif self.slack_signing_secret is None:
                problems.append("setting SLACK_SIGNING_SECRET: required to verify requests from Slack")
        if problems:
            raise ConfigError(
                "; ".join(problems)
                + " (docs/slack.md: creating the Slack app and where each value is; `retention-bot doctor`"
                " checks them)"
            )

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
