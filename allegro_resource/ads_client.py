"""Typed methods for the Allegro Ads endpoints the product uses.

Dates are checked before any call, long ranges are split into the fewest windows the API
allows, pages are followed to the end, a 401 refreshes the token once, and a malformed
answer raises one ``MalformedResponse`` with nothing half-parsed returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import pyarrow as pa
import requests
from pydantic import BaseModel

from allegro_resource.calllog import CallCounter, CallLogSink, FanOutCallLog, NullCallLog
from allegro_resource.errors import AllegroError, Unauthorized, UnexpectedFailure
from allegro_resource.fan_out import fan_out
from allegro_resource.models import (
    AdsClient,
    AdsClientsPage,
    AdType,
    Campaign,
    CampaignsPage,
    Me,
    StatRow,
    stat_rows_from_table,
)
from allegro_resource.stats_parse import STATS_SCHEMA, parse_statistics
from allegro_resource.token_provider import TokenProvider
from allegro_resource.transport import HttpRequest, Parser, RetryPolicy, Transport, validate_body
from allegro_resource.windows import reporting_today, split_range, validate_range
from settings import defaults

ACCEPT = "application/vnd.allegro.public.v1+json"
ME_PATH = "/me"
CLIENTS_PATH = "/ads/clients"
CAMPAIGNS_PATH = "/ads/clients/{client_id}/sponsored/campaigns"
STATISTICS_PATH = "/ads/clients/{client_id}/statistics"
PAGE_LIMIT = 1000  # the largest page the clients list serves
_THREADS = "allegro-fetch"

T = TypeVar("T")
Page = TypeVar("Page", AdsClientsPage, CampaignsPage)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class StatsJob:
    """One customer's agency client to fetch statistics for."""

    customer_id: str
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

    @property
    def ok(self) -> bool:
        """True when the job finished without error."""
        return self.error is None

    @property
    def rows(self) -> list[StatRow]:
        """The table as ``StatRow`` objects, built on each access (prefer ``table``)."""
        return stat_rows_from_table(self.table)


