"""Typed methods for the Allegro REST endpoints the product uses.

With an **agency account's** token: its client list and each client's advertising statistics
(``/advertising-agencies/...``, public.v1). With a **sales account's** token: ``/me`` and the
seller's offers. Dates are checked before any call, long ranges are split into the fewest
windows the API allows, pages are followed where the API pages, a 401 ``invalid_token`` makes
the token provider re-read (and only if still the same, refresh) the pair once, a 403 is
explained (missing scope or no access, with the fix), and a malformed answer raises one
``MalformedResponse`` with nothing half-parsed returned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import pyarrow as pa
import requests
from pydantic import BaseModel

from allegro_resource.access_errors import (
    OFFERS_READ_SCOPE,
    Access,
    agency_clients_access,
    explain_forbidden,
    seller_access,
    statistics_access,
)
from allegro_resource.calllog import CallCounter, CallLogSink, FanOutCallLog, NullCallLog
from allegro_resource.errors import AllegroError, Forbidden, InvalidToken, UnexpectedFailure
from allegro_resource.fan_out import fan_out
from allegro_resource.models import (
    AdType,
    AgencyClient,
    AgencyClientsPage,
    Me,
    Offer,
    OffersPage,
    StatRow,
    stat_rows_from_table,
)
from allegro_resource.stats_parse import STATS_SCHEMA, parse_statistics
from allegro_resource.token_provider import TokenProvider
from allegro_resource.transport import HttpRequest, Parser, RetryPolicy, Transport, validate_body
from allegro_resource.windows import (
    reporting_today,
    reporting_zone,
    split_range,
    validate_range,
)
from settings import defaults

ACCEPT = "application/vnd.allegro.public.v1+json"
ME_PATH = "/me"
CLIENTS_PATH = "/advertising-agencies/clients"
STATISTICS_PATH = "/advertising-agencies/clients/{client_id}/statistics"
OFFERS_PATH = "/sale/offers"
OFFERS_PAGE_LIMIT = 1000  # the largest page /sale/offers serves
ALL_AD_TYPES = (AdType.SPONSORED_OFFER, AdType.GRAPHIC_AD)
_THREADS = "allegro-fetch"

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class StatsJob:
    """One customer's statistics: the rows are the customer's (``customer_id``), read from the
    agency client ``ads_client_id`` with the token of the agency account ``agency_account_id``."""

    customer_id: str
    agency_account_id: str
    ads_client_id: str


@dataclass(frozen=True, slots=True)
class StatsResult:
    """What one job produced: its ``STATS_SCHEMA`` table, or the error that stopped it (the
    table is then empty), and the API calls it took (``retries`` of them repeated one)."""

    customer_id: str
    ads_client_id: str
    table: pa.Table = field(default_factory=STATS_SCHEMA.empty_table)
    error: AllegroError | None = None
    calls: int = 0
    retries: int = 0
    agency_account_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the job finished without error."""
        return self.error is None

    @property
    def rows(self) -> list[StatRow]:
        """The table as ``StatRow`` objects, built on each access (prefer ``table``)."""
        return stat_rows_from_table(self.table)


