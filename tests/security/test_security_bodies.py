"""Request bodies an attacker controls: oversized (with and without a Content-Length) on every
POST route, too many multipart parts, bytes that are not UTF-8, malformed multipart, JSON.
Each is refused with a status and a message, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from authorize_app.portal.app import MAX_BODY_BYTES, MAX_FORM_PARTS
from authorize_app.portal.routes import ROUTES
from control_store import portfolios
from tests.portal.portal_helpers import HTTP_TIMEOUT, PortalStack, page_csrf, text_of
from tests.security.security_helpers import Browser, WSGIApp, changed, row_counts

POST_PATHS = ["/portal" + route.path for route in ROUTES if route.method == "POST"]


def fill(path: str, portal: PortalStack) -> str:
    return (
        path.replace("<customer_id>", portal.orphan.id)
        .replace("<user_id>", "u_none")
        .replace("<link_id>", "l_none")
    )


def chunks(total: int) -> Iterator[bytes]:
    """``total`` bytes of form data sent chunked: no Content-Length to refuse up front."""
    chunk = b"name=" + b"z" * 8187
    for _ in range(total // len(chunk) + 1):
        yield chunk


@pytest.mark.parametrize("path", POST_PATHS)
def test_an_oversized_body_is_refused_on_every_form_and_stores_nothing(
    web_app: WSGIApp, portal: PortalStack, path: str
) -> None:
    admin = Browser(web_app, ip="192.0.2.61").sign_in(portal.admin)
    token = admin.csrf("/portal/customers")
    before = row_counts(portal.control.engine)
    big = {"name": "z" * (MAX_BODY_BYTES + 1), "csrf_token": token, "email": "big@agency.test"}

    answer = admin.post(fill(path, portal), data=big)

    assert answer.status_code == 413
    assert "larger than 64 KiB" in text_of(answer.get_data(as_text=True))
    assert changed(before, row_counts(portal.control.engine)) == {}


@pytest.mark.parametrize("path", ["/portal/customers", "/portal/login"])
def test_an_oversized_chunked_body_is_refused_over_http(
    portal: PortalStack, admin_http: requests.Session, path: str
) -> None:
    page_csrf(admin_http, portal.portal("/customers"))  # a live session, cookies in the jar
    before = row_counts(portal.control.engine)
    answer = admin_http.post(
        portal.portal(path.removeprefix("/portal")),
        data=chunks(MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 413
    assert changed(before, row_counts(portal.control.engine)) == {}


def test_a_multipart_form_with_too_many_parts_is_refused(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    admin = Browser(web_app, ip="192.0.2.62").sign_in(portal.admin)
    parts = {f"f{i}": "v" for i in range(MAX_FORM_PARTS + 1)}
    before = row_counts(portal.control.engine)
    answer = admin.post(
        "/portal/customers",
        data=parts | {"name": "Many Parts", "csrf_token": admin.csrf("/portal/customers")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 413
    assert changed(before, row_counts(portal.control.engine)) == {}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"name=%FF%FE&csrf_token=\xff\xfe", "application/x-www-form-urlencoded"),
        (b"--b\r\nnot a part\r\n--b--", "multipart/form-data; boundary=b"),
        (b"name=x", "multipart/form-data"),  # no boundary
        (b'{"name": "Via JSON"}', "application/json"),
        (b"\x00" * 100, "application/octet-stream"),
    ],
    ids=["not-utf8", "bad-multipart", "no-boundary", "json", "binary"],
)
def test_a_body_the_form_parser_cannot_read_is_refused_like_a_missing_csrf_token(
    web_app: WSGIApp, portal: PortalStack, body: bytes, content_type: str
) -> None:
    admin = Browser(web_app, ip="192.0.2.63").sign_in(portal.admin)
    before = row_counts(portal.control.engine)
    answer = admin.post("/portal/customers", data=body, headers={"Content-Type": content_type})
    assert answer.status_code == 403
    assert "Reload the page" in text_of(answer.get_data(as_text=True))
    assert changed(before, row_counts(portal.control.engine)) == {}


def test_percent_escapes_that_are_not_utf8_are_kept_as_the_typed_text(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    admin = Browser(web_app, ip="192.0.2.64").sign_in(portal.admin)
    token = admin.csrf("/portal/customers").encode()
    answer = admin.post(
        "/portal/portfolios",
        data=b"csrf_token=" + token + b"&name=Bajty%FF%FE",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 303
    names = {p.name for p in portfolios.list_portfolios(portal.control.engine)}
    assert "Bajty%FF%FE" in names  # never raw bytes that no page could show
