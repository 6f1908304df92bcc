"""A newly connected customer gets its history loaded at once, in one run of its own."""

from datetime import timedelta

import dagster as dg

from allegro_resource.windows import oldest_served_day, reporting_today
from pipelines.checks import rerun_config
from pipelines.partitions import range_tags
from pipelines.resources import ControlStoreResource, WarehouseResource, reportable_customers
from warehouse import stats_queries


def build_new_customer_sensor(job_name: str, history_days: int) -> dg.SensorDefinition:
    """Launch one history run per customer that is connected but has never been loaded."""

    @dg.sensor(
        name="new_customer_history",
        job_name=job_name,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Loads a newly connected customer's history (one run for that customer).",
    )
    def new_customer_history(
        context: dg.SensorEvaluationContext,
        control: ControlStoreResource,
        warehouse: WarehouseResource,
    ) -> dg.SensorResult:
        today = reporting_today()
        start = oldest_served_day(today, history_days)
        end = today - timedelta(days=1)
        with control.open() as ctl, warehouse.open() as wh:
            targets = reportable_customers(ctl)
            connected = {info.account_id: info for info in ctl.tokens.list_info()}
            latest = stats_queries.latest_loaded_day(wh, [t.customer_id for t in targets])
        requests = []
        for target in targets:
            if latest.get(target.customer_id) is not None:
                continue
            connected_at = connected[target.customer_id].connected_at
            since = connected_at.isoformat() if connected_at else "unknown"
            requests.append(
                dg.RunRequest(
                    # One run per connection: reconnecting later may need its history again.
                    run_key=f"history-{target.customer_id}-{since}",
                    run_config=rerun_config([target.customer_id]),
                    tags={**range_tags(start, end), "customer": target.customer_id},
                )
            )
        return dg.SensorResult(run_requests=requests)

    return new_customer_history
