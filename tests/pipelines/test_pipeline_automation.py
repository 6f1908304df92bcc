"""The daily schedule and the new-customer sensor: what they ask Dagster to run."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from allegro_resource.windows import oldest_served_day, reporting_today
from pipelines.definitions import build_definitions
from pipelines.partitions import range_tags
from pipelines.resources import build_resources
from testing.pipeline_agency import ASSET, Agency, days_back, warsaw_morning

# The morning after Europe's switch to summer time: day arithmetic must not slip an hour.
SCHEDULED_DAY = date(2026, 3, 30)


def test_the_daily_schedule_requests_one_run_over_the_last_14_days_with_a_stable_run_key() -> None:
    definitions = build_definitions()
    schedule = definitions.resolve_schedule_def("daily_ad_stats")
    # Clients first, then the statistics, then the offers their ads point to, in one run.
    daily = definitions.resolve_job_def(schedule.job_name)
    clients, stats, offers = (dg.AssetKey(n) for n in ("agency_clients", ASSET, "offers"))
    assert daily.asset_layer.selected_asset_keys == {clients, stats, offers}
    graph = definitions.resolve_asset_graph()
    assert graph.get(stats).parent_keys == {clients}
    assert graph.get(offers).parent_keys == {stats}
    yesterday = SCHEDULED_DAY - timedelta(days=1)

    ticks = [
        schedule.evaluate_tick(
            dg.build_schedule_context(scheduled_execution_time=warsaw_morning(SCHEDULED_DAY))
        )
        for _ in range(2)
    ]

    first, second = (tick.run_requests or [] for tick in ticks)
    assert len(first) == 1
    request = first[0]
    expected = range_tags(yesterday - timedelta(days=13), yesterday)
    assert {k: request.tags[k] for k in expected} == expected
    assert request.run_key == f"daily-{yesterday.isoformat()}"
    assert [r.run_key for r in second] == [request.run_key]


def test_the_sensor_requests_a_history_run_only_for_a_newly_linked_customer_never_loaded(
    empty_agency: Agency,
) -> None:
    loaded_user, new_user = empty_agency.simulator.users()[:2]
    loaded = empty_agency.connect(loaded_user["login"], loaded_user["name"])
    # Linked to its agency client, no sales account yet: statistics need only the link.
    new = empty_agency.adopt(new_user["login"], new_user["name"], sales=False)
    assert empty_agency.run(*days_back(2), only=[loaded.customer_id]).success
    sensor = build_definitions().resolve_sensor_def("new_customer_history")
    context = dg.build_sensor_context(
        instance=empty_agency.instance, resources=build_resources(empty_agency.settings)
    )

    requests = sensor.evaluate_tick(context).run_requests or []

    assert len(requests) == 1
    request = requests[0]
    today = reporting_today()
    floor = oldest_served_day(today, empty_agency.settings.history_days)
    assert request.run_config == {"ops": {ASSET: {"config": {"customers": [new.customer_id]}}}}
    expected = range_tags(floor, today - timedelta(days=1))
    assert {k: request.tags[k] for k in expected} == expected
    assert request.run_key and new.customer_id in request.run_key
