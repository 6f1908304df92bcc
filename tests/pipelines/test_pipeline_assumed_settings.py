"""What is still assumed about Allegro stays a setting: the reporting time zone the pipeline's
days and schedule follow, and the unit of the API's ratios the ratio check reads."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import dagster as dg
import pytest

from allegro_resource.windows import reporting_today
from pipelines import checks
from pipelines.definitions import build_definitions
from services.stats_sync import SyncReport
from settings.config import ConfigError
from testing.pipeline_agency import ASSET, Agency, check_results, days_back
from warehouse.backends import duckdb_path
from warehouse.duckdb_warehouse import DuckDBWarehouse

NEW_YORK = "America/New_York"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ALLEGRO_ADS_REPORTING_TIMEZONE", "Mars/Olympus"), ("ALLEGRO_ADS_API_RATIO_UNITS", "pct")],
)
def test_a_wrong_assumption_setting_stops_the_pipeline_at_start_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError, match=variable):
        build_definitions()


def test_the_newest_partition_and_the_schedule_follow_the_configured_reporting_timezone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_REPORTING_TIMEZONE", NEW_YORK)
    # 03:00 UTC: the day has begun in Warsaw, New York is still on the day before (any season).
    day = reporting_today(tz="UTC") - timedelta(days=10)
    instant = datetime.combine(day, time(3, 0), UTC)

    definitions = build_definitions()

    partitions = definitions.resolve_assets_def(ASSET).partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert partitions.timezone == NEW_YORK
    # New York's today is day - 1, so its yesterday (the newest partition) is day - 2.
    newest = partitions.get_partition_keys(current_time=instant)[-1]
    assert newest == (day - timedelta(days=2)).isoformat()
    assert definitions.resolve_schedule_def("daily_ad_stats").execution_timezone == NEW_YORK


def _plant_percent_ratios(agency: Agency) -> None:
    """Rewrite Allegro's CTR and ROAS as percentages, as an API in percent would have sent."""
    path = duckdb_path(agency.settings.resolved_warehouse_url)
    with DuckDBWarehouse(path)._write_connection() as con:  # the lock, readers closed first
        con.execute("UPDATE ad_daily_stats SET api_ctr = api_ctr * 100, api_roas = api_roas * 100")


def test_the_ratio_check_reads_the_apis_ratios_in_the_configured_unit(
    empty_agency: Agency,
) -> None:
    seller = empty_agency.simulator.users()[0]
    empty_agency.connect(seller["login"], seller["name"])
    start, end = days_back(5)
    empty_agency.run(start, end)
    _plant_percent_ratios(empty_agency)

    with empty_agency.warehouse() as wh:
        report = SyncReport(start, end, None)
        as_percent = checks.evaluate(wh, report, [], end, api_ratio_units="percent")
        as_fraction = checks.evaluate(wh, report, [], end, api_ratio_units="fraction")

    ratios = {c.check_name: c for c in as_percent}[checks.RATIOS_AGREE]
    assert ratios.passed
    flagged = {c.check_name: c for c in as_fraction}[checks.RATIOS_AGREE]
    assert not flagged.passed
    assert "ALLEGRO_ADS_API_RATIO_UNITS" in (flagged.description or "")


def test_a_run_reads_the_ratio_unit_from_the_setting(
    empty_agency: Agency, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The simulator sends fractions; declared as percentages, every ratio disagrees.
    monkeypatch.setenv("ALLEGRO_ADS_API_RATIO_UNITS", "percent")
    seller = empty_agency.simulator.users()[0]
    empty_agency.connect(seller["login"], seller["name"])

    result = empty_agency.run(*days_back(3))

    ratios = check_results(result)[checks.RATIOS_AGREE]
    assert not ratios.passed
    assert ratios.metadata["api_ratio_units"].value == "percent"
