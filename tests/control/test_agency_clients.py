"""Agency clients: what a listing changes (new, returned, removed), adoption and linking with
their conflicts, and customers from before agency accounts linked by their ads_client_id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from control_store import agency_accounts, agency_clients, customers
from control_store.agency_clients import record_client_listing
from control_store.database import Conflict, NotFound, write
from control_store.schema import customers as customers_table

DAY1 = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY1 + timedelta(days=2)
DAY4 = DAY1 + timedelta(days=3)


@pytest.fixture
def agency(engine: Engine) -> str:
    return agency_accounts.create_agency_account(engine, "Agencja").id


def _ids(clients: tuple[agency_clients.AgencyClient, ...]) -> list[str]:
    return [client.client_id for client in clients]


def test_the_first_listing_makes_every_client_new_and_unadopted(
    engine: Engine, agency: str
) -> None:
    changes = record_client_listing(engine, agency, [("k1", "Sklep Jeden"), ("k2", "Dwa")], DAY1)
    assert _ids(changes.new) == ["k1", "k2"]
    assert changes.returned == changes.removed == changes.linked == ()
    assert changes.new[0].first_seen_at == changes.new[0].last_seen_at == DAY1
    assert [c.client_id for c in agency_clients.unadopted_clients(engine, agency)] == ["k2", "k1"]


def test_a_client_missing_from_a_listing_is_removed_once_and_returns_later(
    engine: Engine, agency: str
) -> None:
    record_client_listing(engine, agency, [("k1", "Jeden"), ("k2", "Dwa")], DAY1)

    gone = record_client_listing(engine, agency, [("k1", "Jeden")], DAY2)
    assert _ids(gone.removed) == ["k2"] and gone.removed[0].removed_at == DAY2
    still_gone = record_client_listing(engine, agency, [("k1", "Jeden")], DAY3)
    assert still_gone.removed == ()  # reported once; removed_at keeps the first missed day
    assert {c.client_id: c.removed_at for c in agency_clients.clients_of(engine, agency)} == {
        "k1": None,
        "k2": DAY2,
    }
    assert _ids(tuple(agency_clients.unadopted_clients(engine, agency))) == ["k1"]

    back = record_client_listing(engine, agency, [("k1", "Jeden"), ("k2", "Dwa")], DAY4)
    assert _ids(back.returned) == ["k2"] and back.new == ()
    (returned,) = back.returned
    assert (returned.removed_at, returned.first_seen_at, returned.last_seen_at) == (
        None,
        DAY1,
        DAY4,
    )


def test_a_listing_updates_names_and_last_seen(engine: Engine, agency: str) -> None:
    record_client_listing(engine, agency, [("k1", "Stara Nazwa")], DAY1)
    changes = record_client_listing(engine, agency, [("k1", "  Nowa   Nazwa ")], DAY2)
    assert changes.new == changes.returned == changes.removed == ()
    (client,) = agency_clients.clients_of(engine, agency)
    assert (client.name, client.first_seen_at, client.last_seen_at) == ("Nowa Nazwa", DAY1, DAY2)


@pytest.mark.parametrize(
    "bad",
    [[("", "Pusty")], [("k9", None)], [("x" * 101, "Długi")], [("k9",)]],
    ids=["empty id", "no name", "long id", "not a pair"],
)
def test_a_bad_listing_is_refused_and_changes_nothing(
    engine: Engine, agency: str, bad: list[tuple[object, ...]]
) -> None:
    record_client_listing(engine, agency, [("k1", "Jeden")], DAY1)
    with pytest.raises(ValueError, match="client"):
        record_client_listing(engine, agency, [("k2", "Dwa"), *bad], DAY2)  # type: ignore[list-item]
    (client,) = agency_clients.clients_of(engine, agency)
    assert (client.client_id, client.last_seen_at, client.removed_at) == ("k1", DAY1, None)


def test_a_listing_for_an_unknown_agency_account_is_refused(engine: Engine) -> None:
    with pytest.raises(NotFound, match="allegro-ads agency list"):
        record_client_listing(engine, "ag_missing", [("k1", "Jeden")], DAY1)


def test_adopting_a_client_creates_a_customer_named_after_it_and_linked(
    engine: Engine, agency: str
) -> None:
    record_client_listing(engine, agency, [("k1", "Sklep Jeden")], DAY1)
    customer = agency_clients.adopt_client(engine, agency, "k1", currency="eur")
    assert (customer.name, customer.currency) == ("Sklep Jeden", "EUR")
    assert (customer.agency_account_id, customer.ads_client_id) == (agency, "k1")
    assert customer.has_statistics_link and customer.allegro_user_id is None
    client = agency_clients.client_of_customer(engine, customer.id)
    assert client is not None and client.client_id == "k1"
    assert agency_clients.unadopted_clients(engine, agency) == []


def test_a_client_is_adopted_only_once(engine: Engine, agency: str) -> None:
    record_client_listing(engine, agency, [("k1", "Sklep Jeden")], DAY1)
    first = agency_clients.adopt_client(engine, agency, "k1")
    with pytest.raises(Conflict, match=f"already adopted as customer {first.id}"):
        agency_clients.adopt_client(engine, agency, "k1", name="Inna Nazwa")
    assert [c.id for c in customers.list_customers(engine)] == [first.id]


def test_adopting_under_a_taken_name_creates_nothing_and_says_what_to_do(
    engine: Engine, agency: str
) -> None:
    existing = customers.create_customer(engine, "Sklep Jeden")
    record_client_listing(engine, agency, [("k1", "Sklep Jeden")], DAY1)
    with pytest.raises(Conflict, match="link the client to that customer instead"):
        agency_clients.adopt_client(engine, agency, "k1")
    assert [c.id for c in customers.list_customers(engine)] == [existing.id]
    assert [c.client_id for c in agency_clients.unadopted_clients(engine, agency)] == ["k1"]


def test_a_removed_client_cannot_be_adopted(engine: Engine, agency: str) -> None:
    record_client_listing(engine, agency, [("k1", "Jeden")], DAY1)
    record_client_listing(engine, agency, [], DAY2)
    with pytest.raises(Conflict, match="accept the agency's request again"):
        agency_clients.adopt_client(engine, agency, "k1")
    assert customers.list_customers(engine) == []


def test_an_unlisted_client_cannot_be_adopted_or_linked(engine: Engine, agency: str) -> None:
    customer = customers.create_customer(engine, "Sklep")
    with pytest.raises(NotFound, match="has no client 'k7'"):
        agency_clients.adopt_client(engine, agency, "k7")
    with pytest.raises(NotFound, match="has no client 'k7'"):
        agency_clients.link_customer(engine, agency, "k7", customer.id)


def test_linking_an_existing_customer_sets_its_statistics_link(engine: Engine, agency: str) -> None:
    customer = customers.create_customer(engine, "Sklep Istniejący")
    record_client_listing(engine, agency, [("k1", "Jeden")], DAY1)
    linked = agency_clients.link_customer(engine, agency, "k1", "Sklep Istniejący")
    assert (linked.agency_account_id, linked.ads_client_id) == (agency, "k1")
    assert agency_clients.client_of_customer(engine, customer.id) is not None
    # Linking again to the same client is harmless.
    assert agency_clients.link_customer(engine, agency, "k1", customer.id) == linked


def test_a_client_linked_to_another_customer_is_refused(engine: Engine, agency: str) -> None:
    record_client_listing(engine, agency, [("k1", "Jeden")], DAY1)
    holder = agency_clients.adopt_client(engine, agency, "k1")
    other = customers.create_customer(engine, "Drugi")
    with pytest.raises(Conflict, match=f"already linked to customer Jeden \\({holder.id}\\)"):
        agency_clients.link_customer(engine, agency, "k1", other.id)
    found = customers.find_customer(engine, other.id)
    assert (found.agency_account_id, found.ads_client_id) == (None, None)


def test_a_customer_linked_to_another_client_is_refused_until_unlinked(
    engine: Engine, agency: str
) -> None:
    record_client_listing(engine, agency, [("k1", "Jeden"), ("k2", "Dwa")], DAY1)
    customer = agency_clients.adopt_client(engine, agency, "k1")
    with pytest.raises(Conflict, match=r"already linked to client k1 .*unlink it first"):
        agency_clients.link_customer(engine, agency, "k2", customer.id)
    assert customers.find_customer(engine, customer.id).ads_client_id == "k1"

    agency_clients.unlink_customer(engine, customer.id)
    moved = agency_clients.link_customer(engine, agency, "k2", customer.id)
    assert moved.ads_client_id == "k2"
    assert [c.client_id for c in agency_clients.unadopted_clients(engine, agency)] == ["k1"]


def test_a_customer_from_before_agency_accounts_is_linked_by_its_ads_client_id(
    engine: Engine, agency: str
) -> None:
    earlier = customers.create_customer(engine, "Stary Klient")
    customers_without_link = customers.create_customer(engine, "Bez Klienta")
    _set_old_ads_client_id(engine, earlier.id, "k2")

    changes = record_client_listing(engine, agency, [("k1", "Jeden"), ("k2", "Dwa")], DAY1)

    assert _ids(changes.linked) == ["k2"] and changes.linked[0].customer_id == earlier.id
    linked = customers.find_customer(engine, earlier.id)
    assert (linked.agency_account_id, linked.ads_client_id) == (agency, "k2")
    assert customers.find_customer(engine, customers_without_link.id).agency_account_id is None
    assert [c.client_id for c in agency_clients.unadopted_clients(engine, agency)] == ["k1"]


def test_a_customer_linked_before_its_client_was_listed_shows_as_its_customer(
    engine: Engine, agency: str
) -> None:
    customer = customers.create_customer(engine, "Wcześniej")
    customers.set_statistics_link(engine, customer.id, agency, "k1")
    changes = record_client_listing(engine, agency, [("k1", "Jeden")], DAY1)
    assert changes.new[0].customer_id == customer.id
    assert agency_clients.unadopted_clients(engine, agency) == []


def test_unadopted_clients_of_all_accounts_skip_deactivated_accounts(
    engine: Engine, agency: str
) -> None:
    other = agency_accounts.create_agency_account(engine, "Druga Agencja").id
    record_client_listing(engine, agency, [("k1", "Jeden")], DAY1)
    record_client_listing(engine, other, [("z1", "Zet")], DAY1)
    assert {c.client_id for c in agency_clients.unadopted_clients(engine)} == {"k1", "z1"}
    agency_accounts.deactivate_agency_account(engine, other)
    assert [c.client_id for c in agency_clients.unadopted_clients(engine)] == ["k1"]


def _set_old_ads_client_id(engine: Engine, customer_id: str, client_id: str) -> None:
    """What a consent stored before agency accounts: an ads_client_id and no agency account."""
    with write(engine) as conn:
        conn.execute(
            update(customers_table)
            .where(customers_table.c.id == customer_id)
            .values(ads_client_id=client_id)
        )