class AllegroAdsClient:
    """Allegro's REST API for many accounts; thread-safe, one HTTP session per thread.

    Every method names the account whose token is used (``account_id``: an agency account's id
    or a customer's); the token provider hands out its token."""

    def __init__(
        self,
        api_url: str,
        tokens: TokenProvider,
        call_log: CallLogSink | None = None,
        *,
        timeout: float = defaults.HTTP_TIMEOUT_SECONDS,
        max_attempts: int = defaults.MAX_ATTEMPTS,
        max_retry_seconds: float = defaults.MAX_RETRY_SECONDS,
        max_range_days: int = defaults.MAX_RANGE_DAYS,
        history_days: int = defaults.HISTORY_DAYS,
        concurrency: int = defaults.FETCH_CONCURRENCY,
        run_id: str | None = None,
        today: Callable[[], date] | None = None,
        reporting_timezone: str = defaults.REPORTING_TIMEZONE,
        session: requests.Session | None = None,
        types_style: defaults.TypesStyle = defaults.STATS_TYPES_STYLE,
        rate_limit_block_seconds: float = defaults.RATE_LIMIT_BLOCK_SECONDS,
        offer_ids_per_request: int = defaults.OFFER_IDS_PER_REQUEST,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if max_range_days < 1 or concurrency < 1 or offer_ids_per_request < 1:
            raise ValueError(
                "max_range_days, concurrency and offer_ids_per_request must be at least 1"
            )
        if types_style not in ("repeated", "comma"):
            raise ValueError(f"types_style must be 'repeated' or 'comma', not {types_style!r}")
        try:
            reporting_zone(reporting_timezone)
        except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(
                f"reporting_timezone {reporting_timezone!r} is not a known IANA time zone"
            ) from exc
        self.api_url = api_url.rstrip("/")
        self.tokens = tokens
        self.call_log: CallLogSink = call_log or NullCallLog()
        self.max_range_days = max_range_days
        self.history_days = history_days
        self.concurrency = concurrency
        self.run_id = run_id
        # "Today" in the reporting zone: the API never serves it (and serves two years back).
        self.today = today or functools.partial(reporting_today, tz=reporting_timezone)
        self.types_style = types_style
        self.offer_ids_per_request = min(offer_ids_per_request, OFFERS_PAGE_LIMIT)
        self._transport = Transport(
            policy=RetryPolicy(
                max_attempts=max_attempts,
                max_retry_seconds=max_retry_seconds,
                rate_limit_block_seconds=rate_limit_block_seconds,
            ),
            timeout=timeout,
            pool_size=concurrency,
            call_log=self.call_log,
            session=session,
            sleep=sleep,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"AllegroAdsClient(api_url={self.api_url!r}, run_id={self.run_id!r})"

    def __enter__(self) -> AllegroAdsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP sessions this client opened."""
        self._transport.close()

    # --- any account ----------------------------------------------------------------

    def me(self, account_id: str) -> Me:
        """The Allegro account the tokens of ``account_id`` belong to."""
        access = seller_access(account_id, None)
        return self._get(account_id, ME_PATH, (), self._model(Me, ME_PATH, account_id), access)

    # --- agency account ---------------------------------------------------------------

    def list_agency_clients(self, agency_account_id: str) -> list[AgencyClient]:
        """The agency account's clients (``GET /advertising-agencies/clients``).

        Allegro documents no paging here: the first answer is taken whole unless it carries
        ``count``/``totalCount``, in which case ``limit``/``offset`` pages are followed.
        """
        access = agency_clients_access(agency_account_id)
        parse = self._model(AgencyClientsPage, CLIENTS_PATH, agency_account_id)
        first = self._get(agency_account_id, CLIENTS_PATH, (), parse, access)
        clients = list(first.clients)
        if first.count is None and first.totalCount is None:
            return clients
        # The first page's size is one the API chose, so it is a limit it accepts.
        limit = len(first.clients)
        page = first
        while page.clients and (page.totalCount is None or len(clients) < page.totalCount):
            if page.totalCount is None and len(page.clients) < limit:
                break  # a short page without a total: the last one
            params = [("limit", str(limit)), ("offset", str(len(clients)))]
            page = self._get(agency_account_id, CLIENTS_PATH, params, parse, access)
            clients.extend(page.clients)
        return clients

    def fetch_statistics_table(
        self,
        job: StatsJob,
        start: date,
        end: date,
        types: Sequence[AdType] | None = None,
    ) -> pa.Table:
        """One ``STATS_SCHEMA`` row per ad and day over [start, end] for the job's client, in
        the fewest windows, with its agency account's token. ``types``: both by default.

        Raises ``DateRangeError`` before any call when the range is not served; any failure
        in any window raises and returns nothing.
        """
        self.check_range(start, end)
        return self._fetch_windows(job, start, end, types, self.call_log)

    def fetch_statistics(
        self,
        job: StatsJob,
        start: date,
        end: date,
        types: Sequence[AdType] | None = None,
    ) -> list[StatRow]:
        """``fetch_statistics_table`` as ``StatRow`` objects (same rules, same errors)."""
        return stat_rows_from_table(self.fetch_statistics_table(job, start, end, types))

    def fetch_statistics_many(
        self,
        jobs: Sequence[StatsJob],
        start: date,
        end: date,
        types: Sequence[AdType] | None = None,
        on_result: Callable[[StatsResult], object] | None = None,
    ) -> list[StatsResult]:
        """Fetch several customers concurrently, as ``stream_statistics`` does.

        Raises ``DateRangeError`` before any call when the range is not served. A job's failure
        is captured in its result and never stops the others. ``on_result`` is called in the
        calling thread as each job finishes. Results keep the jobs' order.
        """
        self.check_range(start, end)

        def run(indexed: tuple[int, StatsJob]) -> tuple[int, StatsResult]:
            return indexed[0], self._run_job(indexed[1], start, end, types)

        results: dict[int, StatsResult] = {}
        indexed = fan_out(
            run, enumerate(jobs), concurrency=self.concurrency, thread_name_prefix=_THREADS
        )
        for index, result in indexed:
            results[index] = result
            if on_result is not None:
                on_result(result)
        return [results[index] for index in range(len(jobs))]

    def stream_statistics(
        self,
        jobs: Sequence[StatsJob],
        start: date,
        end: date,
        types: Sequence[AdType] | None = None,
    ) -> Iterator[StatsResult]:
        """Each job's result as it finishes: customers fetched concurrently (at most
        ``concurrency`` under way, the one the caller is handling included), each in the
        fewest windows.

        A job's failure (a range the API does not serve included) is captured in its result
        and never stops the others. Nothing of a result is kept once it is handed over.
        """
        return fan_out(
            lambda job: self._run_job(job, start, end, types),
            jobs,
            concurrency=self.concurrency,
            thread_name_prefix=_THREADS,
        )

    def check_range(self, start: date, end: date) -> None:
        """Raise ``DateRangeError`` unless the statistics API serves [start, end]."""
        validate_range(start, end, today=self.today(), history_days=self.history_days)

    def windows(self, start: date, end: date) -> list[tuple[date, date]]:
        """The windows a fetch of [start, end] is split into (one call each)."""
        return split_range(start, end, self.max_range_days)

    # --- statistics -----------------------------------------------------------------

    def _run_job(
        self, job: StatsJob, start: date, end: date, types: Sequence[AdType] | None
    ) -> StatsResult:
        counter = CallCounter()
        sink = FanOutCallLog(self.call_log, counter)
        try:
            self.check_range(start, end)
            table = self._fetch_windows(job, start, end, types, sink)
        except Exception as exc:  # one customer's failure must never stop the others
            error = (
                exc if isinstance(exc, AllegroError) else UnexpectedFailure(job.customer_id, exc)
            )
            return StatsResult(
                job.customer_id,
                job.ads_client_id,
                error=error,
                calls=counter.calls,
                retries=counter.retries,
                agency_account_id=job.agency_account_id,
            )
        return StatsResult(
            job.customer_id,
            job.ads_client_id,
            table,
            calls=counter.calls,
            retries=counter.retries,
            agency_account_id=job.agency_account_id,
        )

    def _fetch_windows(
        self,
        job: StatsJob,
        start: date,
        end: date,
        types: Sequence[AdType] | None,
        sink: CallLogSink,
    ) -> pa.Table:
        tables = [self._window(job, gte, lte, types, sink) for gte, lte in self.windows(start, end)]
        return pa.concat_tables(tables)

    def _window(
        self,
        job: StatsJob,
        gte: date,
        lte: date,
        types: Sequence[AdType] | None,
        sink: CallLogSink,
    ) -> pa.Table:
        path = STATISTICS_PATH.format(client_id=quote(job.ads_client_id, safe=""))
        params = [("statistics.gte", gte.isoformat()), ("statistics.lte", lte.isoformat())]
        params += self._types_params(types)

        def parse(response: requests.Response) -> tuple[pa.Table, int]:
            table = parse_statistics(
                response.content,
                ads_client_id=job.ads_client_id,
                endpoint=path,
                customer_id=job.customer_id,
                trace_id=response.headers.get("Trace-Id"),
            )
            return table, table.num_rows

        access = statistics_access(job.agency_account_id, job.ads_client_id)
        return self._get(
            job.agency_account_id, path, params, parse, access, sink, subject=job.customer_id
        )

    def _types_params(self, types: Sequence[AdType] | None) -> list[tuple[str, str]]:
        """``types`` as the API documents it: every type named (both unless narrowed), repeated
        or comma-joined per ``types_style`` (Allegro accepts both)."""
        names = list(dict.fromkeys(AdType(t).value for t in (types or ALL_AD_TYPES)))
        if self.types_style == "comma":
            return [("types", ",".join(names))]
        return [("types", name) for name in names]

    # --- sales account ---------------------------------------------------------------

    def offers(self, customer_id: str, offer_ids: Sequence[str] | None = None) -> list[Offer]:
        """The customer's offers among ``offer_ids`` (all of them when None) with the sales
        account's token: ``GET /sale/offers``, ``offer.id`` repeated, at most
        ``offer_ids_per_request`` ids per request (URLs stay short), pages of up to 1000.

        Ids that are not the seller's are simply absent from the answer.
        """
        if offer_ids is None:
            return self._offer_pages(customer_id, [])
        wanted = list(dict.fromkeys(offer_ids))
        size = self.offer_ids_per_request
        found: list[Offer] = []
        for index in range(0, len(wanted), size):
            chunk = [("offer.id", offer_id) for offer_id in wanted[index : index + size]]
            found.extend(self._offer_pages(customer_id, chunk))
        return found

    def _offer_pages(self, customer_id: str, ids: list[tuple[str, str]]) -> list[Offer]:
        access = seller_access(customer_id, OFFERS_READ_SCOPE)
        parse = self._model(OffersPage, OFFERS_PATH, customer_id)
        offers: list[Offer] = []
        while True:
            params = [*ids, ("limit", str(OFFERS_PAGE_LIMIT)), ("offset", str(len(offers)))]
            page = self._get(customer_id, OFFERS_PATH, params, parse, access)
            offers.extend(Offer.from_doc(doc) for doc in page.offers)
            if not page.offers or len(offers) >= page.totalCount:
                return offers

    # --- parsing ----------------------------------------------------------------------

    def _model(self, model: type[M], path: str, customer_id: str) -> Parser[M]:
        def parse(response: requests.Response) -> tuple[M, int | None]:
            body = validate_body(model, response, endpoint=path, customer_id=customer_id)
            return body, _item_count(body)

        return parse

    # --- one GET with the 401 and 403 rules ---------------------------------------

    def _get(
        self,
        account_id: str,
        path: str,
        params: Sequence[tuple[str, str]],
        parse: Parser[T],
        access: Access,
        sink: CallLogSink | None = None,
        *,
        subject: str | None = None,
    ) -> T:
        """GET ``path`` with the token of ``account_id``; the call is logged for ``subject``
        (whose data it is; the account by default).

        A 401 ``invalid_token`` asks the provider again, naming the rejected token (it re-reads
        the stored pair and refreshes only if that is still the one), and retries once; other
        401s are not about the token and raise. A 403 is explained (``explain_forbidden``).
        """
        attempts = CallCounter()
        sink = FanOutCallLog(sink or self.call_log, attempts)
        who = subject or account_id
        token = self.tokens.access_token(account_id)
        try:
            try:
                return self._transport.send(
                    self._request(who, path, params, token), parse, sink=sink
                )
            except InvalidToken:
                token = self.tokens.access_token(
                    account_id, force_refresh=True, rejected_token=token
                )
            request = self._request(who, path, params, token)
            return self._transport.send(request, parse, sink=sink, first_attempt=attempts.calls + 1)
        except Forbidden as exc:
            raise explain_forbidden(exc, access, account_id, token) from None

    def _request(
        self, customer_id: str, path: str, params: Sequence[tuple[str, str]], token: str
    ) -> HttpRequest:
        return HttpRequest(
            method="GET",
            url=f"{self.api_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
            customer_id=customer_id,
            run_id=self.run_id,
        )


def _item_count(body: object) -> int | None:
    if isinstance(body, AgencyClientsPage):
        return len(body.clients)
    if isinstance(body, OffersPage):
        return len(body.offers)
    return None
