"""fetch_statistics_many and stream_statistics (the one fan-out, which ``sync_statistics`` loads
from): customers are fetched concurrently and fail independently."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from allegro_resource.ads_client import AllegroAdsClient, StatsJob, StatsResult
from allegro_resource.errors import AllegroError, DateRangeError, Forbidden
from allegro_resource.static_tokens import StaticTokenProvider
from services.stats_sync import CustomerTarget, sync_statistics
from simulator.server import RunningSimulator
from testing.gathering_proxy import GatheringProxy
from testing.memory_call_log import MemoryCallLog
from tests.client.client_helpers import ClientFactory, Seller, sellers_of, sim_session, sim_today
from warehouse.backends import open_warehouse


def test_one_customer_with_a_removed_client_fails_while_the_others_return_rows(
    simulator: RunningSimulator, make_client: ClientFactory, call_log: MemoryCallLog
) -> None:
    sellers = sellers_of(simulator)[:4]
    provider = sim_session.consented_provider(simulator.base_url, [], agency=True)
    client = make_client(simulator, provider, concurrency=4)
    removed = sellers[1]
    simulator.faults(remove_clients=[removed.ads_client_id])
    end = sim_today(simulator) - timedelta(days=1)
    finished: list[StatsResult] = []

    results = client.fetch_statistics_many(
        [s.job for s in sellers],
        end - timedelta(days=61),
        end,
        on_result=finished.append,
    )

    assert [r.customer_id for r in results] == [s.customer_id for s in sellers]
    assert sorted(r.customer_id for r in finished) == sorted(s.customer_id for s in sellers)
    failed = results[1]
    assert isinstance(failed.error, Forbidden) and failed.rows == [] and failed.calls == 1
    assert removed.customer_id in str(failed.error)
    for result in results[:1] + results[2:]:
        assert result.ok and result.rows and result.calls == 2


def test_customers_are_fetched_concurrently_within_the_bound(simulator: RunningSimulator) -> None:
    sellers = sellers_of(simulator)[:4]
    provider = sim_session.consented_provider(simulator.base_url, [], agency=True)
    day = sim_today(simulator) - timedelta(days=1)
    # Five customers through a fan-out of four: four are in flight at once, never five.
    proxy = GatheringProxy(simulator.base_url, expected=4)
    try:
        client = AllegroAdsClient(
            proxy.url, provider, MemoryCallLog(), concurrency=4, today=lambda: sim_today(simulator)
        )
        jobs = [s.job for s in sellers] + [sellers[0].job]
        results = client.fetch_statistics_many(jobs, day, day)
        client.close()
    finally:
        proxy.close()

    assert all(r.ok for r in results)
    assert proxy.most_in_flight == 4


BROKEN = "ag_broken"


class _BrokenStoreFor:
    """A token provider whose store fails for one agency account ``BROKEN`` (as a database
    outage would)."""

    def __init__(self, tokens: StaticTokenProvider) -> None:
        self.tokens = tokens

    def access_token(
        self,
        account_id: str,
        /,
        *,
        force_refresh: bool = False,
        rejected_token: str | None = None,
    ) -> str:
        if account_id == BROKEN:
            raise RuntimeError("token store unreachable")
        return self.tokens.access_token(
            account_id, force_refresh=force_refresh, rejected_token=rejected_token
        )


def _jobs_first_broken(sellers: list[Seller]) -> list[StatsJob]:
    first = sellers[0]
    return [StatsJob(first.customer_id, BROKEN, first.ads_client_id)] + [s.job for s in sellers[1:]]


def test_a_non_allegro_failure_of_one_customer_is_captured_too(
    simulator: RunningSimulator, make_client: ClientFactory
) -> None:
    sellers = sellers_of(simulator)[:3]
    tokens = sim_session.consented_provider(simulator.base_url, [], agency=True)
    client = make_client(simulator, _BrokenStoreFor(tokens))
    day = sim_today(simulator) - timedelta(days=1)

    results = client.fetch_statistics_many(_jobs_first_broken(sellers), day, day)

    assert isinstance(results[0].error, AllegroError)
    assert isinstance(results[0].error.__cause__, RuntimeError)
    assert "token store unreachable" in str(results[0].error)
    assert all(r.ok and r.rows for r in results[1:])


def test_streamed_results_carry_a_range_the_api_does_not_serve_one_customer_at_a_time(
    simulator: RunningSimulator, make_client: ClientFactory
) -> None:
    sellers = sellers_of(simulator)[:2]
    tokens = sim_session.consented_provider(simulator.base_url, [], agency=True)
    client = make_client(simulator, tokens)
    today = sim_today(simulator)

    results = list(client.stream_statistics([s.job for s in sellers], today, today))

    assert sorted(r.customer_id for r in results) == sorted(s.customer_id for s in sellers)
    assert all(isinstance(r.error, DateRangeError) and r.calls == 0 for r in results)


def test_sync_reports_a_non_allegro_failure_as_itself_and_loads_the_others(
    simulator: RunningSimulator, make_client: ClientFactory, tmp_path: Path
) -> None:
    sellers = sellers_of(simulator)[:3]
    tokens = sim_session.consented_provider(simulator.base_url, [], agency=True)
    client = make_client(simulator, _BrokenStoreFor(tokens))
    day = sim_today(simulator) - timedelta(days=1)
    targets = [
        CustomerTarget(
            s.customer_id, s.login, s.ads_client_id, agency_account_id=job.agency_account_id
        )
        for s, job in zip(sellers, _jobs_first_broken(sellers), strict=True)
    ]
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    progress: list[str] = []

    try:
        report = sync_statistics(
            client, warehouse, targets, day, day, on_progress=lambda o: progress.append(o.name)
        )
    finally:
        warehouse.close()

    (failed,) = report.failed
    assert failed.customer_id == sellers[0].customer_id
    assert failed.error == "RuntimeError: token store unreachable" and failed.api_calls == 0
    assert failed.fix and sellers[0].customer_id in failed.fix
    assert all(o.rows and o.days == 1 and o.api_calls == 1 for o in report.loaded)
    assert sorted(progress) == [o.name for o in report.outcomes] == sorted(s.login for s in sellers)
