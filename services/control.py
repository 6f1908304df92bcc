"""An open control store: the settings, its engine and its token store, for one unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine

from control_store.database import check_schema_current, make_engine
from control_store.token_store import TokenStore
from settings.config import Settings, load_settings


@dataclass
class Control:
    """An open control store: settings, engine, token store. ``close()`` when done."""

    settings: Settings
    engine: Engine
    _closed: bool = field(default=False, repr=False)

    @cached_property
    def tokens(self) -> TokenStore:
        return TokenStore(
            self.engine,
            self.settings.fernet_keys,
            refresh_token_days=self.settings.refresh_token_days,
        )

    def close(self) -> None:
        if not self._closed:
            self.engine.dispose()
            self._closed = True

    def __enter__(self) -> Control:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_control(settings: Settings | None = None, *, check_schema: bool = True) -> Control:
    """Open the configured control store; refuses (``SchemaOutOfDate``) an out-of-date schema."""
    settings = settings or load_settings()
    engine = make_engine(settings.resolved_control_url)
    if check_schema:
        try:
            check_schema_current(engine)
        except Exception:
            engine.dispose()
            raise
    return Control(settings, engine)
