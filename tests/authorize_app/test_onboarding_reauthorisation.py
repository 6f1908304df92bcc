"""A customer who withdraws the consent at Allegro shows up as needing re-authorisation on the
next use of their tokens, and a new link brings them back."""

from __future__ import annotations

from contextlib import closing

import pytest
import requests

from allegro_resource.errors import NeedsReauthorization
from allegro_resource.token_status import TokenStatus
from services.clients import oauth_client, token_manager
from tests.authorize_app.onboarding_helpers import (
    Onboarding,
    connect,
    consent_over_http,
    login_seen_by_api,
)


def test_a_consent_revoked_at_allegro_turns_the_customer_to_needs_reauth_and_a_new_link_restores_it(
    onboarding: Onboarding, http: requests.Session
) -> None:
    control = onboarding.control
    customer, _ = connect(onboarding, "Sklep Ogrodowy")
    login = onboarding.seller_login()
    onboarding.simulator.revoke(login)

    with (
        closing(oauth_client(control.settings)) as oauth,
        pytest.raises(NeedsReauthorization, match=customer.id),
    ):
        token_manager(control, oauth).access_token(customer.id, force_refresh=True)

    lost = control.tokens.info(customer.id)
    assert lost is not None
    assert lost.status == TokenStatus.NEEDS_REAUTH
    assert lost.last_error is not None
    assert "invalid_grant" in lost.last_error

    again = consent_over_http(http, onboarding.new_link(customer).url, login)

    assert again.status_code == 200
    restored = control.tokens.info(customer.id)
    assert restored is not None
    assert (restored.status, restored.last_error) == (TokenStatus.CONNECTED, None)
    assert login_seen_by_api(control, customer.id) == login
