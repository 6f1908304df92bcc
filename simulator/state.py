"""The simulator's configuration and its mutable, thread-safe state: accounts, consents, codes,
tokens (with the refresh grace), device grants, faults, counters, the rate limit, the revision
and the clock. With ``SimulatorConfig.state_file`` set, every change of the durable part is
written to that file (see ``simulator.persistence``) so a restarted simulator carries on."""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from simulator import persistence
from simulator.entities import SimUser, make_users
from simulator.faults import After, Before, Faults, take_after, take_before
from simulator.grants import (
    AuthCode,
    Consent,
    DeviceGrant,
    DevicePoll,
    Grant,
    RefreshGrant,
)
from simulator.ratelimit import RateLimiter

# Allegro's reporting time zone (assumed by allegro-api.md); the simulator keeps its own copy
# of the page's rules instead of importing the client's.
REPORTING_TZ = ZoneInfo("Europe/Warsaw")

ADS_SCOPE = "allegro:api:ads"
OFFERS_SCOPE = "allegro:api:sale:offers:read"
PROFILE_SCOPE = "allegro:api:profile:read"
RATE_WINDOW_SECONDS = 60.0
NON_PUBLIC_STATUSES = (401, 403)


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything that makes one simulated Allegro differ from another; all defaulted.

    Values marked *assumed* in allegro-api.md are settings here, with the page's default."""

    seed: int = 42
    users: int = 10  # sellers: seller01, seller02, …
    agencies: int = 1  # agency accounts: agency, agency2, …; seller N is a client of N mod this
    client_id: str = "allegro-ads-demo"
    client_secret: str = "demo-secret-not-for-production"  # noqa: S105 - the demo app's secret
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8000/oauth/callback",)
    # What the application is registered for: the scope of a consent that names none.
    registered_scopes: tuple[str, ...] = (ADS_SCOPE, OFFERS_SCOPE, PROFILE_SCOPE)
    password: str = "sim-password"  # noqa: S105 - every simulated account's password
    access_ttl_seconds: int = 43199
    refresh_ttl_seconds: int = 90 * 86400
    refresh_grace_seconds: int = 60  # a used refresh token keeps working this long
    code_ttl_seconds: int = 10
    max_range_days: int = 31  # assumed: longest statistics range per request
    history_days: int = 730  # statistics.gte not older than this (2 years)
    revision_days: int = 14  # assumed: recent days whose attributed figures still change
    rate_limit_per_minute: int = 9000
    rate_block_seconds: int = 60  # how long a client id over the limit is blocked
    send_retry_after: bool = False  # no evidence Allegro sends Retry-After with its 429
    clients_paging: bool = False  # no evidence the agency client list pages
    non_public_status: int = 401  # what /ads/... answers a non-whitelisted app: 401 or 403
    today: date | None = None  # None: the real today in Europe/Warsaw (clock offset included)
    device_interval_seconds: int = 5
    device_ttl_seconds: int = 3600
    state_file: str | None = None  # keep consents, tokens, clock… here across restarts

    def __post_init__(self) -> None:
        positive = (
            "agencies",
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
        for name in (
            "users",
            "revision_days",
            "device_interval_seconds",
            "refresh_grace_seconds",
            "rate_block_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"SimulatorConfig.{name} must not be negative")
        if not self.redirect_uris:
            raise ValueError("SimulatorConfig.redirect_uris needs at least one URI")
        if not self.registered_scopes:
            raise ValueError("SimulatorConfig.registered_scopes needs at least one scope")
        if self.non_public_status not in NON_PUBLIC_STATUSES:
            raise ValueError("SimulatorConfig.non_public_status must be 401 or 403")

    @property
    def default_scope(self) -> str:
        """The scope granted when the authorize or device request names none."""
        return " ".join(self.registered_scopes)


class SimulatorState:
    """All mutable state; every method takes ``lock`` so request threads can share it."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.sellers, self.agencies = make_users(config.seed, config.users, config.agencies)
        self.codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, RefreshGrant] = {}
        self.dead_refresh_tokens: dict[str, str] = {}  # token -> why it no longer works
        self.devices: dict[str, DeviceGrant] = {}
        self.consents: dict[str, Consent] = {}  # user id -> the consent in force
        self.faults = Faults()
        self.counters: Counter[str] = Counter()
        self.revision = 0
        self.clock_offset = 0.0
        self.signing_key = secrets.token_bytes(32)
        self.fault_rng = random.Random(config.seed)  # fail_rate draws are reproducible
        self.rate_limiter = RateLimiter(
            config.rate_limit_per_minute, RATE_WINDOW_SECONDS, config.rate_block_seconds
        )
        self._used_refresh: deque[tuple[float, str]] = deque()  # (first use, token), in order
        everyone = (*self.sellers, *self.agencies)
        self._by_login = {u.login: u for u in everyone}
        self._by_user_id = {u.user_id: u for u in everyone}
        self._by_client_id = {u.ads_client_id: u for u in self.sellers if u.ads_client_id}
        if config.state_file:
            persistence.load_into(self, config.state_file)

    @property
    def agency(self) -> SimUser:
        """The first agency account (login "agency")."""
        return self.agencies[0]

    # --- time ----------------------------------------------------------------

    def now(self) -> float:
        """The simulator's clock: wall time plus whatever tests advanced it by."""
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (tokens, codes, grace and the rate-limit window
        age; 'today' may change)."""
        with self.lock:
            self.clock_offset += seconds
            self._changed()

    def today(self) -> date:
        """The reporting day the API considers 'today' (its data is never served)."""
        if self.config.today is not None:
            return self.config.today
        return datetime.fromtimestamp(self.now(), REPORTING_TZ).date()

    # --- accounts ------------------------------------------------------------

    def user_by_login(self, login: str) -> SimUser | None:
        """The seller or agency account with this login."""
        return self._by_login.get(login)

    def user_by_id(self, user_id: str) -> SimUser | None:
        """The account with this Allegro user id."""
        return self._by_user_id.get(user_id)

    def seller_of_client(self, ads_client_id: str) -> SimUser | None:
        """The seller who is this agency client, or None for an unknown id."""
        return self._by_client_id.get(ads_client_id)

    def clients_of(self, agency: SimUser) -> list[SimUser]:
        """The sellers in ``agency``'s client list now: its clients, less those removed from
        the agency by the ``remove_clients`` fault. A seller has no clients."""
        if not agency.is_agency:
            return []
        removed = set(self.faults.remove_clients)
        return [
            u
            for u in self.sellers
            if u.agency_login == agency.login and u.ads_client_id not in removed
        ]

    def check_password(self, user: SimUser, password: str) -> bool:
        """Whether ``password`` is the account's password."""
        return secrets.compare_digest(password.encode(), self.config.password.encode())

    # --- codes, consents and tokens ------------------------------------------

    def issue_code(self, code: AuthCode) -> str:
        """Store ``code`` under a new random value, record the consent, return the value."""
        value = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[value] = code
            self.consents[code.user_id] = Consent(code.scope, self.now())
            self.counters["codes_issued"] += 1
            self._changed()
        return value

    def peek_code(self, value: str) -> AuthCode | None:
        """The code without spending it (to authenticate a public client by its PKCE)."""
        with self.lock:
            return self.codes.get(value)

    def take_code(self, value: str) -> AuthCode | None:
        """Remove and return the code: a code is spent by its first exchange attempt."""
        with self.lock:
            code = self.codes.pop(value, None)
            if code is not None:
                self._changed()
            return code

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
            self.refresh_tokens[refresh] = RefreshGrant(
                user_id, client_id, scope, refresh_ends, access
            )
            self.counters["tokens_issued"] += 1
            self._changed()

    def access_grant(self, token: str) -> Grant | None:
        """What an access token stands for (None if unknown, replaced by a refresh or revoked;
        expiry not checked)."""
        with self.lock:
            return self.access_tokens.get(token)

    def spend_refresh_token(self, token: str) -> tuple[RefreshGrant | None, str]:
        """Use a refresh token; return its grant, or None and why it no longer works.

        The first use kills the access token minted with it (Allegro invalidates the previous
        access token on refresh). The token keeps working ``refresh_grace_seconds`` after its
        first use; each use within the grace returns a grant to mint a fresh pair from and
        kills nothing more."""
        with self.lock:
            now = self.now()
            self._end_graces(now)
            grant = self.refresh_tokens.get(token)
            if grant is None:
                return None, self.dead_refresh_tokens.get(token, "unknown refresh token")
            if grant.expires_at <= now:
                del self.refresh_tokens[token]
                self.dead_refresh_tokens[token] = "refresh token expired"
                self._changed()
                return None, "refresh token expired"
            if grant.used_at is None:
                grant.used_at = now
                self.access_tokens.pop(grant.access, None)
                self._used_refresh.append((now, token))
                self._changed()
            else:
                self.counters["refreshes_in_grace"] += 1
            return grant, ""

    def restore_used_refresh(self, used: deque[tuple[float, str]]) -> None:
        """Set the used refresh tokens in order of first use (restoring a state file)."""
        with self.lock:
            self._used_refresh = used

    def _end_graces(self, now: float) -> None:
        """Retire the used refresh tokens whose grace is over."""
        grace = self.config.refresh_grace_seconds
        while self._used_refresh and self._used_refresh[0][0] + grace <= now:
            _, token = self._used_refresh.popleft()
            if self.refresh_tokens.pop(token, None) is not None:
                self.dead_refresh_tokens[token] = (
                    f"refresh token already used more than {grace} s ago (rotated)"
                )
                self._changed()

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
            self.consents.pop(user.user_id, None)
            self.counters["revocations"] += 1
            self._changed()
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
            self._changed()
        return device_code, grant

    def device_by_user_code(self, user_code: str) -> DeviceGrant | None:
        """The pending device grant a user typed the code of."""
        with self.lock:
            for grant in self.devices.values():
                if grant.user_code == user_code.strip().lower():
                    return grant
        return None

    def confirm_device(self, user_code: str, login: str, approve: bool, password: str) -> str:
        """Approve or deny a pending device grant as ``login``; returns an error text or "".
        An empty ``password`` is not checked (scripted confirmations need not know it)."""
        with self.lock:
            grant = self.device_by_user_code(user_code)
            if grant is None or grant.expires_at <= self.now():
                return "Unknown or expired code."
            if not approve:
                grant.denied = True
                self._changed()
                return ""
            user = self.user_by_login(login.strip())
            if user is None or (password and not self.check_password(user, password)):
                return "Unknown login or wrong password."
            grant.user_id = user.user_id
            self.consents[user.user_id] = Consent(grant.scope, self.now())
            self._changed()
            return ""

    def poll_device(self, device_code: str) -> DevicePoll:
        """One poll of the token endpoint with a device code: the confirmed grant (spent by
        this poll) or the OAuth error to answer."""
        now = self.now()
        with self.lock:
            grant = self.devices.get(device_code)
            if grant is None:
                return DevicePoll(error="invalid_grant", description="Unknown device_code")
            if grant.expires_at <= now:
                del self.devices[device_code]
                self._changed()
                return DevicePoll(error="expired_token", description="The device code expired")
            if grant.denied:
                del self.devices[device_code]
                self._changed()
                return DevicePoll(error="access_denied", description="The user refused access")
            if grant.user_id is None:
                too_fast = (
                    grant.last_poll is not None
                    and now - grant.last_poll < self.config.device_interval_seconds
                )
                grant.last_poll = now
                if too_fast:
                    return DevicePoll(
                        error="slow_down", description="Polling faster than the interval"
                    )
                return DevicePoll(
                    error="authorization_pending",
                    description="The user has not confirmed yet",
                )
            del self.devices[device_code]
            self._changed()
            return DevicePoll(grant=grant)

    # --- rate limit, counters, revision --------------------------------------

    def admit(self, client_id: str) -> float | None:
        """Count one API call of application ``client_id``; None if it may proceed, else the
        seconds left of the one-minute block it is under."""
        with self.lock:
            return self.rate_limiter.admit(client_id, self.now())

    def count(self, *names: str) -> None:
        """Add one to each named counter."""
        with self.lock:
            for name in names:
                self.counters[name] += 1

    def revise(self) -> int:
        """Bump the revision: recent days' attributed figures change."""
        with self.lock:
            self.revision += 1
            self._changed()
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
            # extra_field/missing_field are counted where they change an answer.
            for kind in ("truncate", "malformed"):
                if getattr(after, kind):
                    self.counters["faults_injected"] += 1
                    self.counters[f"faults.{kind}"] += 1
            return after

    # --- persistence ---------------------------------------------------------

    def _changed(self) -> None:
        """Called under ``lock`` after a change of the durable state: write the state file."""
        if self.config.state_file:
            persistence.save(self, self.config.state_file)
