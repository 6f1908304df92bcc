"""The checks a run evaluates look at what analysts and the portal actually read."""

from __future__ import annotations

from pipelines import checks
from services.stats_sync import SyncReport
from testing.pipeline_agency import Agency, check_results, days_back
from warehouse.backends import duckdb_path
from warehouse.duckdb_warehouse import DuckDBWarehouse

DAYS = 5


def test_summary_check_fails_when_the_reports_table_drifts_from_the_facts(
    empty_agency: Agency,
) -> None:
    seller = empty_agency.simulator.users()[0]
    empty_agency.connect(seller["login"], seller["name"])
    start, end = days_back(DAYS)
    result = empty_agency.run(start, end)
    assert check_results(result)[checks.SUMMARY_AGREES].passed

    # Plant drift behind the loader's back, as a bug or a manual edit would.
    path = duckdb_path(empty_agency.settings.resolved_warehouse_url)
    with DuckDBWarehouse(path)._write_connection() as con:  # the lock, readers closed first
        con.execute("UPDATE campaign_day_totals SET clicks = clicks + 1 WHERE day = ?", [end])

    with empty_agency.warehouse() as wh:
        evaluated = checks.evaluate(wh, SyncReport(start, end, None), [], end)
    summary = next(c for c in evaluated if c.check_name == checks.SUMMARY_AGREES)
    assert not summary.passed
    disagreeing = summary.metadata["campaign_days_disagreeing"].value
    assert isinstance(disagreeing, int) and disagreeing > 0
