"""The two kinds of Allegro account the control store holds tokens for."""

from __future__ import annotations

from enum import StrEnum


class AccountKind(StrEnum):
    """Whose token a connection holds; ids never collide (``c_…`` vs ``ag_…``)."""

    SALES = "sales"  # a customer's own seller account: /me and /sale/offers
    AGENCY = "agency"  # the agency's account: its clients and their statistics
