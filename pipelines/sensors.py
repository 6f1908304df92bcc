"""A newly linked customer gets its history loaded at once, in one run of its own."""

from datetime import timedelta

import dagster as dg

from allegro_resource.windows import oldest_served_day, reporting_today
from pipelines.checks import rerun_config
from pipelines.partitions import range_tags
from pipelines.resources import ControlStoreResource, WarehouseResource, reportable_customers
from settings.defaults import REPORTING_TIMEZONE
from warehouse import stats_queries


def build_new_customer_sensor(
    job_name: str, history_days: int, *, tz: str = REPORTING_TIMEZONE
) -> dg.SensorDefinition:
    """Launch one history run per customer that is linked to an agency client (and readable)
    but has never been loaded (its history: the days served up to yesterday in ``tz``)."""

    @dg.sensor(
        name="new_customer_history",
        job_name=job_name,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Loads a newly linked customer's history (one run for that customer).",
    )
    def new_customer_history(
        context: dg.SensorEvaluationContext,
        control: ControlStoreResource,
        warehouse: WarehouseResource,
    ) -> dg.SensorResult:
        today = reporting_today(tz=tz)
        start = oldest_served_day(today, history_days)
        end = today - timedelta(days=1)
        with control.open() as ctl, warehouse.open() as wh:
            # Blocked customers (agency connection broken, client removed) wait for the fix.
            targets = reportable_customers(ctl).targets
            latest = stats_queries.latest_loaded_day(wh, [t.customer_id for t in targets])
        requests = []
        for target in targets:
            if latest.get(target.customer_id) is not None:
                continue
            requests.append(
                dg.RunRequest(
                    # One run per link: linked to another client later, it needs its history.
                    run_key=(
                        f"history-{target.customer_id}-{target.agency_account_id}-"
                        f"{target.ads_client_id}"
                    ),
                    run_config=rerun_config([target.customer_id]),
                    tags={**range_tags(start, end), "customer": target.customer_id},
                )
            )
        return dg.SensorResult(run_requests=requests)

    return new_customer_history
