"""The analysis pages through the WSGI app (werkzeug's test client): the overview's customer
table sorts and pages, the ad-type panels and the offers page show the warehouse's figures,
and graphic-ad reach is a daily peak, never a sum."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from werkzeug.test import TestResponse

from authorize_app.portal import overview_pages
from authorize_app.portal.app import PortalApp
from tests.portal.portal_helpers import PortalStack, signed_in
from warehouse.offer_queries import top_offers_by_spend, unavailable_offer_spend

ROW = re.compile(r'<tr data-customer-id="([^"]+)">.*?</tr>', re.S)


def html(response: TestResponse) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def table(page: str, table_id: str) -> str:
    found = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert found, f"no table #{table_id}"
    return found.group(0)


def spend_column(page: str) -> list[tuple[str, Decimal]]:
    rows = re.findall(
        r'<tr data-customer-id="([^"]+)">.*?data-col="spend" data-value="([^"]+)"', page, re.S
    )
    return [(customer_id, Decimal(value)) for customer_id, value in rows]


def test_the_customer_table_sorts_by_spend_both_ways(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    admin = signed_in(portal_app, portal.admin)
    dates = f"from={portal.start}&to={portal.end}"
    down = spend_column(html(admin.get(f"/overview?{dates}&sort=-spend")))
    up = spend_column(html(admin.get(f"/overview?{dates}&sort=spend")))
    assert [v for _, v in down] == sorted((v for _, v in down), reverse=True)
    assert [v for _, v in up] == sorted(v for _, v in up)
    assert {c for c, _ in up} == {c for c, _ in down}


def test_the_customer_table_pages_through_every_customer_once(
    portal_app: PortalApp, portal: PortalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview_pages, "PAGE_SIZE", 2)
    admin = signed_in(portal_app, portal.admin)
    caption = re.search(r"<caption>(\d+) customers,", html(admin.get("/overview")))
    assert caption
    seen: list[str] = []
    url: str | None = "/overview?sort=customer"
    while url:
        page = html(admin.get(url))
        rows = ROW.findall(table(page, "overview-customers"))
        assert 1 <= len(rows) <= 2
        seen += rows
        found = re.search(r'href="([^"]+)" id="page-next"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert len(seen) == len(set(seen)) == int(caption.group(1)) >= 4  # pages of two


def test_the_ad_type_panels_hold_the_warehouses_sums_per_type(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    alpha = portal.north[0]
    admin = signed_in(portal_app, portal.admin)
    page = html(admin.get(f"/ad-types?from={portal.start}&to={portal.end}&customer={alpha.id}"))
    sums = portal.warehouse.read(
        "SELECT ad_type, SUM(cost) AS cost, MAX(unique_reach) AS reach FROM ad_daily_stats "
        "WHERE customer_id = $id AND day BETWEEN $start AND $end GROUP BY ad_type",
        {"id": alpha.id, "start": portal.start, "end": portal.end},
    ).to_pylist()
    assert {r["ad_type"] for r in sums} == {"SPONSORED_OFFER", "GRAPHIC_AD"}
    for row in sums:
        panel = re.search(rf'data-ad-type="{row["ad_type"]}".*?</section>', page, re.S)
        assert panel, row["ad_type"]
        spend = re.search(
            r'data-metric="cost"><th scope="row">Spend</th><td[^>]*data-value="([^"]+)"',
            panel.group(0),
        )
        assert spend and Decimal(spend.group(1)) == row["cost"]
    graphic = next(r for r in sums if r["ad_type"] == "GRAPHIC_AD")
    peak = re.search(
        r'data-metric="peak_daily_reach">.*?<td class="num">([\d\u202f]+)</td>', page, re.S
    )
    assert peak and int(peak.group(1).replace("\u202f", "")) == graphic["reach"]


def test_the_offers_page_shows_the_unavailable_spend_and_the_top_offers_of_the_warehouse(
    portal_app: PortalApp, portal: PortalStack
) -> None:
    viewer = signed_in(portal_app, portal.viewer)
    page = html(viewer.get(f"/offers?from={portal.start}&to={portal.end}"))
    north = [c.id for c in portal.north]
    wasted = unavailable_offer_spend(portal.warehouse, north, portal.start, portal.end)
    expected = {
        r["customer_id"]: r["unavailable_spend"]
        for r in wasted.to_pylist()
        if r["unavailable_spend"]
    }
    shown = re.findall(
        r'<tr data-customer-id="([^"]+)" class="flagged">.*?data-value="([^"]+)"',
        table(page, "unavailable-spend"),
        re.S,
    )
    assert expected and {c: Decimal(v) for c, v in shown} == expected
    top = top_offers_by_spend(portal.warehouse, north, portal.start, portal.end).to_pylist()
    offers = re.findall(r'data-offer-id="([^"]+)"', table(page, "top-offers"))
    assert offers == [r["offer_id"] for r in top]
    assert portal.south[0].id not in page  # a viewer's page holds North only
