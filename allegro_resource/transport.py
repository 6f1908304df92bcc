"""The one place that sends an HTTP request to Allegro.

Retries 429 (honouring ``Retry-After``; without it, waiting out Allegro's one-minute block of
the application, shared by every thread of the transport), 5xx and connection errors/timeouts
with exponential backoff and full jitter, capped by attempts and by total seconds; reports
every attempt to a call-log sink; maps error answers to the typed errors of ``errors``.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from allegro_resource.calllog import ApiCall, CallLogSink, NullCallLog
from allegro_resource.errors import (
    AllegroError,
    AllegroUnavailable,
    ApiError,
    Forbidden,
    InvalidToken,
    MalformedResponse,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)
from settings import defaults

if TYPE_CHECKING:  # the type of requests' settings dict exists in its stubs only
    from requests.sessions import _Settings

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# Form fields whose values are credentials: they never reach a log or an error text.
SECRET_FORM_FIELDS = frozenset(
    {"code", "refresh_token", "code_verifier", "device_code", "client_secret", "access_token"}
)

_REDACTED = "[redacted]"
_MAX_ERROR_BODY = 300

Parser = Callable[[requests.Response], tuple[T, int | None]]
"""Turns a successful answer into (value, rows); raises ``MalformedResponse`` on a bad shape."""

ErrorMapper = Callable[["HttpRequest", requests.Response], AllegroError]
"""Turns a non-retryable error answer (4xx) into the typed error to raise."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying: both caps apply, whichever is reached first wins."""

    max_attempts: int = defaults.MAX_ATTEMPTS
    max_retry_seconds: float = defaults.MAX_RETRY_SECONDS
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    # A 429 without Retry-After: Allegro blocks the application for a whole minute.
    rate_limit_block_seconds: float = defaults.RATE_LIMIT_BLOCK_SECONDS


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One logical request; ``url`` has no query string (``params`` carry it)."""

    method: str
    url: str
    params: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] | None = None
    auth: tuple[str, str] | None = None
    customer_id: str | None = None
    run_id: str | None = None

    @property
    def endpoint(self) -> str:
        """The path only: what the call log and error messages show."""
        return urlsplit(self.url).path or "/"

    def secrets(self) -> list[str]:
        """Every credential this request carries, for redaction."""
        found = [v for k, v in (self.data or {}).items() if k in SECRET_FORM_FIELDS and v]
        authorization = self.headers.get("Authorization", "")
        if authorization:
            found.append(authorization.split(" ", 1)[-1])
        if self.auth:
            found.append(self.auth[1])
        return [s for s in found if s]


class _Retryable(Exception):
    """An attempt failed in a way worth retrying; ``error`` is what to raise if we give up."""

    def __init__(self, error: AllegroError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.blocked_seconds: float | None = None  # a 429 without Retry-After: the block left


class RateGate:
    """When the application may call again after a 429, shared by a transport's threads: one
    thread learning of Allegro's block holds the others back instead of each collecting 429s.

    ``clock`` is monotonic seconds (injectable with the transport's ``sleep``)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._open_at = 0.0

    def blocked_for(self, seconds: float) -> float:
        """Record a 429 asking to wait ``seconds`` from now (a block already in force is kept
        if it ends later); return the seconds left until the gate opens."""
        with self._lock:
            now = self._clock()
            if now + seconds >= self._open_at:
                self._open_at = now + seconds
                return seconds  # exactly what Allegro asked, not a rounded difference
            return self._open_at - now

    def block(self, block_seconds: float) -> float:
        """Record a 429 without Retry-After: a block of ``block_seconds`` starts now unless one
        is already in force (it started with an earlier 429); the seconds left until it ends."""
        with self._lock:
            now = self._clock()
            if self._open_at <= now:
                self._open_at = now + block_seconds
                # Exactly the block, not (now + block) - now, which floats round off.
                return block_seconds
            return self._open_at - now

    def remaining(self) -> float:
        """Seconds until the gate opens (0 when open)."""
        with self._lock:
            return max(0.0, self._open_at - self._clock())


def redact(text: str, secrets: Sequence[str]) -> str:
    """Replace every occurrence of a secret in ``text``."""
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text


def rest_error(request: HttpRequest, response: requests.Response) -> AllegroError:
    """Map a REST API error answer to its typed error, keeping Allegro's ``errors`` list.

    A 401 with an OAuth-style ``invalid_token`` body is ``InvalidToken`` (the token is stale);
    a 401 in the REST error shape (the non-public API's "Non-whitelisted") is ``Unauthorized``.
    """
    errors = _errors_list(response, request.secrets())
    trace_id = response.headers.get("Trace-Id")
    cls = _STATUS_ERRORS.get(response.status_code, ApiError)
    if response.status_code == 401 and any(e.get("code") == "invalid_token" for e in errors):
        cls = InvalidToken
    return cls(response.status_code, request.endpoint, errors, trace_id, request.customer_id)


_STATUS_ERRORS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    422: ValidationFailed,
    429: RateLimited,
}


