"""The stored report's figures (tables and chart) are rendered once and served again to every
request for the same report until one of its customers is loaded again; a rename shows at
once, and nothing of one session (CSRF token, e-mail) is ever in the shared part."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import update
from werkzeug.test import Client

from authorize_app.portal import reports_pages
from authorize_app.portal.app import PortalApp
from control_store.schema import customers as customers_table
from tests.portal.portal_helpers import (
    PortalStack,
    RenderCount,
    counting,
    csrf_of,
    customer_with_rows,
    hostile_rows,
    load_rows,
    selection_page,
    signed_in,
)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> RenderCount:
    return counting(monkeypatch, reports_pages, "_figures")


@pytest.fixture
def admin(portal: PortalStack, portal_app: PortalApp) -> Client:
    return signed_in(portal_app, portal.admin)


def report_of(client: Client, ids: list[str], start: date, end: date, sort: str = "") -> str:
    return selection_page(client, "/reports", ids, start, end, (("sort", sort),) if sort else ())


def test_a_repeated_report_is_served_without_rendering_its_figures_again(
    portal: PortalStack, admin: Client, renders: RenderCount
) -> None:
    customer = customer_with_rows(portal, "Lambda Powtórka", "repeat")
    first = report_of(admin, [customer.id], portal.start, portal.end)
    again = report_of(admin, [customer.id], portal.start, portal.end)

    assert renders.calls == 1
    assert again == first and "repeat-camp-0" in again


def test_a_load_of_a_customer_in_the_report_shows_its_new_figures(
    portal: PortalStack, admin: Client, renders: RenderCount
) -> None:
    shown = customer_with_rows(portal, "Mi Przeładunek", "before")
    other = customer_with_rows(portal, "Nu Obok", "other")
    ids = [shown.id]
    before = report_of(admin, ids, portal.start, portal.end)
    load_rows(portal.warehouse, other.id, portal.end, hostile_rows(portal.end, "other-again"))
    kept = report_of(admin, ids, portal.start, portal.end)
    assert renders.calls == 1 and kept == before  # another customer's load changes nothing

    rows = hostile_rows(portal.end, "after", count=2)
    load_rows(portal.warehouse, shown.id, portal.end, rows)
    after = report_of(admin, ids, portal.start, portal.end)

    assert renders.calls == 2
    assert "before-camp-0" in before and "before-camp-0" not in after
    assert "after-camp-0" in after and "after-camp-1" in after
    cost = sum((row.cost for row in rows), Decimal(0))
    assert f">{cost:.2f}<" in after  # the totals


def test_a_renamed_customer_shows_its_new_name_without_a_load(
    portal: PortalStack, admin: Client
) -> None:
    customer = customer_with_rows(portal, "Xi Stara Nazwa", "renamed")
    before = report_of(admin, [customer.id], portal.start, portal.end)
    with portal.control.engine.begin() as conn:
        conn.execute(
            update(customers_table)
            .where(customers_table.c.id == customer.id)
            .values(name="Xi Nowa Nazwa")
        )
    after = report_of(admin, [customer.id], portal.start, portal.end)

    assert "Xi Stara Nazwa" in before
    assert "Xi Stara Nazwa" not in after and "Xi Nowa Nazwa" in after


def test_another_sort_is_rendered_for_its_own_order(
    portal: PortalStack, admin: Client, renders: RenderCount
) -> None:
    customer = customer_with_rows(portal, "Omikron Kolejność", "order")
    ids = [customer.id]
    cheapest = report_of(admin, ids, portal.start, portal.end, sort="cost")
    dearest = report_of(admin, ids, portal.start, portal.end, sort="-cost")

    assert renders.calls == 2
    assert cheapest.index("order-camp-0") < cheapest.index("order-camp-2")
    assert dearest.index("order-camp-2") < dearest.index("order-camp-0")


def test_users_sharing_the_figures_each_see_only_their_own_session(
    portal: PortalStack, portal_app: PortalApp, admin: Client, renders: RenderCount
) -> None:
    viewer = signed_in(portal_app, portal.viewer)
    ids = [customer.id for customer in portal.north]
    for_admin = report_of(admin, ids, portal.start, portal.end)
    for_viewer = report_of(viewer, ids, portal.start, portal.end)

    assert renders.calls <= 1  # rendered once at most (the report may be kept from before)
    admin_token, viewer_token = csrf_of(for_admin), csrf_of(for_viewer)
    assert admin_token != viewer_token
    assert viewer_token not in for_admin and portal.viewer.email not in for_admin
    assert admin_token not in for_viewer and portal.admin.email not in for_viewer
    assert figures_of(for_admin) == figures_of(for_viewer)


def figures_of(page: str) -> str:
    """The page from its export links (the first of the figures) to the end of its main."""
    return page[page.index('<p class="exports">') : page.index("</main>")]
