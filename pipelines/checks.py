"""Asset checks of ``ad_daily_stats``, evaluated by the same run that loads the data.

Each check says what is wrong and what to do; the warehouse queries behind them are plain
functions in ``warehouse.stats_queries``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import dagster as dg

from services.stats_sync import SyncReport
from settings import defaults
from warehouse import stats_queries
from warehouse.stats_loader import Warehouse

UNIQUE_KEYS = "unique_keys"
NON_NEGATIVE = "no_negative_metrics"
RATIOS_AGREE = "ratios_agree_with_api"
ALL_LOADED = "every_linked_customer_loaded"
FRESH = "fresh_through_yesterday"
SUMMARY_AGREES = "summary_agrees_with_facts"

CHECK_DESCRIPTIONS = {
    UNIQUE_KEYS: "No two rows share (customer_id, ad_type, ad_id, day).",
    NON_NEGATIVE: "No negative views, clicks, interest, costs or attributed sales.",
    RATIOS_AGREE: (
        "CTR, CPC (sponsored offers), CPM (graphic ads) and ROAS recomputed from base metrics "
        "agree with Allegro's own (its CTR and ROAS in the unit ALLEGRO_ADS_API_RATIO_UNITS "
        "declares)."
    ),
    ALL_LOADED: "Every customer linked to an agency client was loaded for every day of the run.",
    FRESH: "Every linked customer's latest loaded day is yesterday.",
    SUMMARY_AGREES: "campaign_day_totals (behind the reports) equals the facts summed per day.",
}


def check_specs(asset_key: str) -> list[dg.AssetCheckSpec]:
    """The specs the asset declares, so the UI lists the checks before the first run."""
    return [
        dg.AssetCheckSpec(name, asset=asset_key, description=text)
        for name, text in CHECK_DESCRIPTIONS.items()
    ]


def evaluate(
    warehouse: Warehouse,
    report: SyncReport,
    customer_ids: list[str],
    yesterday: date,
    *,
    api_ratio_units: defaults.RatioUnits = defaults.API_RATIO_UNITS,
) -> list[dg.AssetCheckResult]:
    """All check results for one run over [report.start, report.end]; ``api_ratio_units``: the
    unit of Allegro's CTR and ROAS (``ALLEGRO_ADS_API_RATIO_UNITS``)."""
    return [
        _unique_keys(warehouse, report),
        _non_negative(warehouse, report),
        _ratios(warehouse, report, api_ratio_units),
        _all_loaded(report),
        _fresh(warehouse, customer_ids, yesterday),
        _summary(warehouse, report),
    ]


def _unique_keys(warehouse: Warehouse, report: SyncReport) -> dg.AssetCheckResult:
    duplicates = stats_queries.duplicate_keys(warehouse, report.start, report.end)
    return dg.AssetCheckResult(
        check_name=UNIQUE_KEYS,
        passed=len(duplicates) == 0,
        metadata={"duplicate_keys": len(duplicates)},
    )


def _non_negative(warehouse: Warehouse, report: SyncReport) -> dg.AssetCheckResult:
    negative = stats_queries.negative_metrics(warehouse, report.start, report.end)
    return dg.AssetCheckResult(
        check_name=NON_NEGATIVE, passed=len(negative) == 0, metadata={"rows": len(negative)}
    )


def _ratios(
    warehouse: Warehouse, report: SyncReport, api_ratio_units: defaults.RatioUnits
) -> dg.AssetCheckResult:
    mismatches = stats_queries.ratio_mismatches(
        warehouse, report.start, report.end, api_ratio_units=api_ratio_units
    )
    return dg.AssetCheckResult(
        check_name=RATIOS_AGREE,
        passed=len(mismatches) == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"Allegro's CTR and ROAS read as {api_ratio_units}s (ALLEGRO_ADS_API_RATIO_UNITS)"
            if len(mismatches) == 0
            else f"{len(mismatches)} row(s) disagree with Allegro's ratios, read as "
            f"{api_ratio_units}s; if every CTR/ROAS is off by a factor of 100, set "
            "ALLEGRO_ADS_API_RATIO_UNITS to the other unit"
        ),
        metadata={"rows_disagreeing": len(mismatches), "api_ratio_units": api_ratio_units},
    )


def _summary(warehouse: Warehouse, report: SyncReport) -> dg.AssetCheckResult:
    mismatches = stats_queries.summary_mismatches(warehouse, report.start, report.end)
    return dg.AssetCheckResult(
        check_name=SUMMARY_AGREES,
        passed=len(mismatches) == 0,
        description=(
            "reports read campaign_day_totals; it agrees with ad_daily_stats"
            if len(mismatches) == 0
            else "campaign_day_totals disagrees with ad_daily_stats: re-run these days to "
            "rebuild it (each load replaces both in one transaction)"
        ),
        metadata={"campaign_days_disagreeing": len(mismatches)},
    )


def _all_loaded(report: SyncReport) -> dg.AssetCheckResult:
    failed = report.failed
    days = f"{report.start} .. {report.end}"
    description = (
        "every linked customer loaded"
        if not failed
        else "; ".join(f"{o.name} ({o.customer_id}) not loaded for {days}: {o.fix}" for o in failed)
    )
    return dg.AssetCheckResult(
        check_name=ALL_LOADED,
        passed=not failed,
        description=description,
        metadata={
            "failed_customers": ", ".join(o.customer_id for o in failed) or "none",
            "days": days,
            "errors": dg.MetadataValue.md(
                "\n".join(
                    f"- **{o.name}** (`{o.customer_id}`): {o.error}  \n  fix: `{o.fix}`"
                    for o in failed
                )
                or "none"
            ),
            "rerun_config": dg.MetadataValue.json(rerun_config([o.customer_id for o in failed])),
        },
    )


def rerun_config(customer_ids: list[str]) -> dict[str, Any]:
    """Launchpad config that re-runs the asset for just these customers."""
    return {"ops": {"ad_daily_stats": {"config": {"customers": customer_ids}}}}


def _fresh(warehouse: Warehouse, customer_ids: list[str], yesterday: date) -> dg.AssetCheckResult:
    latest = stats_queries.latest_loaded_day(warehouse, customer_ids)
    stale = {c: d for c, d in latest.items() if d is None or d < yesterday}
    return dg.AssetCheckResult(
        check_name=FRESH,
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"every linked customer is loaded through {yesterday}"
            if not stale
            else "stale: "
            + ", ".join(f"{c} (latest {d or 'never'})" for c, d in sorted(stale.items()))
        ),
        metadata={"yesterday": str(yesterday), "stale_customers": len(stale)},
    )


def yesterday_of(today: date) -> date:
    return today - timedelta(days=1)
