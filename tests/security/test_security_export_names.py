"""Export file names under attack: the portal's download name is built from the report's mode
and validated dates only, so hostile customer or campaign names and extra parameters never
reach the Content-Disposition header, and a download never writes a file on the server."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from control_store import customers
from tests.portal.portal_helpers import PortalStack, hostile_rows, load_rows, yesterday
from tests.security.security_helpers import Browser, WSGIApp

TRICKS = [
    "../../etc/passwd",
    "..\\..\\evil\"; filename*=UTF-8''evil.exe",
    "evil\r\nSet-Cookie: owned=1",
    "\u202eexe.csv",  # right-to-left override
    "/tmp/evil.csv",
]
DAY = r"\d{4}-\d\d-\d\d"
SAFE_NAME = re.compile(
    rf'^attachment; filename="campaigns_(stored|live)_{DAY}_{DAY}\.(csv|parquet)"$'
)


@pytest.fixture(scope="module")
def tricky_customer(portal: PortalStack) -> str:
    """A customer whose name is every trick at once, with a day of data loaded."""
    name = " ".join(TRICKS).replace("\r\n", " ")[:200]
    customer = customers.create_customer(portal.control.engine, name)
    load_rows(portal.warehouse, customer.id, yesterday(), hostile_rows(yesterday(), "tricky"))
    return customer.id


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("trick", TRICKS)
def test_the_download_name_ignores_hostile_names_and_parameters(
    web_app: WSGIApp, portal: PortalStack, tricky_customer: str, fmt: str, trick: str
) -> None:
    admin = Browser(web_app, ip="192.0.2.71").sign_in(portal.admin)
    before = files_under(portal.settings.data_dir)
    query = {
        "format": fmt,
        "customer": tricky_customer,
        "name": trick,
        "filename": trick,
        "out": trick,
        "path": trick,
    }
    answer = admin.get("/portal/reports/export", query_string=query)

    assert answer.status_code == 200
    disposition = answer.headers["Content-Disposition"]
    assert SAFE_NAME.match(disposition), disposition
    assert all("\r" not in value and "\n" not in value for _, value in answer.headers.items())
    assert "owned" not in str(answer.headers)
    assert files_under(portal.settings.data_dir) == before  # built in memory, sent, gone
    assert not Path("/tmp/evil.csv").exists()


@pytest.mark.parametrize(
    "query",
    [
        {"format": "csv/../../../etc/passwd"},
        {"format": "csv\r\nX-Evil: 1"},
        {"format": "csv", "from": "../../etc"},
        {"format": "csv", "to": "2025-01-01\r\nX-Evil: 1"},
        {"format": "parquet", "to": "2025-01-01/../x"},
    ],
    ids=["format-path", "format-crlf", "from-path", "to-crlf", "to-path"],
)
@pytest.mark.parametrize("export", ["/portal/reports/export", "/portal/reports/live/export"])
def test_a_format_or_date_that_could_shape_the_name_is_refused(
    web_app: WSGIApp, portal: PortalStack, export: str, query: dict[str, str]
) -> None:
    admin = Browser(web_app, ip="192.0.2.72").sign_in(portal.admin)
    answer = admin.fetch(f"{export}?{urlencode(query)}")
    assert answer.status_code == 400
    assert "Content-Disposition" not in answer.headers
    assert "X-Evil" not in answer.headers
