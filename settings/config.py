"""Every setting of the product, read from ``ALLEGRO_ADS_*`` environment variables in one place.

Defaults make the demo run with nothing set (local data folder, the simulator as
Allegro). ``ALLEGRO_ADS_ENV=production`` turns the demo defaults for secrets into errors, for
the secrets a component needs: ``load_settings`` checks those it is told to (all by default),
and each secret is checked again where it is used, so a component never falls back to a demo
value it was not checked for.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from settings import defaults

ENV_PREFIX = "ALLEGRO_ADS_"
DEMO_CLIENT_ID = "allegro-ads-demo"
DEMO_CLIENT_SECRET = "demo-secret-not-for-production"  # noqa: S105 - the simulator's default app


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the environment variable to fix."""


class Secret(StrEnum):
    """A setting production refuses to run with its demo value. Each component needs some:
    the pipeline signs no links, so it runs without ``SIGNING_KEY``."""

    CLIENT_ID = "client_id"
    CLIENT_SECRET = "client_secret"  # noqa: S105 - a setting's name, not a password
    TOKEN_KEYS = "token_keys"  # noqa: S105 - a setting's name, not a password
    SIGNING_KEY = "signing_key"

    @property
    def variable(self) -> str:
        """The environment variable that sets it."""
        return f"{ENV_PREFIX}{self.value.upper()}"


EVERY_SECRET = frozenset(Secret)
# What each secret holds when nobody set it: the demo's values, usable only in development.
_DEMO_VALUES = {
    Secret.CLIENT_ID: DEMO_CLIENT_ID,
    Secret.CLIENT_SECRET: DEMO_CLIENT_SECRET,
    Secret.TOKEN_KEYS: "",
    Secret.SIGNING_KEY: "",
}


