"""Viewer scope, beyond tests/portal: agency-wide API calls (no customer) and consent links
stay with the admins even for the viewer's own customers."""

from __future__ import annotations

from datetime import timedelta

from allegro_resource.calllog import ApiCall
from control_store import auth_links
from control_store.api_call_log import ControlStoreCallLog
from tests.portal.portal_helpers import PortalStack
from tests.security.security_helpers import Browser, WSGIApp

AGENCY_WIDE = "agency-wide-call-marker"


def test_agency_wide_api_calls_are_shown_to_admins_only(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    with ControlStoreCallLog(portal.control.engine) as log:
        log.record(ApiCall("GET", f"/ads/clients/{AGENCY_WIDE}", 200, 5, customer_id=None))
    viewer = Browser(web_app, ip="192.0.2.81").sign_in(portal.viewer)
    admin = Browser(web_app, ip="192.0.2.82").sign_in(portal.admin)
    for path in ("/portal/api-log", "/portal/api-log?status=ok", "/portal/api-log?customer="):
        assert AGENCY_WIDE not in viewer.get(path).get_data(as_text=True)
    assert AGENCY_WIDE in admin.get("/portal/api-log").get_data(as_text=True)


def test_a_viewer_never_sees_the_links_of_its_own_customers(
    web_app: WSGIApp, portal: PortalStack
) -> None:
    own = portal.north[0]
    link = auth_links.create_link(
        portal.control.engine, own.id, ttl=timedelta(hours=1), created_by="links-marker@agency.test"
    )
    viewer = Browser(web_app, ip="192.0.2.83").sign_in(portal.viewer)
    page = viewer.get(f"/portal/customers/{own.id}").get_data(as_text=True)
    assert own.name in page
    assert link.id not in page and "links-marker" not in page and "/authorize/" not in page
    token = viewer.csrf("/portal/customers")
    assert (
        viewer.post(f"/portal/links/{link.id}/revoke", data={"csrf_token": token}).status_code
        == 403
    )
    assert auth_links.get_link(portal.control.engine, link.id).revoked_at is None  # type: ignore[union-attr]
