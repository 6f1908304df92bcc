"""Run configuration of the statistics asset (set in the launchpad or by sensors)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field


class StatsRunConfig(dg.Config):
    """Limit a run to some customers, e.g. to repair just the one that failed."""

    customers: list[str] = Field(
        default_factory=list,
        description="Customer ids or names; empty means every connected customer.",
    )