class Settings(BaseSettings):
    """The product's configuration. Read with ``load_settings()``, not directly."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")

    # Stores. Empty means "the default file under data_dir".
    warehouse_url: str = ""
    control_url: str = ""

    # Allegro. Production: https://allegro.pl and https://api.allegro.pl.
    auth_url: str = "http://127.0.0.1:8765"
    api_url: str = "http://127.0.0.1:8765"
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    redirect_uri: str = "http://127.0.0.1:8000/oauth/callback"
    public_url: str = "http://127.0.0.1:8000"
    agency_name: str = "Demo Agency"

    # Secrets. Comma-separated Fernet keys, newest first (rotation keeps the old ones readable).
    token_keys: str = ""
    signing_key: str = ""

    # The statistics API's rules.
    max_range_days: int = Field(defaults.MAX_RANGE_DAYS, ge=1, le=366)
    history_days: int = Field(defaults.HISTORY_DAYS, ge=1, le=3650)
    lookback_days: int = Field(14, ge=1, le=90)
    stats_types_style: defaults.TypesStyle = defaults.STATS_TYPES_STYLE
    # Assumed, not documented (allegro-api.md): the calendar Allegro's days follow, and the unit
    # of its ctr and rateOfReturn.
    reporting_timezone: str = defaults.REPORTING_TIMEZONE
    api_ratio_units: defaults.RatioUnits = defaults.API_RATIO_UNITS

    # What each authorisation asks for: the agency account's and a customer's sales account.
    agency_scope: str = defaults.AGENCY_SCOPE
    sales_scope: str = defaults.SALES_SCOPE

    # HTTP behaviour towards Allegro.
    http_timeout_seconds: float = Field(defaults.HTTP_TIMEOUT_SECONDS, gt=0)
    max_attempts: int = Field(defaults.MAX_ATTEMPTS, ge=1, le=20)
    max_retry_seconds: float = Field(defaults.MAX_RETRY_SECONDS, gt=0)
    fetch_concurrency: int = Field(defaults.FETCH_CONCURRENCY, ge=1, le=64)
    rate_limit_block_seconds: float = Field(defaults.RATE_LIMIT_BLOCK_SECONDS, gt=0, le=3600)

    # Tokens.
    refresh_margin_seconds: int = Field(defaults.REFRESH_MARGIN_SECONDS, ge=0)
    refresh_token_days: int = Field(defaults.REFRESH_TOKEN_DAYS, ge=1, le=3650)
    expiring_days: int = Field(7, ge=0)
    link_ttl_hours: float = Field(72.0, gt=0)

    # Pipeline.
    schedule_cron: str = "0 6 * * *"
    currency: str = "PLN"

    # Mail: alerts and reports. Nothing is sent while smtp_host is empty.
    smtp_host: str = ""
    smtp_port: int | None = Field(None, ge=1, le=65535)  # None: the security's standard port
    smtp_security: defaults.SmtpSecurity = defaults.SMTP_SECURITY
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    mail_from: str = ""
    # Staff alert addresses, comma-separated; a portfolio may add its own (control store).
    alert_emails: str = ""
    # A Slack-compatible incoming webhook; its URL is a credential, hence secret.
    alert_webhook_url: SecretStr = SecretStr("")
    alert_interval_seconds: int = Field(defaults.ALERT_INTERVAL_SECONDS, ge=1, le=3600)
    connection_check_seconds: int = Field(defaults.CONNECTION_CHECK_SECONDS, ge=0, le=86400)
    # The weekly and monthly report e-mails go to the staff alert addresses; with this set, to
    # each customer's contact address as well.
    reports_to_customers: bool = False

    @field_validator("alert_emails")
    @classmethod
    def _addresses(cls, value: str) -> str:
        """Each comma-separated entry looks like an address, so a typo fails at start."""
        for address in _split_addresses(value):
            if not _looks_like_address(address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value().strip()
        if url and not url.startswith(("https://", "http://")):
            raise ValueError("the alert webhook must be an http(s):// URL")
        return SecretStr(url)

    @model_validator(mode="after")
    def _mail_complete(self) -> Settings:
        """A mail server without a sender, or a user without a password, cannot send."""
        if not self.smtp_host:
            return self
        if not _looks_like_address(self.mail_from):
            raise ValueError(
                f"{ENV_PREFIX}MAIL_FROM must be the sender's address when "
                f"{ENV_PREFIX}SMTP_HOST is set"
            )
        if self.smtp_user and not self.smtp_password.get_secret_value():
            raise ValueError(f"{ENV_PREFIX}SMTP_PASSWORD is empty but {ENV_PREFIX}SMTP_USER is set")
        return self

    @property
    def mail_enabled(self) -> bool:
        """True when a mail server is configured; without one nothing is sent."""
        return bool(self.smtp_host)

    @property
    def resolved_smtp_port(self) -> int:
        return self.smtp_port or defaults.SMTP_PORTS[self.smtp_security]

    @property
    def alert_recipients(self) -> tuple[str, ...]:
        """The staff alert addresses, in the order given."""
        return tuple(_split_addresses(self.alert_emails))

    @field_validator("reporting_timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        """An IANA zone this machine knows, so a typo fails at start, not at the first run."""
        if not is_known_zone(name):
            raise ValueError(
                f"{name!r} is not a known IANA time zone; use a name like Europe/Warsaw"
            )
        return name

    def require(self, needs: Iterable[Secret]) -> None:
        """Raise ``ConfigError`` naming every secret of ``needs`` that production lacks."""
        if self.env != "production":
            return
        wanted = set(needs)
        missing = [
            secret.variable
            for secret in Secret  # in declaration order, so the message is stable
            if secret in wanted and getattr(self, secret.value) == _DEMO_VALUES[secret]
        ]
        if missing:
            raise ConfigError(
                "production needs real values for " + ", ".join(missing) + " (see README)"
            )

    @property
    def resolved_warehouse_url(self) -> str:
        return self.warehouse_url or f"duckdb:///{self.data_dir / 'warehouse.duckdb'}"

    @property
    def resolved_control_url(self) -> str:
        return self.control_url or f"sqlite:///{self.data_dir / 'control.db'}"

    @cached_property
    def fernet_keys(self) -> list[str]:
        """Token-encryption keys, newest first."""
        self.require([Secret.TOKEN_KEYS])
        raw = self.token_keys or _dev_secrets(self.data_dir)["token_keys"]
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        for key in keys:
            try:
                Fernet(key.encode())
            except ValueError as exc:
                raise ConfigError(
                    "ALLEGRO_ADS_TOKEN_KEYS holds a value that is not a Fernet key; generate "
                    "one with: allegro-ads keys generate"
                ) from exc
        return keys

    @cached_property
    def signing_secret(self) -> str:
        """Key for signed links and portal sessions."""
        self.require([Secret.SIGNING_KEY])
        return self.signing_key or _dev_secrets(self.data_dir)["signing_key"]


def _split_addresses(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _looks_like_address(value: str) -> bool:
    """One ``local@domain`` without spaces or a display name: what a mail server accepts."""
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in value))


def is_known_zone(name: str) -> bool:
    """True when ``name`` is an IANA time zone (``Europe/Warsaw``) this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: a path-like or empty name
        return False
    return True


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    """Development only: keys generated once and kept in data_dir, so the demo needs no setup."""
    path = data_dir / "dev-secrets.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    data_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "token_keys": Fernet.generate_key().decode(),
        "signing_key": secrets.token_urlsafe(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    return values


class _GivenSettings(Settings):
    """Settings whose only source is the values passed in (see ``settings_from``)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def settings_from(**values: Any) -> Settings:
    """Settings made of ``values`` and the defaults, the environment unread: for a component
    configured elsewhere (a Dagster resource passes its own fields). Values are validated."""
    try:
        return _GivenSettings(**values)
    except ValidationError as exc:
        raise _config_error(exc) from None


def load_settings(needs: Iterable[Secret] = EVERY_SECRET) -> Settings:
    """Read the settings; a wrong value raises ``ConfigError`` naming its variable.

    In production every secret in ``needs`` must hold a real value; a component that uses only
    some of them (the pipeline signs no links) names those.
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        raise _config_error(exc) from None
    try:
        settings.require(needs)
    except ConfigError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from None
    return settings


def _config_error(exc: ValidationError) -> ConfigError:
    """One ``ConfigError`` naming the variable of every invalid value."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
        problems.append(f"{name}: {error['msg']}")
    return ConfigError("invalid configuration: " + "; ".join(problems))
