"""Query parameters, paths and headers at their extremes: every malformed value is a 400 or
404 with a message, never a 500, and the Host header never steers a redirect."""

from __future__ import annotations

import pytest

from tests.portal.portal_helpers import PortalStack, text_of
from tests.security.security_helpers import Browser, WSGIApp


@pytest.fixture
def admin(web_app: WSGIApp, portal: PortalStack) -> Browser:
    return Browser(web_app, ip="192.0.2.20").sign_in(portal.admin)


DATE_CASES = [
    ("/portal/reports?to=0001-01-01", "between"),
    ("/portal/reports?from=0001-01-01&to=0001-01-01", "between"),
    ("/portal/reports?from=9999-12-31&to=9999-12-31", "between"),
    ("/portal/reports/live?to=0001-01-01", "between"),
    ("/portal/reports/live?from=9999-12-30&to=9999-12-31", "between"),
    ("/portal/reports/export?format=csv&to=0001-01-01", "between"),
    ("/portal/reports/live/export?format=csv&from=0001-01-01", "between"),
    ("/portal/api-log?to=9999-12-31", "between"),
    ("/portal/api-log?from=0001-01-01", "between"),
    ("/portal/reports?from=%ff", "YYYY-MM-DD"),
    ("/portal/reports?from=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95-01-01", "YYYY-MM-DD"),  # full-width
]


@pytest.mark.parametrize(("path", "message"), DATE_CASES, ids=[path for path, _ in DATE_CASES])
def test_dates_far_outside_any_report_are_a_400_not_a_crash(
    admin: Browser, path: str, message: str
) -> None:
    answer = admin.fetch(path)
    assert answer.status_code == 400, answer.get_data(as_text=True)[-400:]
    assert message in text_of(answer.get_data(as_text=True))


@pytest.mark.parametrize(
    "path",
    [
        "/portal/reports?page=%C2%B2",  # superscript two: str.isdigit() says yes, int() says no
        "/portal/reports?page=%D9%A1",  # Arabic-Indic one
        "/portal/reports/live?page=%C2%B2",
        "/portal/api-log?page=%C2%B2",
        "/portal/api-log?page=%EF%BC%91",  # full-width one
        "/portal/api-log?status=%C2%B2%C2%B2%C2%B2",
        "/portal/api-log?status=%D9%A4%D9%A0%D9%A4",
    ],
)
def test_digits_other_than_ascii_in_numbers_are_a_400_not_a_crash(
    admin: Browser, path: str
) -> None:
    answer = admin.get(path)
    assert answer.status_code == 400, answer.get_data(as_text=True)[-400:]
    assert "must be" in text_of(answer.get_data(as_text=True))


@pytest.mark.parametrize(
    "path", ["/portal/customers/%ff", "/portal/customers/%00", "/portal/customers/" + "x" * 5000]
)
def test_a_mangled_customer_id_in_the_path_is_a_404(admin: Browser, path: str) -> None:
    assert admin.get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/portal/reports//live",
        "/portal/customers//x",
        "/portal/viewers//",
        "/authorize//token",
        "/oauth//callback",
    ],
)
def test_a_doubled_slash_never_redirects_to_the_host_header(
    admin: Browser, web_app: WSGIApp, path: str
) -> None:
    evil = Browser(web_app, host="evil.example")
    evil.client = admin.client  # the signed-in cookie jar, sent to a forged Host
    for browser in (admin, evil):
        answer = browser.get(path)
        assert answer.status_code == 404
        assert "Location" not in answer.headers


@pytest.mark.parametrize(
    "host", ["x" * 64, "a" * 70 + ".example", "a..example"], ids=["label", "long", "empty-label"]
)
@pytest.mark.parametrize("path", ["/portal/login", "/portal/customers", "/healthz", "/authorize/x"])
def test_a_host_header_no_name_can_have_is_a_400_not_a_crash(
    web_app: WSGIApp, host: str, path: str
) -> None:
    answer = Browser(web_app, host=host).get(path)
    assert answer.status_code == 400
    assert "Host" in answer.get_data(as_text=True)


def test_redirects_and_link_urls_never_use_the_host_header(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    evil = Browser(web_app, ip="192.0.2.21", host="evil.example")
    signed_in = evil.login(portal.admin.email, portal.admin.password)
    assert signed_in.headers["Location"] == "/portal/overview"
    assert evil.get("/portal/").headers["Location"] == "/portal/overview"
    token = evil.csrf("/portal/customers")
    customer = portal.north[0]
    issued = evil.post(f"/portal/customers/{customer.id}/links", data={"csrf_token": token})
    assert issued.status_code == 200
    page = issued.get_data(as_text=True)
    assert f'value="{portal.settings.public_url}/authorize/' in page
    assert "evil.example" not in page + str(issued.headers)
