"""Every setting of the product, read from ``ALLEGRO_ADS_*`` environment variables in one place.

Defaults make the demo run with nothing set (local data folder, the simulator as
Allegro). ``ALLEGRO_ADS_ENV=production`` turns the demo defaults for secrets into errors.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings import defaults

ENV_PREFIX = "ALLEGRO_ADS_"
DEMO_CLIENT_ID = "allegro-ads-demo"
DEMO_CLIENT_SECRET = "demo-secret-not-for-production"  # noqa: S105 - the simulator's default app


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the environment variable to fix."""


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

    # HTTP behaviour towards Allegro.
    http_timeout_seconds: float = Field(defaults.HTTP_TIMEOUT_SECONDS, gt=0)
    max_attempts: int = Field(defaults.MAX_ATTEMPTS, ge=1, le=20)
    max_retry_seconds: float = Field(defaults.MAX_RETRY_SECONDS, gt=0)
    fetch_concurrency: int = Field(defaults.FETCH_CONCURRENCY, ge=1, le=64)

    # Tokens.
    refresh_margin_seconds: int = Field(defaults.REFRESH_MARGIN_SECONDS, ge=0)
    refresh_token_days: int = Field(defaults.REFRESH_TOKEN_DAYS, ge=1, le=3650)
    expiring_days: int = Field(7, ge=0)
    link_ttl_hours: float = Field(72.0, gt=0)

    # Pipeline.
    schedule_cron: str = "0 6 * * *"
    currency: str = "PLN"

    @model_validator(mode="after")
    def _production_needs_real_secrets(self) -> Settings:
        if self.env != "production":
            return self
        missing = []
        if self.client_id == DEMO_CLIENT_ID:
            missing.append("ALLEGRO_ADS_CLIENT_ID")
        if self.client_secret == DEMO_CLIENT_SECRET:
            missing.append("ALLEGRO_ADS_CLIENT_SECRET")
        if not self.token_keys:
            missing.append("ALLEGRO_ADS_TOKEN_KEYS")
        if not self.signing_key:
            missing.append("ALLEGRO_ADS_SIGNING_KEY")
        if missing:
            raise ValueError(
                "production needs real values for " + ", ".join(missing) + " (see README)"
            )
        return self

    @property
    def resolved_warehouse_url(self) -> str:
        return self.warehouse_url or f"duckdb:///{self.data_dir / 'warehouse.duckdb'}"

    @property
    def resolved_control_url(self) -> str:
        return self.control_url or f"sqlite:///{self.data_dir / 'control.db'}"

    @cached_property
    def fernet_keys(self) -> list[str]:
        """Token-encryption keys, newest first."""
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
        return self.signing_key or _dev_secrets(self.data_dir)["signing_key"]


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


def load_settings() -> Settings:
    """Read the settings; a wrong value raises ``ConfigError`` naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
            problems.append(f"{name}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
