"""Agency accounts: created by a unique name, found by id or name, listed, deactivated; bad
input is refused with a clear error and stores nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from control_store import agency_accounts
from control_store.database import Conflict, NotFound


def test_a_new_agency_account_gets_an_ag_id_and_is_active_and_not_connected(
    engine: Engine,
) -> None:
    account = agency_accounts.create_agency_account(engine, "  Agencja   Główna ")
    assert re.fullmatch(r"ag_[a-z2-7]{10}", account.id)
    assert account.name == "Agencja Główna"
    assert account.active and account.allegro_user_id is None and account.allegro_login is None
    assert agency_accounts.get_agency_account(engine, account.id) == account


def test_an_agency_account_is_found_by_id_or_name(engine: Engine) -> None:
    account = agency_accounts.create_agency_account(engine, "Agencja A")
    assert agency_accounts.find_agency_account(engine, account.id) == account
    assert agency_accounts.find_agency_account(engine, "Agencja A") == account


def test_an_unknown_agency_account_names_the_listing_command(engine: Engine) -> None:
    with pytest.raises(NotFound, match="allegro-ads agency list"):
        agency_accounts.find_agency_account(engine, "nobody")
    assert agency_accounts.get_agency_account(engine, "ag_missing") is None


def test_a_duplicate_name_is_refused_and_the_first_account_kept(engine: Engine) -> None:
    first = agency_accounts.create_agency_account(engine, "Agencja")
    with pytest.raises(Conflict, match=f"already exists \\({first.id}\\)"):
        agency_accounts.create_agency_account(engine, " Agencja ")
    assert agency_accounts.list_agency_accounts(engine) == [first]


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_blank_or_too_long_name_is_refused_and_nothing_stored(engine: Engine, name: str) -> None:
    with pytest.raises(ValueError, match="1 to 200 characters"):
        agency_accounts.create_agency_account(engine, name)
    assert agency_accounts.list_agency_accounts(engine) == []


def test_deactivated_accounts_leave_the_active_list_but_are_kept(engine: Engine) -> None:
    kept = agency_accounts.create_agency_account(engine, "B Agencja")
    stopped = agency_accounts.create_agency_account(engine, "A Agencja")
    deactivated = agency_accounts.deactivate_agency_account(engine, "A Agencja")
    assert not deactivated.active and deactivated.id == stopped.id
    assert agency_accounts.list_agency_accounts(engine, active_only=True) == [kept]
    assert [a.name for a in agency_accounts.list_agency_accounts(engine)] == [
        "A Agencja",
        "B Agencja",
    ]
