"""The simulator's configuration and its mutable, thread-safe state: users, codes, tokens,
device grants, faults, counters, the rate-limit window, the revision and the clock."""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from simulator.entities import AGENCY_LOGIN, SimUser, make_users
from simulator.faults import After, Before, Faults, take_after, take_before

# Allegro's reporting time zone (assumed by allegro-api.md); the simulator keeps its own copy
# of the page's rules instead of importing the client's.
REPORTING_TZ = ZoneInfo("Europe/Warsaw")

DEFAULT_SCOPE = "allegro:api:ads"
RATE_WINDOW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything that makes one simulated Allegro differ from another; all defaulted."""

    seed: int = 42
    users: int = 10
    client_id: str = "allegro-ads-demo"
    client_secret: str = "demo-secret-not-for-production"  # noqa: S105 - the demo app's secret
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8000/oauth/callback",)
    access_ttl_seconds: int = 43199
    refresh_ttl_seconds: int = 90 * 86400
    code_ttl_seconds: int = 60
    max_range_days: int = 31
    history_days: int = 730
    revision_days: int = 14
    rate_limit_per_minute: int = 9000
    today: date | None = None  # None: the real today in Europe/Warsaw
    device_interval_seconds: int = 5
    device_ttl_seconds: int = 3600

    def __post_init__(self) -> None:
        positive = (
            "access_ttl_seconds",
            "refresh_ttl_seconds",
            "code_ttl_seconds",
            "max_range_days",
            "history_days",
            "rate_limit_per_minute",
            "device_ttl_seconds",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"SimulatorConfig.{name} must be positive")
        for name in ("users", "revision_days", "device_interval_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"SimulatorConfig.{name} must not be negative")
        if not self.redirect_uris:
            raise ValueError("SimulatorConfig.redirect_uris needs at least one URI")


@dataclass(slots=True)
class AuthCode:
    client_id: str
    redirect_uri: str
    user_id: str
    scope: str
    challenge: str | None
    expires_at: float


@dataclass(slots=True)
class Grant:
    """What an access or refresh token stands for."""

    user_id: str
    client_id: str
    scope: str
    expires_at: float


@dataclass(slots=True)
class DeviceGrant:
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    user_id: str | None = None
    denied: bool = False
    last_poll: float | None = None


class SimulatorState:
    """All mutable state; every method takes ``lock`` so request threads can share it."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.sellers, self.agency = make_users(config.seed, config.users)
        self.codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.dead_refresh_tokens: dict[str, str] = {}  # token -> why it no longer works
        self.devices: dict[str, DeviceGrant] = {}
        self.faults = Faults()
        self.counters: Counter[str] = Counter()
        self.revision = 0
        self.clock_offset = 0.0
        self.signing_key = secrets.token_bytes(32)
        self.fault_rng = random.Random(config.seed)  # fail_rate draws are reproducible
        self._calls: dict[str, deque[float]] = {}
        self._by_login = {u.login: u for u in (*self.sellers, self.agency)}
        self._by_user_id = {u.user_id: u for u in (*self.sellers, self.agency)}
        self._by_client_id = {u.ads_client_id: u for u in self.sellers if u.ads_client_id}

    # --- time ----------------------------------------------------------------

    def now(self) -> float:
        """The simulator's clock: wall time plus whatever tests advanced it by."""
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (tokens and codes age; 'today' may change)."""
        with self.lock:
            self.clock_offset += seconds

    def today(self) -> date:
        """The reporting day the API considers 'today' (its data is never served)."""
        if self.config.today is not None:
            return self.config.today
        return datetime.fromtimestamp(self.now(), REPORTING_TZ).date()

    # --- users ---------------------------------------------------------------

    def user_by_login(self, login: str) -> SimUser | None:
        """The seller or agency user with this login."""
        return self._by_login.get(login)

    def user_by_id(self, user_id: str) -> SimUser | None:
        """The user with this Allegro user id."""
        return self._by_user_id.get(user_id)

    def owner_of_client(self, ads_client_id: str) -> SimUser | None:
        """The seller whose ads client this is, or None for an unknown id."""
        return self._by_client_id.get(ads_client_id)

    def visible_clients(self, user: SimUser) -> list[SimUser]:
        """Sellers whose ads clients ``user`` may list: the agency sees all, a seller itself;
        clients removed from the agency are gone for everyone."""
        removed = set(self.faults.remove_clients)
        candidates = self.sellers if user.login == AGENCY_LOGIN else (user,)
        return [u for u in candidates if u.ads_client_id and u.ads_client_id not in removed]

    # --- codes and tokens ----------------------------------------------------

    def issue_code(self, code: AuthCode) -> str:
        """Store ``code`` under a new random value and return the value."""
        value = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[value] = code
            self.counters["codes_issued"] += 1
        return value

    def take_code(self, value: str) -> AuthCode | None:
        """Remove and return the code: a code is spent by its first exchange attempt."""
        with self.lock:
            return self.codes.pop(value, None)

    def store_tokens(
        self, access: str, refresh: str, user_id: str, client_id: str, scope: str, now: float
    ) -> None:
        """Record a freshly minted pair (their lifetimes start at ``now``)."""
        access_ends, refresh_ends = (
            now + self.config.access_ttl_seconds,
            now + self.config.refresh_ttl_seconds,
        )
        with self.lock:
            self.access_tokens[access] = Grant(user_id, client_id, scope, access_ends)
            self.refresh_tokens[refresh] = Grant(user_id, client_id, scope, refresh_ends)
            self.counters["tokens_issued"] += 1

    def access_grant(self, token: str) -> Grant | None:
        """What an access token stands for (None if unknown or revoked; expiry not checked)."""
        with self.lock:
            return self.access_tokens.get(token)

    def spend_refresh_token(self, token: str) -> tuple[Grant | None, str]:
        """Remove a refresh token (rotation: it works once); return its grant or why not."""
        with self.lock:
            grant = self.refresh_tokens.pop(token, None)
            if grant is None:
                return None, self.dead_refresh_tokens.get(token, "unknown refresh token")
            if grant.expires_at <= self.now():
                self.dead_refresh_tokens[token] = "refresh token expired"
                return None, "refresh token expired"
            self.dead_refresh_tokens[token] = "refresh token already used (rotated)"
            return grant, ""

    def revoke(self, user: SimUser) -> int:
        """Withdraw ``user``'s consent: every token, code and device grant of theirs dies."""
        with self.lock:
            dead = [t for t, g in self.access_tokens.items() if g.user_id == user.user_id]
            for token in dead:
                del self.access_tokens[token]
            refresh = [t for t, g in self.refresh_tokens.items() if g.user_id == user.user_id]
            for token in refresh:
                del self.refresh_tokens[token]
                self.dead_refresh_tokens[token] = "consent withdrawn by the user"
            for value in [c for c, g in self.codes.items() if g.user_id == user.user_id]:
                del self.codes[value]
            for value in [d for d, g in self.devices.items() if g.user_id == user.user_id]:
                del self.devices[value]
            self.counters["revocations"] += 1
            return len(dead) + len(refresh)

    # --- device flow ---------------------------------------------------------

    def start_device(self, client_id: str, scope: str) -> tuple[str, DeviceGrant]:
        """A new pending device grant: (device_code, grant with its user_code)."""
        device_code = secrets.token_urlsafe(32)
        alphabet = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o/1/l: typed by humans
        user_code = "".join(secrets.choice(alphabet) for _ in range(9))
        grant = DeviceGrant(
            user_code, client_id, scope, self.now() + self.config.device_ttl_seconds
        )
        with self.lock:
            self.devices[device_code] = grant
        return device_code, grant

    def device_by_user_code(self, user_code: str) -> DeviceGrant | None:
        """The pending device grant a user typed the code of."""
        with self.lock:
            for grant in self.devices.values():
                if grant.user_code == user_code.strip().lower():
                    return grant
        return None

    # --- rate limit, counters, revision --------------------------------------

    def admit(self, client_id: str) -> int | None:
        """Count one API call of application ``client_id``; None if within the per-minute
        limit, else the seconds to wait (the rolling window's oldest call leaving it)."""
        now = self.now()
        with self.lock:
            calls = self._calls.setdefault(client_id, deque())
            while calls and calls[0] <= now - RATE_WINDOW_SECONDS:
                calls.popleft()
            if len(calls) >= self.config.rate_limit_per_minute:
                return max(1, math.ceil(calls[0] + RATE_WINDOW_SECONDS - now))
            calls.append(now)
            return None

    def count(self, *names: str) -> None:
        """Add one to each named counter."""
        with self.lock:
            for name in names:
                self.counters[name] += 1

    def revise(self) -> int:
        """Bump the revision: recent days' attributed figures change."""
        with self.lock:
            self.revision += 1
            return self.revision

    # --- faults --------------------------------------------------------------

    def set_faults(self, body: dict[str, Any]) -> Faults:
        """Merge ``body`` into the faults in force (ValueError on a bad key or value)."""
        with self.lock:
            self.faults = self.faults.merged(body)
            return self.faults

    def fault_before(self, *, oauth: bool, client_id: str | None) -> Before:
        """The fault (if any) hitting this request before it is handled; counted."""
        with self.lock:
            if not self.faults.applies_to(oauth=oauth, client_id=client_id):
                return Before()
            self.faults, before = take_before(self.faults, self.fault_rng)
            spike = "spike" if before.spike_ms else None
            for kind in (before.kind, "latency" if before.latency_ms else None, spike):
                if kind:
                    self.counters["faults_injected"] += 1
                    self.counters[f"faults.{kind}"] += 1
            return before

    def fault_after(self, *, oauth: bool, client_id: str | None) -> After:
        """The answer-mangling faults hitting this successful request; counted."""
        with self.lock:
            if not self.faults.applies_to(oauth=oauth, client_id=client_id):
                return After()
            self.faults, after = take_after(self.faults)
            # extra_field/missing_field are counted where they change a statistics answer.
            for kind in ("truncate", "malformed"):
                if getattr(after, kind):
                    self.counters["faults_injected"] += 1
                    self.counters[f"faults.{kind}"] += 1
            return after