def _errors_list(response: requests.Response, secrets: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Allegro's ``{"errors": [...]}``; an OAuth-style ``{"error", "error_description"}`` (the
    API's 401s) as one entry with ``code`` = the error; anything else one entry with the body's
    start. Secrets are scrubbed (an "Access token expired: <token>" quotes the token)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = redact(str(body.get("error_description") or ""), secrets)
        return [{"code": body["error"], "message": description[:_MAX_ERROR_BODY]}]
    text = redact(response.text[:_MAX_ERROR_BODY].strip(), secrets)
    return [{"message": text}] if text else []


def validate_body(
    model: type[M], response: requests.Response, *, endpoint: str, customer_id: str | None = None
) -> M:
    """The body validated as ``model``, or ``MalformedResponse`` naming the first bad field.

    Never echoes the body's values (they may be tokens).
    """
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        trace_id = response.headers.get("Trace-Id")
        raise malformed_answer(
            exc, endpoint=endpoint, customer_id=customer_id, trace_id=trace_id
        ) from None


def malformed_answer(
    error: ValidationError, *, endpoint: str, customer_id: str | None, trace_id: str | None
) -> MalformedResponse:
    """The ``MalformedResponse`` for a failed validation: first bad field, never its value."""
    problems = error.errors(include_input=False, include_url=False)
    first = problems[0]
    field = _field_path(first["loc"]) or None
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    trace = f" [Trace-Id {trace_id}]" if trace_id else ""
    detail = (
        f"{first['msg']}{more}{trace}; nothing of this answer was used. Retry later; if "
        "it persists, report the Trace-Id to Allegro"
    )
    return MalformedResponse(endpoint, detail, customer_id, field)


def _field_path(loc: Sequence[int | str]) -> str:
    """``('sponsoredOffers', 0, 'data', 'clicks')`` -> ``sponsoredOffers[0].data.clicks``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Transport:
    """Sends requests with retries and call logging; thread-safe (one Session per thread)."""

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        timeout: float = defaults.HTTP_TIMEOUT_SECONDS,
        pool_size: int = defaults.FETCH_CONCURRENCY,
        call_log: CallLogSink | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        # Injectable (with ``clock``, monotonic seconds) so a test can wait out a one-minute
        # block on the simulator's clock instead of the wall's.
        self._sleep = sleep or time.sleep
        self.rate_gate = RateGate(clock or time.monotonic)
        self.pool_size = max(1, pool_size)
        self.call_log: CallLogSink = call_log or NullCallLog()
        self._shared_session = session
        self._local = threading.local()
        # Weak: a worker thread's session goes away with the thread; close() ends the rest.
        self._owned: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._owned_lock = threading.Lock()

    def send(
        self,
        request: HttpRequest,
        parse: Parser[T],
        *,
        on_error: ErrorMapper = rest_error,
        sink: CallLogSink | None = None,
        first_attempt: int = 1,
    ) -> T:
        """Send ``request`` until it succeeds or the retry budget is spent; return the parsed body.

        Raises the typed error of the last failure (``RateLimited``, ``ServerError``,
        ``AllegroUnavailable``) once the budget is spent, or at once for other 4xx answers.
        """
        numbers = itertools.count(first_attempt)
        started = time.monotonic()

        def attempt() -> T:
            return self._attempt(request, parse, on_error, sink or self.call_log, next(numbers))

        try:
            return self._retrying()(attempt)
        except _Retryable as failure:
            attempts = next(numbers) - first_attempt
            raise _give_up(failure, attempts, time.monotonic() - started) from None

    def close(self) -> None:
        """Close the sessions this transport opened."""
        with self._owned_lock:
            sessions, self._owned = list(self._owned), weakref.WeakSet()
        for session in sessions:
            session.close()

    # --- retry policy ---------------------------------------------------------

    def _retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(_Retryable),
            wait=self._wait,
            stop=stop_after_attempt(self.policy.max_attempts)
            | stop_before_delay(self.policy.max_retry_seconds),
            sleep=self._sleep,
            reraise=True,
        )

    def _wait(self, state: RetryCallState) -> float:
        """After a 429: Retry-After when Allegro gave one, else until the application's block
        ends (shared with every thread); after other failures exponential backoff, full jitter."""
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        if isinstance(failure, _Retryable) and isinstance(failure.error, RateLimited):
            if failure.retry_after is not None:
                return self.rate_gate.blocked_for(failure.retry_after)
            failure.blocked_seconds = self.rate_gate.block(self.policy.rate_limit_block_seconds)
            return failure.blocked_seconds
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            return failure.retry_after
        backoff = wait_random_exponential(
            multiplier=self.policy.backoff_initial_seconds, max=self.policy.backoff_max_seconds
        )
        return float(backoff(state))

    # --- one attempt --------------------------------------------------------------

    def _attempt(
        self,
        request: HttpRequest,
        parse: Parser[T],
        on_error: ErrorMapper,
        sink: CallLogSink,
        number: int,
    ) -> T:
        blocked = self.rate_gate.remaining()
        if 0 < blocked <= self.policy.max_retry_seconds:
            # Another thread met Allegro's block: wait it out rather than collect a 429. A block
            # longer than the budget is not waited for: the 429 ends the request at once.
            self._sleep(blocked)
        log = _AttemptLog(request, sink, number)
        try:
            response = self._session().request(
                request.method,
                request.url,
                params=list(request.params),
                headers=dict(request.headers),
                data=dict(request.data) if request.data is not None else None,
                auth=request.auth,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            _read_body(response)
        except (
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            cut = MalformedResponse(
                request.endpoint, "the answer was cut off before its end", request.customer_id
            )
            log.record(None, error=str(cut))
            raise cut from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            error = _unreachable(request, exc)
            log.record(None, error=str(error))
            raise _Retryable(error) from exc
        return self._handle(request, response, parse, on_error, log)

    def _handle(
        self,
        request: HttpRequest,
        response: requests.Response,
        parse: Parser[T],
        on_error: ErrorMapper,
        log: _AttemptLog,
    ) -> T:
        status = response.status_code
        trace_id = response.headers.get("Trace-Id")
        if status == 429 or status >= 500:
            error = _server_side(request, response)
            log.record(status, trace_id=trace_id, error=str(error))
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise _Retryable(error, retry_after if status == 429 else None)
        if not 200 <= status < 300:
            mapped = on_error(request, response)
            log.record(status, trace_id=trace_id, error=str(mapped))
            raise mapped
        try:
            value, rows = parse(response)
        except AllegroError as exc:
            log.record(status, trace_id=trace_id, error=str(exc))
            raise
        log.record(status, trace_id=trace_id, rows=rows)
        return value

    def _session(self) -> requests.Session:
        if self._shared_session is not None:
            return self._shared_session
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._new_session()
            self._local.session = session
        return session

    def _new_session(self) -> requests.Session:
        session = EnvironmentOnceSession()
        adapter = HTTPAdapter(pool_connections=self.pool_size, pool_maxsize=self.pool_size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        with self._owned_lock:
            self._owned.add(session)
        return session


class EnvironmentOnceSession(requests.Session):
    """A ``requests.Session`` that reads the environment's proxy and CA-bundle settings once per
    origin, not before every request.

    requests looks them up for each call (``get_environ_proxies`` parses ``no_proxy`` and asks
    the platform for proxies, ~0.3 ms); a worker thread's session sends hundreds of calls to one
    origin, and the environment does not change under a running process. Requests with proxies
    of their own take requests' path unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[object, ...], _Settings] = {}

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: Any,
        stream: bool | None,
        verify: Any,
        cert: Any,
    ) -> _Settings:
        if proxies or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        try:
            settings = self._environment.get(key)
        except TypeError:  # an unhashable verify or cert: not worth remembering
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        if settings is None:
            settings = super().merge_environment_settings(url, {}, stream, verify, cert)
            self._environment[key] = settings
        # A copy: requests may add to the proxies of the settings it is handed.
        return {**settings, "proxies": dict(settings["proxies"])}


