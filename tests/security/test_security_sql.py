"""SQL injection through every form field, path id and filter of the portal: each is refused
or stored as plain text, and no row of the control store or the warehouse is lost, gained
or rewritten beyond what the form itself asks for."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from sqlalchemy import select

from control_store import customers, portfolios, users
from control_store.schema import customers as customers_table
from control_store.schema import portfolios as portfolios_table
from control_store.schema import users as users_table
from tests.portal.portal_helpers import PASSWORD, PortalStack
from tests.security.security_helpers import Browser, WSGIApp, changed, row_counts

PAYLOADS = [
    "' OR 1=1 --",
    "'; DROP TABLE customers; --",
    '" OR ""="',
    "1); DELETE FROM users WHERE (1=1",
    "' UNION SELECT password_hash, email FROM users --",
]
_unique = itertools.count()


@dataclass(frozen=True)
class FormCase:
    """One POST: ``{x}`` in the path or a field becomes the payload; ``{customer}``,
    ``{viewer}`` and ``{portfolio}`` real ids of this stack."""

    path: str
    fields: dict[str, str]
    status: int
    grows: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        named = [name for name, value in self.fields.items() if "{x}" in value]
        return f"{self.path} {','.join(named) or 'path'}"


FORM_CASES = [
    FormCase("/portal/login", {"email": "{x}", "password": PASSWORD}, 401),
    FormCase("/portal/login", {"email": "{admin}", "password": "{x}"}, 401),
    FormCase("/portal/customers", {"name": "{x} #{n}"}, 303, {"customers": 1}),
    FormCase("/portal/customers", {"name": "Okay #{n}", "currency": "{x}"}, 400),
    FormCase("/portal/customers", {"name": "Okay #{n}", "portfolio": "{x}"}, 400),
    FormCase("/portal/customers/{x}/deactivate", {}, 404),
    FormCase("/portal/customers/{x}/portfolio", {"portfolio": ""}, 404),
    FormCase("/portal/customers/{customer}/portfolio", {"portfolio": "{x}"}, 400),
    FormCase("/portal/customers/{x}/links", {}, 404),
    FormCase("/portal/links/{x}/revoke", {}, 404),
    FormCase("/portal/portfolios", {"name": "{x} #{n}"}, 303, {"portfolios": 1}),
    FormCase("/portal/viewers", {"email": "{x}", "password": PASSWORD}, 400),
    FormCase(
        "/portal/viewers", {"email": "v{n}@agency.test", "password": "{x} pad"}, 303, {"users": 1}
    ),
    FormCase(
        "/portal/viewers", {"email": "v{n}@x.test", "password": PASSWORD, "portfolio": "{x}"}, 400
    ),
    FormCase("/portal/viewers/{x}/deactivate", {}, 404),
    FormCase("/portal/viewers/{x}/grant", {"portfolio": "{portfolio}"}, 404),
    FormCase("/portal/viewers/{viewer}/grant", {"portfolio": "{x}"}, 400),
    FormCase("/portal/viewers/{x}/revoke", {"portfolio": "{portfolio}"}, 404),
    FormCase("/portal/viewers/{viewer}/revoke", {"portfolio": "{x}"}, 400),
]


def snapshot(portal: PortalStack) -> dict[str, object]:
    """Every customer, portfolio and account as stored (password hashes included)."""
    with portal.control.engine.connect() as conn:
        return {
            "customers": sorted(map(tuple, conn.execute(select(customers_table)))),
            "portfolios": sorted(map(tuple, conn.execute(select(portfolios_table)))),
            "users": sorted(map(tuple, conn.execute(select(users_table)))),
        }


def fill(template: str, portal: PortalStack, payload: str, n: int, *, in_path: bool) -> str:
    viewer = users.find_user(portal.control.engine, portal.lonely_viewer.email)
    south = portfolios.list_portfolios(portal.control.engine)[0]
    return (
        template.replace("{x}", quote(payload, safe="") if in_path else payload)
        .replace("{n}", str(n))
        .replace("{customer}", portal.orphan.id)
        .replace("{viewer}", viewer.id)
        .replace("{portfolio}", south.id)
        .replace("{admin}", portal.admin.email)
    )


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("case", FORM_CASES, ids=str)
def test_sql_in_a_form_field_or_path_id_is_refused_or_stored_as_text(
    web_app: WSGIApp, portal: PortalStack, case: FormCase, payload: str
) -> None:
    n = next(_unique)
    admin = Browser(web_app, ip="192.0.2.41").sign_in(portal.admin)
    path = fill(case.path, portal, payload, n, in_path=True)
    fields = {
        name: fill(value, portal, payload, n, in_path=False) for name, value in case.fields.items()
    }
    before, rows_before = snapshot(portal), row_counts(portal.control.engine)
    # The login form is posted anonymously, the others as the admin.
    browser = (
        Browser(web_app, ip=f"192.0.2.{100 + n % 100}") if case.path == "/portal/login" else admin
    )
    token = browser.csrf() if case.path == "/portal/login" else admin.csrf("/portal/customers")

    answer = browser.post(path, data=fields | {"csrf_token": token})

    assert answer.status_code == case.status, answer.get_data(as_text=True)[-300:]
    assert changed(rows_before, row_counts(portal.control.engine)) == case.grows
    after = snapshot(portal)
    for table in ("customers", "portfolios", "users"):
        kept = set(before[table])  # type: ignore[call-overload]
        assert kept <= set(after[table]), f"{table} rows were rewritten"  # type: ignore[call-overload]
    if "customers" in case.grows:
        assert customers.find_customer(portal.control.engine, fields["name"]).name == fields["name"]
    if "portfolios" in case.grows:
        names = {p.name for p in portfolios.list_portfolios(portal.control.engine)}
        assert fields["name"] in names
    if "users" in case.grows:  # the payload is the password: it works as one, verbatim
        signed_in = Browser(web_app, ip="192.0.2.42").login(fields["email"], fields["password"])
        assert signed_in.status_code == 303


FILTERS = [
    "/portal/reports?from={x}",
    "/portal/reports?to={x}",
    "/portal/reports?customer={x}",
    "/portal/reports?sort={x}",
    "/portal/reports?page={x}",
    "/portal/reports/live?to={x}",
    "/portal/reports/live?customer={x}",
    "/portal/reports/live?sort={x}",
    "/portal/reports/export?format={x}",
    "/portal/reports/export?format=csv&customer={x}",
    "/portal/reports/export?format=csv&to={x}",
    "/portal/reports/live/export?format=csv&customer={x}",
    "/portal/reports/live/export?format={x}",
    "/portal/api-log?customer={x}",
    "/portal/api-log?status={x}",
    "/portal/api-log?from={x}",
    "/portal/api-log?page={x}",
    "/portal/customers/{x}",
]


def warehouse_counts(portal: PortalStack) -> dict[str, int]:
    counts = {}
    for table in ("ad_daily_stats", "campaigns", "load_log"):
        result = portal.warehouse.read(f"SELECT COUNT(*) AS n FROM {table}")  # noqa: S608
        counts[table] = int(result.column("n")[0].as_py())
    return counts


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("path", FILTERS)
def test_sql_in_a_filter_is_refused_and_changes_nothing(
    web_app: WSGIApp, portal: PortalStack, path: str, payload: str
) -> None:
    viewer = Browser(web_app, ip="192.0.2.43").sign_in(portal.viewer)
    before = (row_counts(portal.control.engine), warehouse_counts(portal))

    answer = viewer.fetch(path.replace("{x}", quote(payload, safe="")))

    assert answer.status_code in (400, 404)
    assert payload not in answer.get_data(as_text=True)  # not echoed either
    assert (row_counts(portal.control.engine), warehouse_counts(portal)) == before
