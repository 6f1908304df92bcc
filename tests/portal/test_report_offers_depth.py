"""The report's top-offers table holds each customer's top offers to a depth that fits one page
of rows: every customer keeps its best offers, a one-customer report its whole list."""

from __future__ import annotations

from decimal import Decimal

from authorize_app.portal.report_model import OfferRow
from authorize_app.portal.reports_pages import PAGE_SIZE, offers_depth


def ranked(customers: int, per_customer: int) -> list[OfferRow]:
    return [
        OfferRow(
            customer_id=f"c{c}",
            customer_name=f"Customer {c}",
            rank=rank,
            offer_id=f"o{c}-{rank}",
            offer_name=None,
            status=None,
            stock_available=None,
            unavailable=None,
            currency="PLN",
            spend=Decimal(100 - rank),
            clicks=1,
            attributed_value=Decimal(0),
        )
        for c in range(customers)
        for rank in range(1, per_customer + 1)
    ]


def test_fifty_customers_show_their_top_two_offers_each() -> None:
    assert offers_depth(ranked(50, 10), PAGE_SIZE) == 2


def test_one_customer_shows_its_whole_top_list() -> None:
    assert offers_depth(ranked(1, 10), PAGE_SIZE) == 10


def test_more_customers_than_rows_still_show_each_ones_best_offer() -> None:
    assert offers_depth(ranked(300, 10), PAGE_SIZE) == 1


def test_no_offers_is_depth_one() -> None:
    assert offers_depth([], PAGE_SIZE) == 1
