"""The token manager and the consent flow against the simulator, over real HTTP.

The concurrency test spawns eight processes that ask for the same account's token (a
customer's sales account, then an agency account) just after it expired: Allegro (the
simulator) must see exactly one refresh.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from allegro_resource.errors import NeedsReauthorization
from allegro_resource.models import TokenSet
from allegro_resource.token_manager import TokenManager
from control_store import agency_accounts, auth_links, customers
from control_store.account_kind import AccountKind
from control_store.auth_links import LinkUnusable, StateUnusable
from control_store.database import upgrade
from control_store.token_store import TokenStore
from services.consent import begin_consent, finish_consent
from services.control import open_control
from services.links import issue_link
from testing.simulated_consent import token_from_url
from tests.control.control_helpers import approve, consent, me_status, sim_oauth, token_worker

PROCESSES = 8
MARGIN_SECONDS = 1


def _refreshes(sim: Any) -> tuple[int, int]:
    stats = sim.stats()
    return int(stats["refreshes_ok"]), int(stats["refreshes_failed"])


def _connect(kind: AccountKind, sim: Any, store: TokenStore) -> tuple[str, TokenSet]:
    """A connected account of that kind (a customer's sales account or an agency account),
    stored as expired a second ago: what waiting out its lifetime would leave. The new pair then
    lives for hours, so using it never races its expiry on a slow machine."""
    if kind is AccountKind.SALES:
        account_id = customers.create_customer(store.engine, "Wyścig").id
        tokens = consent(sim.base_url, "seller01")
        store.save_consent(account_id, _expired(tokens), allegro_login="seller01")
        return account_id, tokens
    agency = sim.agency()
    account_id = agency_accounts.create_agency_account(store.engine, "Agencja").id
    tokens = consent(sim.base_url, agency["login"])
    store.save_agency_connection(
        account_id,
        _expired(tokens),
        allegro_login=agency["login"],
        allegro_user_id=agency["user_id"],
    )
    return account_id, tokens


def _expired(tokens: TokenSet) -> TokenSet:
    return dataclasses.replace(tokens, expires_at=datetime.now(UTC) - timedelta(seconds=1))


@pytest.mark.parametrize("kind", list(AccountKind))
def test_eight_processes_refresh_an_expired_token_exactly_once(
    control_url: str,
    token_store: TokenStore,
    fernet_key: str,
    simulator_factory: Callable[..., Any],
    kind: AccountKind,
) -> None:
    sim = simulator_factory()
    account_id, tokens = _connect(kind, sim, token_store)

    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(PROCESSES + 1)
    results = spawn.Queue()
    workers = [
        spawn.Process(
            target=token_worker,
            args=(
                control_url,
                [fernet_key],
                sim.base_url,
                account_id,
                MARGIN_SECONDS,
                barrier,
                results,
            ),
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        before = _refreshes(sim)
        barrier.wait(timeout=120)  # all eight are ready; the token has just expired
        outcomes = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()

    assert [o[0] for o in outcomes] == ["ok"] * PROCESSES, outcomes
    after = _refreshes(sim)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 0)  # one refresh, no invalid_grant
    assert len({o[1] for o in outcomes}) == 1  # everyone got the same, new token
    assert [o[2] for o in outcomes] == [200] * PROCESSES  # and it works on GET /me
    stored = token_store.read(account_id)
    assert stored is not None and stored.access_token != tokens.access_token


def test_revoked_consent_marks_that_customer_needs_reauth_and_leaves_others_connected(
    engine: Engine, token_store: TokenStore, simulator: Any
) -> None:
    gone = customers.create_customer(engine, "Wycofany").id
    stays = customers.create_customer(engine, "Zostaje").id
    token_store.save_consent(gone, consent(simulator.base_url, "seller01"))
    token_store.save_consent(stays, consent(simulator.base_url, "seller02"))
    simulator.revoke("seller01")
    oauth = sim_oauth(simulator.base_url)
    manager = TokenManager(token_store, oauth)

    with pytest.raises(NeedsReauthorization) as refused:
        manager.access_token(gone, force_refresh=True)
    assert refused.value.customer_id == gone
    info = token_store.info(gone)
    assert info is not None and info.status == "needs_reauth"
    assert info.last_error is not None and "invalid_grant" in info.last_error

    fresh = manager.access_token(stays, force_refresh=True)
    assert me_status(simulator.base_url, fresh) == 200
    assert token_store.info(stays).status == "connected"  # type: ignore[union-attr]
    oauth.close()


def test_the_consent_flow_binds_the_account_stores_tokens_and_uses_up_the_link(
    control_url: str, simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLEGRO_ADS_CONTROL_URL", control_url)
    monkeypatch.setenv("ALLEGRO_ADS_AUTH_URL", simulator.base_url)
    monkeypatch.setenv("ALLEGRO_ADS_API_URL", simulator.base_url)
    upgrade(control_url)
    oauth = sim_oauth(simulator.base_url)
    with open_control() as control:
        customer = customers.create_customer(control.engine, "Zgoda")
        issued = issue_link(control, customer.id)
        authorize_url = begin_consent(control, oauth, token_from_url(issued.url))
        code, state = approve(authorize_url, "seller04")

        connected = finish_consent(control, oauth, state=state, code=code)

        assert connected.id == customer.id and connected.allegro_login == "seller04"
        assert connected.allegro_user_id
        stored = control.tokens.read(customer.id)
        assert stored is not None and me_status(simulator.base_url, stored.access_token) == 200
        link = auth_links.get_link(control.engine, issued.link.id)
        assert link is not None and link.state() is auth_links.LinkState.USED
        with pytest.raises(StateUnusable):  # the callback cannot be replayed
            finish_consent(control, oauth, state=state, code=code)
        with pytest.raises(LinkUnusable, match="already used"):
            begin_consent(control, oauth, token_from_url(issued.url))
    oauth.close()


def test_tokens_refresh_command_refreshes_against_allegro(
    simulator: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from allegro_ads.cli import main

    monkeypatch.setenv("ALLEGRO_ADS_AUTH_URL", simulator.base_url)
    assert main(["db", "upgrade"]) == 0
    with open_control() as control:
        cid = customers.create_customer(control.engine, "Odświeżany").id
        tokens = consent(simulator.base_url, "seller05")
        control.tokens.save_consent(cid, tokens, allegro_login="seller05")
        before = _refreshes(simulator)
        assert main(["tokens", "refresh", "Odświeżany"]) == 0
        assert _refreshes(simulator)[0] == before[0] + 1
        stored = control.tokens.read(cid)
    out = capsys.readouterr().out
    assert "refreshed Odświeżany" in out
    assert stored is not None and stored.access_token != tokens.access_token
    assert stored.access_token not in out and tokens.refresh_token not in out
