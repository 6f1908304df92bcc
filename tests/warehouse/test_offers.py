"""The offers behind sponsored ads: replaced per customer, and the spend on offers nobody can
buy (ended, inactive, out of stock)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

from allegro_resource.models import AdType
from services.offers_sync import OffersAsked, OffersOutcome, store_offers
from warehouse import offer_queries
from warehouse.stats_loader import Warehouse

if TYPE_CHECKING:
    from tests.warehouse.conftest import StatFactory

FIRST_FETCH = datetime(2024, 3, 10, 5, 0, tzinfo=UTC)
SECOND_FETCH = datetime(2024, 3, 11, 5, 0, tzinfo=UTC)
D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)

Offer = tuple[str, str, str | None, int | None, str]  # id, name, price, stock available, status


def offers_table(offers: list[Offer]) -> pa.Table:
    """Offers as ``load_offers`` takes them (currency PLN, 3 sold each)."""
    return pa.table(
        {
            "offer_id": [o[0] for o in offers],
            "name": [o[1] for o in offers],
            "price": pa.array(
                [None if o[2] is None else Decimal(o[2]) for o in offers], pa.decimal128(18, 2)
            ),
            "currency": ["PLN"] * len(offers),
            "stock_available": pa.array([o[3] for o in offers], pa.int64()),
            "stock_sold": pa.array([3] * len(offers), pa.int64()),
            "status": [o[4] for o in offers],
        }
    )


def stored_offers(wh: Warehouse, customer_id: str) -> list[tuple[object, ...]]:
    rows = wh.read(
        "SELECT offer_id, name, price, stock_available, status, fetched_at FROM offers "
        "WHERE customer_id = $customer_id ORDER BY offer_id",
        {"customer_id": customer_id},
    ).to_pylist()
    return [tuple(r.values()) for r in rows]


def test_loading_offers_replaces_the_customers_list_and_only_theirs(warehouse: Warehouse) -> None:
    warehouse.load_offers(
        "cust-1",
        offers_table(
            [("o-1", "Kettle", "99.00", 4, "ACTIVE"), ("o-2", "Mug", "9.99", 0, "ACTIVE")]
        ),
        FIRST_FETCH,
    )
    warehouse.load_offers(
        "cust-2", offers_table([("o-1", "Other", "1.00", 1, "ACTIVE")]), FIRST_FETCH
    )

    result = warehouse.load_offers(
        "cust-1",
        offers_table(
            [("o-2", "Mug XL", "12.50", 7, "ENDED"), ("o-3", "Pot", None, None, "ACTIVATING")]
        ),
        SECOND_FETCH,
    )

    assert (result.rows_deleted, result.rows_inserted) == (2, 2)
    assert stored_offers(warehouse, "cust-1") == [
        ("o-2", "Mug XL", Decimal("12.50"), 7, "ENDED", SECOND_FETCH),
        ("o-3", "Pot", None, None, "ACTIVATING", SECOND_FETCH),
    ]
    assert stored_offers(warehouse, "cust-2") == [
        ("o-1", "Other", Decimal("1.00"), 1, "ACTIVE", FIRST_FETCH)
    ]


def test_loading_the_same_offers_again_changes_nothing_but_the_fetch_time(
    warehouse: Warehouse,
) -> None:
    offers = offers_table([("o-1", "Kettle", "99.00", 4, "ACTIVE")])
    warehouse.load_offers("cust-1", offers, FIRST_FETCH)

    warehouse.load_offers("cust-1", offers, SECOND_FETCH)

    assert stored_offers(warehouse, "cust-1") == [
        ("o-1", "Kettle", Decimal("99.00"), 4, "ACTIVE", SECOND_FETCH)
    ]


def test_an_empty_list_removes_the_customers_offers(warehouse: Warehouse) -> None:
    warehouse.load_offers(
        "cust-1", offers_table([("o-1", "Kettle", "9", 4, "ACTIVE")]), FIRST_FETCH
    )

    warehouse.load_offers("cust-1", offers_table([]), SECOND_FETCH)

    assert stored_offers(warehouse, "cust-1") == []


@pytest.mark.parametrize(
    ("offers", "message"),
    [
        ([("o-1", "Kettle", "9.00", 1, "SOLD_OUT")], r"unknown offer status \['SOLD_OUT'\]"),
        ([("o-1", "A", "1", 1, "ACTIVE"), ("o-1", "B", "2", 1, "ACTIVE")], "more than once"),
        ([("o-1", "Kettle", "-1.00", 1, "ACTIVE")], "price has negative values"),
        ([("o-1", "Kettle", "1.005", 1, "ACTIVE")], "do not convert"),
    ],
)
def test_a_bad_offers_table_is_refused_and_the_stored_offers_stay(
    warehouse: Warehouse, offers: list[Offer], message: str
) -> None:
    kept = offers_table([("o-9", "Kept", "5.00", 2, "ACTIVE")])
    warehouse.load_offers("cust-1", kept, FIRST_FETCH)

    with pytest.raises(ValueError, match=message):
        warehouse.load_offers("cust-1", _lenient_table(offers), SECOND_FETCH)

    assert stored_offers(warehouse, "cust-1") == [
        ("o-9", "Kept", Decimal("5.00"), 2, "ACTIVE", FIRST_FETCH)
    ]


def test_several_customers_offers_are_replaced_in_one_load_and_only_theirs(
    warehouse: Warehouse,
) -> None:
    for customer in ("cust-1", "cust-2", "cust-3"):
        warehouse.load_offers(
            customer, offers_table([("o-1", "Old", "1.00", 1, "ACTIVE")]), FIRST_FETCH
        )

    results = warehouse.load_offers_of_customers(
        {
            "cust-1": offers_table(
                [("o-2", "Mug", "9.99", 0, "ACTIVE"), ("o-3", "Pot", "5.00", 2, "ENDED")]
            ),
            "cust-2": offers_table([]),
        },
        SECOND_FETCH,
    )

    assert {c: (r.rows_deleted, r.rows_inserted) for c, r in results.items()} == {
        "cust-1": (1, 2),
        "cust-2": (1, 0),
    }
    assert stored_offers(warehouse, "cust-1") == [
        ("o-2", "Mug", Decimal("9.99"), 0, "ACTIVE", SECOND_FETCH),
        ("o-3", "Pot", Decimal("5.00"), 2, "ENDED", SECOND_FETCH),
    ]
    assert stored_offers(warehouse, "cust-2") == []
    assert stored_offers(warehouse, "cust-3") == [
        ("o-1", "Old", Decimal("1.00"), 1, "ACTIVE", FIRST_FETCH)
    ]


def test_one_bad_list_among_several_is_refused_by_customer_and_nothing_changes(
    warehouse: Warehouse,
) -> None:
    kept = offers_table([("o-9", "Kept", "5.00", 2, "ACTIVE")])
    warehouse.load_offers("cust-1", kept, FIRST_FETCH)
    warehouse.load_offers("cust-2", kept, FIRST_FETCH)

    with pytest.raises(ValueError, match=r"customer cust-2: .*price has negative values"):
        warehouse.load_offers_of_customers(
            {
                "cust-1": offers_table([("o-1", "New", "1.00", 1, "ACTIVE")]),
                "cust-2": offers_table([("o-1", "Bad", "-1.00", 1, "ACTIVE")]),
            },
            SECOND_FETCH,
        )

    for customer in ("cust-1", "cust-2"):
        assert stored_offers(warehouse, customer) == [
            ("o-9", "Kept", Decimal("5.00"), 2, "ACTIVE", FIRST_FETCH)
        ]


def test_storing_fetched_offers_loads_the_others_when_one_list_is_bad(
    warehouse: Warehouse,
) -> None:
    kept = offers_table([("o-9", "Kept", "5.00", 2, "ACTIVE")])
    warehouse.load_offers("cust-2", kept, FIRST_FETCH)
    good = OffersAsked(OffersOutcome("cust-1", "Good"), ["o-1"])
    good.table = offers_table([("o-1", "New", "1.00", 1, "ACTIVE")])
    bad = OffersAsked(OffersOutcome("cust-2", "Bad"), ["o-1"])
    bad.table = offers_table([("o-1", "Bad", "-1.00", 1, "ACTIVE")])

    store_offers(warehouse, [good, bad], SECOND_FETCH)

    assert good.outcome.ok and good.outcome.stored == 1
    assert stored_offers(warehouse, "cust-1") == [
        ("o-1", "New", Decimal("1.00"), 1, "ACTIVE", SECOND_FETCH)
    ]
    assert bad.outcome.error is not None and "price has negative values" in bad.outcome.error
    assert bad.outcome.fix is not None and "cust-2" in bad.outcome.fix
    assert stored_offers(warehouse, "cust-2") == [
        ("o-9", "Kept", Decimal("5.00"), 2, "ACTIVE", FIRST_FETCH)
    ]


def _lenient_table(offers: list[Offer]) -> pa.Table:
    """Like ``offers_table`` but prices of any precision (to reach the load's own check)."""
    table = offers_table([(o[0], o[1], None, o[3], o[4]) for o in offers])
    prices = pa.array([Decimal(o[2]) if o[2] is not None else None for o in offers])
    return table.set_column(table.schema.get_field_index("price"), "price", prices)


# --- spend on unavailable offers ------------------------------------------------------------


def _load_spend(wh: Warehouse, factory: StatFactory) -> None:
    """cust-1's sponsored ads (ad-N promotes offer-ad-N), cost per day on D1..D3:
    ad-active 10, ad-ended 20, ad-empty 5 (in stock 0), ad-inactive 7, ad-unknown 3 (never
    fetched), ad-sold-well 1 (ACTIVE, stock NULL); a graphic ad spends 100; cust-2 spends on an
    ended offer too."""
    costs = {
        "ad-active": "10.00",
        "ad-ended": "20.00",
        "ad-empty": "5.00",
        "ad-inactive": "7.00",
        "ad-unknown": "3.00",
        "ad-sold-well": "1.00",
    }
    rows = [
        factory.row(day=day, ad_id=ad_id, campaign_id="camp-1", cost=cost)
        for ad_id, cost in costs.items()
        for day in (D1, D2, D3)
    ] + [
        factory.row(day=day, ad_id="banner", ad_type=AdType.GRAPHIC_AD, cost="100.00")
        for day in (D1, D2, D3)
    ]
    wh.load_slice(
        "cust-1", D1, D3, factory.table("cust-1", rows), run_id=None, fetched_at=FIRST_FETCH
    )
    other = [factory.row(day=D1, ad_id="ad-ended", cost="50.00")]
    wh.load_slice(
        "cust-2", D1, D1, factory.table("cust-2", other), run_id=None, fetched_at=FIRST_FETCH
    )
    wh.load_offers(
        "cust-1",
        offers_table(
            [
                ("offer-ad-active", "Kettle", "99.00", 4, "ACTIVE"),
                ("offer-ad-ended", "Mug", "9.99", 12, "ENDED"),
                ("offer-ad-empty", "Teapot", "45.00", 0, "ACTIVE"),
                ("offer-ad-inactive", "Pan", "120.00", 3, "INACTIVE"),
                ("offer-ad-sold-well", "Spoon", "2.00", None, "ACTIVE"),
            ]
        ),
        FIRST_FETCH,
    )
    wh.load_offers(
        "cust-2", offers_table([("offer-ad-ended", "Cup", "1", 0, "ENDED")]), FIRST_FETCH
    )


def test_spend_on_ended_inactive_or_out_of_stock_offers_is_summed_per_customer(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load_spend(warehouse, factory)

    found = offer_queries.unavailable_offer_spend(warehouse, ["cust-1"], D2, D3).to_pylist()

    # Two days of: ended 20 + out of stock 5 + inactive 7 = 64; all sponsored: 2 x 46 = 92.
    assert found == [
        {
            "customer_id": "cust-1",
            "currency": "PLN",
            "sponsored_spend": Decimal("92.00"),
            "unavailable_spend": Decimal("64.00"),
            "unavailable_offers": 3,
        }
    ]


def test_top_offers_carry_the_offers_name_price_stock_and_status(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load_spend(warehouse, factory)

    top = offer_queries.top_offers(warehouse, ["cust-1", "cust-2"], D1, D3, limit=3).to_pylist()

    assert [
        (r["customer_id"], r["spend_rank"], r["offer_id"], r["offer_name"], r["spend"]) for r in top
    ] == [
        ("cust-1", 1, "offer-ad-ended", "Mug", Decimal("60.00")),
        ("cust-1", 2, "offer-ad-active", "Kettle", Decimal("30.00")),
        ("cust-1", 3, "offer-ad-inactive", "Pan", Decimal("21.00")),
        ("cust-2", 1, "offer-ad-ended", "Cup", Decimal("50.00")),
    ]
    mug = top[0]
    assert (mug["price"], mug["price_currency"], mug["stock_available"], mug["status"]) == (
        Decimal("9.99"),
        "PLN",
        12,
        "ENDED",
    )
    assert [r["unavailable"] for r in top] == [True, False, True, True]


def test_an_offer_never_fetched_is_unknown_not_unavailable(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load_spend(warehouse, factory)

    top = offer_queries.top_offers(warehouse, ["cust-1"], D1, D3, limit=10).to_pylist()

    unknown = next(r for r in top if r["offer_id"] == "offer-ad-unknown")
    assert (unknown["offer_name"], unknown["status"], unknown["unavailable"]) == (None, None, None)
    spoon = next(r for r in top if r["offer_id"] == "offer-ad-sold-well")
    assert spoon["unavailable"] is False


def test_the_top_offers_across_customers_are_ranked_by_spend_alone(
    warehouse: Warehouse, factory: StatFactory
) -> None:
    _load_spend(warehouse, factory)

    top = offer_queries.top_offers_by_spend(
        warehouse, ["cust-1", "cust-2"], D1, D3, limit=3
    ).to_pylist()

    # cust-2's cup (50.00) outranks cust-1's kettle (30.00): one list, not a top per customer.
    assert [(r["customer_id"], r["offer_id"], r["spend"]) for r in top] == [
        ("cust-1", "offer-ad-ended", Decimal("60.00")),
        ("cust-2", "offer-ad-ended", Decimal("50.00")),
        ("cust-1", "offer-ad-active", Decimal("30.00")),
    ]
    assert [(r["offer_name"], r["price"], r["unavailable"]) for r in top] == [
        ("Mug", Decimal("9.99"), True),
        ("Cup", Decimal("1.00"), True),
        ("Kettle", Decimal("99.00"), False),
    ]