class _AttemptLog:
    """Times one attempt and reports it, with every credential scrubbed from the error text."""

    def __init__(self, request: HttpRequest, sink: CallLogSink, number: int) -> None:
        self.request = request
        self.sink = sink
        self.number = number
        self.started = time.monotonic()

    def record(
        self,
        status: int | None,
        *,
        trace_id: str | None = None,
        rows: int | None = None,
        error: str | None = None,
    ) -> None:
        duration_ms = int((time.monotonic() - self.started) * 1000)
        self.sink.record(
            ApiCall(
                method=self.request.method,
                endpoint=self.request.endpoint,
                status=status,
                duration_ms=duration_ms,
                customer_id=self.request.customer_id,
                rows=rows,
                trace_id=trace_id,
                error=redact(error, self.request.secrets()) if error else None,
                attempt=self.number,
                run_id=self.request.run_id,
            )
        )


def _read_body(response: requests.Response) -> None:
    """Read the whole body now, in as few reads as the socket allows; ``content``, ``json()``
    and ``text`` then use it.

    Without ``stream=True`` requests reads the body in 10 KiB pieces, one trip through
    urllib3 and http.client each: for a 3 MB statistics answer that costs about four times
    the CPU of reading it whole. Errors while reading are requests' own (a connection cut
    mid-body is a ``ChunkedEncodingError``), and the connection goes back to the pool once
    the body is read."""
    try:
        response._content = b"".join(response.iter_content(chunk_size=None))
    except BaseException:
        response.close()
        raise