class AllegroAdsClient:
    """The Allegro Ads REST API for many customers; thread-safe, one HTTP session per thread."""

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
        today: Callable[[], date] = reporting_today,
        session: requests.Session | None = None,
    ) -> None:
        if max_range_days < 1 or concurrency < 1:
            raise ValueError("max_range_days and concurrency must be at least 1")
        self.api_url = api_url.rstrip("/")
        self.tokens = tokens
        self.call_log: CallLogSink = call_log or NullCallLog()
        self.max_range_days = max_range_days
        self.history_days = history_days
        self.concurrency = concurrency
        self.run_id = run_id
        self.today = today
        self._transport = Transport(
            policy=RetryPolicy(max_attempts=max_attempts, max_retry_seconds=max_retry_seconds),
            timeout=timeout,
            pool_size=concurrency,
            call_log=self.call_log,
            session=session,
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

    # --- endpoints ----------------------------------------------------------------

    def me(self, customer_id: str) -> Me:
        """The Allegro account the customer's tokens belong to."""
        return self._get(customer_id, ME_PATH, (), self._model(Me, ME_PATH, customer_id))

    def list_clients(self, customer_id: str) -> list[AdsClient]:
        """Every agency client visible to the customer's token, all pages."""
        pages = self._pages(customer_id, CLIENTS_PATH, AdsClientsPage)
        return [client for page in pages for client in page.clients]

    def list_campaigns(self, customer_id: str, ads_client_id: str) -> list[Campaign]:
        """Every sponsored-offer campaign of one agency client, all pages."""
        path = CAMPAIGNS_PATH.format(client_id=quote(ads_client_id, safe=""))
        pages = self._pages(customer_id, path, CampaignsPage)
        return [campaign for page in pages for campaign in page.campaigns]

    def fetch_statistics_table(
        self,
        customer_id: str,
        ads_client_id: str,
        start: date,
        end: date,
        types: Sequence[AdType] | None = None,
    ) -> pa.Table:
        """One ``STATS_SCHEMA`` row per ad and day over [start, end], in the fewest windows.

        Raises ``DateRangeError`` before any call when the range is not served; any failure
        in any window raises and returns nothing.
        """
        self.check_range(start, end)
        return self._fetch_windows(customer_id, ads_client_id, start, end, types, self.call_log)

    def fetch_statistics(
        self,
        customer_id: str,
        ads_client_id: str,
        start: date,
        end: date,
        types: Sequence[AdType] | None = None,
    ) -> list[StatRow]:
        """``fetch_statistics_table`` as ``StatRow`` objects (same rules, same errors)."""
        table = self.fetch_statistics_table(customer_id, ads_client_id, start, end, types)
        return stat_rows_from_table(table)

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
            table = self._fetch_windows(job.customer_id, job.ads_client_id, start, end, types, sink)
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
            )
        return StatsResult(
            job.customer_id, job.ads_client_id, table, calls=counter.calls, retries=counter.retries
        )

    def _fetch_windows(
        self,
        customer_id: str,
        ads_client_id: str,
        start: date,
        end: date,
        types: Sequence[AdType] | None,
        sink: CallLogSink,
    ) -> pa.Table:
        tables = [
            self._window(customer_id, ads_client_id, gte, lte, types, sink)
            for gte, lte in self.windows(start, end)
        ]
        return pa.concat_tables(tables)

    def _window(
        self,
        customer_id: str,
        ads_client_id: str,
        gte: date,
        lte: date,
        types: Sequence[AdType] | None,
        sink: CallLogSink,
    ) -> pa.Table:
        path = STATISTICS_PATH.format(client_id=quote(ads_client_id, safe=""))
        params = [("statistics.gte", gte.isoformat()), ("statistics.lte", lte.isoformat())]
        params += [("types", AdType(t).value) for t in types or ()]

        def parse(response: requests.Response) -> tuple[pa.Table, int]:
            table = parse_statistics(
                response.content,
                ads_client_id=ads_client_id,
                endpoint=path,
                customer_id=customer_id,
                trace_id=response.headers.get("Trace-Id"),
            )
            return table, table.num_rows

        return self._get(customer_id, path, params, parse, sink)

    # --- paging -----------------------------------------------------------------------

    def _pages(self, customer_id: str, path: str, model: type[Page]) -> list[Page]:
        """Follow limit/offset paging until ``totalCount`` items (or an empty page) arrived."""
        pages: list[Page] = []
        offset = 0
        while True:
            params = [("limit", str(PAGE_LIMIT)), ("offset", str(offset))]
            page = self._get(customer_id, path, params, self._model(model, path, customer_id))
            pages.append(page)
            offset += page.count
            if page.count == 0 or offset >= page.totalCount:
                return pages

    def _model(self, model: type[M], path: str, customer_id: str) -> Parser[M]:
        def parse(response: requests.Response) -> tuple[M, int | None]:
            body = validate_body(model, response, endpoint=path, customer_id=customer_id)
            return body, _item_count(body)

        return parse

    # --- one GET with the 401 rule ------------------------------------------------

    def _get(
        self,
        customer_id: str,
        path: str,
        params: Sequence[tuple[str, str]],
        parse: Parser[T],
        sink: CallLogSink | None = None,
    ) -> T:
        """GET ``path`` for the customer; a 401 refreshes the token once and retries once."""
        attempts = CallCounter()
        sink = FanOutCallLog(sink or self.call_log, attempts)
        token = self.tokens.access_token(customer_id)
        try:
            return self._transport.send(
                self._request(customer_id, path, params, token), parse, sink=sink
            )
        except Unauthorized:
            token = self.tokens.access_token(customer_id, force_refresh=True)
        request = self._request(customer_id, path, params, token)
        return self._transport.send(request, parse, sink=sink, first_attempt=attempts.calls + 1)

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
    if isinstance(body, AdsClientsPage):
        return len(body.clients)
    if isinstance(body, CampaignsPage):
        return len(body.campaigns)
    return None
