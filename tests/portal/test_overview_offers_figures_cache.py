"""The overview's KPI tiles and chart, and the offers page's tables, are rendered once and served
again until one of the page's customers is loaded; the overview's customer table (with the
connections' states) is rendered for every request. The portal checks the warehouse's schema on
its first read only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import update
from werkzeug.test import Client

from authorize_app.portal import offers_pages, overview_pages
from authorize_app.portal.app import PortalApp
from authorize_app.portal.context import WarehouseHandle
from control_store.schema import customers as customers_table
from tests.portal.portal_helpers import (
    PortalStack,
    RenderCount,
    counting,
    customer_with_rows,
    hostile_rows,
    load_rows,
    selection_page,
    signed_in,
)
from warehouse.duckdb_warehouse import DuckDBWarehouse

SPEND_TILE = re.compile(
    r'data-kpi="cost">\s*<span class="kpi-label">Spend</span>\s*'
    r'<span class="kpi-value" data-value="([^"]*)"'
)


@pytest.fixture
def admin(portal: PortalStack, portal_app: PortalApp) -> Iterator[Client]:
    yield signed_in(portal_app, portal.admin)


def page_of(client: Client, path: str, portal: PortalStack, ids: list[str]) -> str:
    return selection_page(client, path, ids, portal.start, portal.end)


def test_the_overview_tiles_are_kept_until_a_customer_of_the_page_is_loaded(
    portal: PortalStack, admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = counting(monkeypatch, overview_pages, "_figures")
    customer = customer_with_rows(portal, "Pi Kafelki", "tiles")
    first = page_of(admin, "/overview", portal, [customer.id])
    again = page_of(admin, "/overview", portal, [customer.id])
    assert renders.calls == 1 and again == first
    assert SPEND_TILE.findall(first) == ["33.00"]  # 10 + 11 + 12

    load_rows(portal.warehouse, customer.id, portal.end, hostile_rows(portal.end, "tiles", 2))
    after = page_of(admin, "/overview", portal, [customer.id])

    assert renders.calls == 2
    assert SPEND_TILE.findall(after) == ["21.00"]  # 10 + 11


def test_the_overview_table_shows_a_rename_without_a_load(
    portal: PortalStack, admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = counting(monkeypatch, overview_pages, "_figures")
    customer = customer_with_rows(portal, "Rho Stara", "renamed-overview")
    before = page_of(admin, "/overview", portal, [customer.id])
    with portal.control.engine.begin() as conn:
        conn.execute(
            update(customers_table)
            .where(customers_table.c.id == customer.id)
            .values(name="Rho Nowa")
        )
    after = page_of(admin, "/overview", portal, [customer.id])

    assert renders.calls == 1  # the tiles and chart name nobody: kept
    assert "Rho Stara" in before
    assert "Rho Stara" not in after and "Rho Nowa" in after


def test_the_offers_tables_are_kept_until_a_customer_of_the_page_is_loaded(
    portal: PortalStack, admin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = counting(monkeypatch, offers_pages, "_tables")
    shown = portal.north[0]  # offers loaded from its sales account
    first = page_of(admin, "/offers", portal, [shown.id])
    again = page_of(admin, "/offers", portal, [shown.id])
    assert renders.calls == 1 and again == first and "data-offer-id=" in first

    other = customer_with_rows(portal, "Sigma Inny", "offers-other")
    kept = page_of(admin, "/offers", portal, [shown.id])
    assert renders.calls == 1 and tables_of(kept) == tables_of(first)
    assert other.id not in kept

    load_rows(portal.warehouse, shown.id, portal.end, hostile_rows(portal.end, "offers"))
    page_of(admin, "/offers", portal, [shown.id])
    assert renders.calls == 2


def tables_of(page: str) -> str:
    return page[page.index('<h2 id="wasted-heading">') : page.index("</main>")]


def test_the_warehouse_schema_is_checked_on_the_first_open_only(
    portal: PortalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = RenderCount()
    check = DuckDBWarehouse.ensure_schema

    def counted(self: DuckDBWarehouse) -> None:
        checks.calls += 1
        check(self)

    monkeypatch.setattr(DuckDBWarehouse, "ensure_schema", counted)
    handle = WarehouseHandle(portal.settings.resolved_warehouse_url)
    for _ in range(3):
        with handle.open() as warehouse:
            assert warehouse.read("SELECT 1 AS one").column("one").to_pylist() == [1]

    assert checks.calls == 1