def _unreachable(request: HttpRequest, exc: requests.RequestException) -> AllegroUnavailable:
    kind = "timed out" if isinstance(exc, requests.Timeout) else "could not connect"
    where = urlsplit(request.url)
    who = f" for customer {request.customer_id}" if request.customer_id else ""
    reason = redact(str(exc), request.secrets())[:_MAX_ERROR_BODY]
    return AllegroUnavailable(
        f"{request.method} {where.scheme}://{where.netloc}{where.path}{who}: {kind} ({reason})"
    )


def _server_side(request: HttpRequest, response: requests.Response) -> ApiError:
    cls: type[ApiError] = RateLimited if response.status_code == 429 else ServerError
    return cls(
        response.status_code,
        request.endpoint,
        _errors_list(response),
        response.headers.get("Trace-Id"),
        request.customer_id,
    )


def _give_up(failure: _Retryable, attempts: int, seconds: float) -> AllegroError:
    """The last failure, its message extended with how long we tried and what to do next."""
    error = failure.error
    tried = f"gave up after {attempts} attempt{'s' if attempts != 1 else ''} in {seconds:.1f} s"
    if isinstance(error, RateLimited):
        wait = (
            f" (Allegro asked to wait {failure.retry_after:.0f} s)" if failure.retry_after else ""
        )
        if failure.blocked_seconds:
            wait = (
                f" (the application is blocked for a minute; {failure.blocked_seconds:.0f} s "
                "were left)"
            )
        advice = (
            f"still rate-limited{wait}; {tried}. Lower ALLEGRO_ADS_FETCH_CONCURRENCY or run "
            "again later; raise ALLEGRO_ADS_MAX_RETRY_SECONDS to wait longer"
        )
    elif isinstance(error, ServerError):
        advice = (
            f"Allegro kept failing; {tried}. Try again later; if it persists, report the "
            "Trace-Id to Allegro"
        )
    else:
        advice = (
            f"Allegro could not be reached; {tried}. Check the network and "
            "ALLEGRO_ADS_API_URL / ALLEGRO_ADS_AUTH_URL"
        )
    error.args = (f"{error} — {advice}",)
    return error
