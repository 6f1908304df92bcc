"""What one signed-in user may see: the single place where customer scope is decided.

Admins see every customer; viewers only the customers of the portfolios granted to them.
Handlers reach customers only through a ``Scope``; an id outside it is a 404, never data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

from sqlalchemy import Engine
from werkzeug.exceptions import NotFound

from control_store.customers import Customer, visible_to
from control_store.portfolios import Portfolio, list_portfolios, portfolio_ids_of
from control_store.users import User

NOT_VISIBLE = "There is no such customer among yours. Pick one from the Customers page."
PORTFOLIO_NOT_VISIBLE = "There is no such portfolio among yours. Pick one from the list."
ADMINS_ONLY = "This page is for admins. Ask an admin if you need something changed."


class Scope:
    """The customers visible to ``user``, read once per request."""

    def __init__(self, engine: Engine, user: User) -> None:
        self.engine = engine
        self.user = user

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin

    @cached_property
    def customers(self) -> list[Customer]:
        """Every visible customer (active or not), by name."""
        return visible_to(self.engine, self.user)

    @cached_property
    def _by_id(self) -> dict[str, Customer]:
        return {customer.id: customer for customer in self.customers}

    def customer_ids(self) -> list[str]:
        return list(self._by_id)

    def require(self, customer_id: str) -> Customer:
        """The visible customer with this id; a 404 for any other id."""
        found = self._by_id.get(customer_id)
        if found is None:
            raise NotFound(NOT_VISIBLE)
        return found

    @cached_property
    def portfolios(self) -> list[Portfolio]:
        """The portfolios whose customers the user sees (all for admins), by name."""
        every = list_portfolios(self.engine)
        if self.is_admin:
            return every
        granted = set(portfolio_ids_of(self.engine, self.user.id))
        return [portfolio for portfolio in every if portfolio.id in granted]

    def require_portfolio(self, portfolio_id: str) -> Portfolio:
        """The visible portfolio with this id; a 404 for any other id."""
        found = next((p for p in self.portfolios if p.id == portfolio_id), None)
        if found is None:
            raise NotFound(PORTFOLIO_NOT_VISIBLE)
        return found

    def select(self, requested: Sequence[str], portfolio_ids: Sequence[str] = ()) -> list[Customer]:
        """The requested customers and those of the requested portfolios, by name (all visible
        ones when nothing is named); 404 for any customer or portfolio outside the scope."""
        if not requested and not portfolio_ids:
            return list(self.customers)
        named = {self.require(customer_id).id for customer_id in _unique(requested)}
        portfolios = {self.require_portfolio(p).id for p in _unique(portfolio_ids)}
        return [c for c in self.customers if c.id in named or c.portfolio_id in portfolios]


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)
