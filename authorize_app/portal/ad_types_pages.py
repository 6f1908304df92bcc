"""Ad types side by side: sponsored offers and graphic ads over the period against the
previous one, graphic ads with CPM and unique reach (per ad and day, never added up across
days), and each graphic ad's figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from authorize_app.portal.comparison import Compared, compared
from authorize_app.portal.context import Ctx
from authorize_app.portal.formatting import HELPERS
from authorize_app.portal.report_filters import report_filters
from authorize_app.portal.report_model import PeriodSums
from authorize_app.portal.stored_report import graphic_ad_rows
from authorize_app.portal.views import view_context
from warehouse.comparison_queries import ad_type_comparison, daily_reach, previous_period
from warehouse.stats_queries import graphic_ad_report

AD_TYPES = (("SPONSORED_OFFER", "Sponsored offers"), ("GRAPHIC_AD", "Graphic ads"))
TOP_GRAPHIC_ADS = 50  # a large selection has thousands; the exports carry every campaign


@dataclass(frozen=True, slots=True)
class AdTypePanel:
    """One ad type in one currency: the period, the previous one, and the peak daily reach."""

    ad_type: str
    label: str
    currency: str
    current: PeriodSums
    previous: PeriodSums
    peak_daily_reach: int | None

    def compared(self, name: str) -> Compared:
        return compared(self.current, self.previous, name)


def ad_types(ctx: Ctx) -> Response:
    """GET /ad-types?from=&to=&portfolio=…&customer=…."""
    filters = report_filters(ctx, live=False)
    ids = filters.customer_ids
    records: list[dict[str, Any]] = []
    graphic: list[dict[str, Any]] = []
    reach: list[dict[str, Any]] = []
    if ids:
        with ctx.services.warehouse.open() as warehouse:
            read = ctx.services.report_cache.reads(warehouse, ids)
            records = read.records(ad_type_comparison, filters.start, filters.end)
            graphic = read.records(graphic_ad_report, filters.start, filters.end)
            reach = read.records(daily_reach, filters.start, filters.end)
    names = {customer.id: customer.name for customer in filters.customers}
    ads = sorted(graphic_ad_rows(graphic, names), key=lambda ad: (-ad.cost, ad.customer_name))
    return ctx.render(
        "ad_types.html",
        status=200,
        active="overview",
        filters=filters,
        previous=previous_period(filters.start, filters.end),
        panels=panels(records),
        graphic_ads=ads[:TOP_GRAPHIC_ADS],
        graphic_total=len(ads),
        reach_days=reach,
        **view_context(ctx, filters, "ad_types"),
        **HELPERS,
    )


def panels(records: Sequence[Mapping[str, Any]]) -> list[AdTypePanel]:
    """Both ad types always (zeros where one has no data), sponsored offers first."""
    found = {(str(r["ad_type"]), str(r["currency"])): r for r in records}
    currencies = sorted({currency for _, currency in found}) or ["PLN"]
    result = []
    for currency in currencies:
        for ad_type, label in AD_TYPES:
            record = found.get((ad_type, currency))
            reach = None if record is None else record["peak_daily_reach"]
            result.append(
                AdTypePanel(
                    ad_type,
                    label,
                    currency,
                    PeriodSums.of(record) if record else PeriodSums(),
                    PeriodSums.of(record, "prev_") if record else PeriodSums(),
                    None if reach is None else int(reach),
                )
            )
    return result
