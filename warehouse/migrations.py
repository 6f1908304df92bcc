"""Versioned migrations of the warehouse: what creates a new one and what brings an old one
forward in place, keeping every row.

A new (empty) database gets ``create_statements`` and ``SCHEMA_VERSION`` in one transaction.
An older one is brought forward by ``upgrade_plan``: first, if it is older than version 3, the
frozen version-3 statements (``schema_v3_<dialect>.sql``, idempotent, as version 3 of the code
ran them), then every step of ``STEPS`` above its version, in order. The backends run each
entry of the plan in its own transaction together with the new version number, so a failed
step leaves the warehouse at the previous version with its data intact, and the next open
retries it. A warehouse newer than this code is refused (``stats_schema.schema_outdated``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from warehouse.offers_schema import offers_table_ddl
from warehouse.stats_schema import (
    AD_TYPE_SUMMARY_TABLE,
    DELETE_SCHEMA_VERSION,
    LOAD_GENERATIONS_DDL,
    SCHEMA_VERSION,
    SUMMARY_TABLE,
    Dialect,
    ad_type_summary_insert_sql,
    ad_type_summary_table_ddl,
    insert_schema_version,
    stats_tables_ddl,
    views_ddl,
)

# The oldest version a step of STEPS starts from; older warehouses are first brought to it by
# its frozen statements.
BASELINE_VERSION = 3


@dataclass(frozen=True, slots=True)
class Step:
    """One migration: the statements that take a warehouse from ``version - 1`` to ``version``."""

    version: int
    summary: str
    statements: Callable[[Dialect], list[str]]


def _to_v4(dialect: Dialect) -> list[str]:
    # No data to recompute: every fact stored before version 4 has NULL in the new columns,
    # which is what the load would have written for a sponsored offer, and the summary's new
    # column is the SUM of those NULLs, i.e. NULL. The views, which read the new columns, are
    # recreated after the last step (``upgrade_plan``).
    del dialect  # the same ALTER TABLE text runs on both
    # IF NOT EXISTS: a column added by hand (or by an interrupted manual fix) is no reason to
    # refuse the upgrade.
    added = {
        "ad_daily_stats": (
            ("unique_reach", "BIGINT"),
            ("effective_cpm", "DECIMAL(18,2)"),
            ("attributed_to_core_value", "DECIMAL(18,2)"),
        ),
        SUMMARY_TABLE: (("attributed_to_core_value", "DECIMAL(38,2)"),),
    }
    return [
        *(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {name} {sql_type}"
            for table, columns in added.items()
            for name, sql_type in columns
        ),
        # Graphic ads have no effective CPC.
        "ALTER TABLE ad_daily_stats ALTER COLUMN api_cpc DROP NOT NULL",
        offers_table_ddl(),
    ]


def _to_v5(dialect: Dialect) -> list[str]:
    # The ad-type summary is derived: filled from every fact stored so far (emptied first, so a
    # retried step after a half-filled manual attempt still ends equal to the facts). No
    # customer has a load generation yet: 0 for all, which every cache treats as "not seen".
    del dialect  # the same text runs on both
    return [
        ad_type_summary_table_ddl(),
        f"DELETE FROM {AD_TYPE_SUMMARY_TABLE}",  # noqa: S608 - constants only
        ad_type_summary_insert_sql("TRUE"),
        LOAD_GENERATIONS_DDL,
    ]


STEPS: tuple[Step, ...] = (
    Step(
        4,
        "graphic-ad metrics (unique_reach, effective_cpm, attributed_to_core_value), api_cpc "
        "nullable, the offers table, the graphic_ad_daily_stats view",
        _to_v4,
    ),
    Step(
        5,
        "the ad_type_day_totals summary (filled from the facts) and load_generations",
        _to_v5,
    ),
)
# Views are derived and always the current code's: recreated after the last step.
_LAST_STEP = max(step.version for step in STEPS)
if _LAST_STEP != SCHEMA_VERSION:  # pragma: no cover - caught by any test importing this
    raise RuntimeError(f"no migration step brings a warehouse to version {SCHEMA_VERSION}")


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """Statements to run in one transaction; ``version`` is recorded in the same one."""

    version: int
    statements: list[str]

    def with_version(self) -> list[str]:
        return [*self.statements, DELETE_SCHEMA_VERSION, insert_schema_version(self.version)]


def create_statements(dialect: Dialect) -> list[str]:
    """The statements that bring an empty database to ``SCHEMA_VERSION`` (idempotent)."""
    return [*stats_tables_ddl(dialect), offers_table_ddl(), *views_ddl(dialect)]


def upgrade_plan(found: int | None, dialect: Dialect) -> list[PlannedStep]:
    """What brings a warehouse at version ``found`` (``None``: empty) to ``SCHEMA_VERSION``,
    one transaction per entry; empty when it is current. Call only after ``schema_outdated``
    (which refuses versions newer than this code)."""
    if found is None:
        return [PlannedStep(SCHEMA_VERSION, create_statements(dialect))]
    plan: list[PlannedStep] = []
    if found < BASELINE_VERSION:
        plan.append(PlannedStep(BASELINE_VERSION, version_3_statements(dialect)))
    for step in STEPS:
        if step.version > max(found, BASELINE_VERSION):
            statements = step.statements(dialect)
            if step.version == _LAST_STEP:
                statements = [*statements, *views_ddl(dialect)]
            plan.append(PlannedStep(step.version, statements))
    return plan


def version_3_statements(dialect: Dialect) -> list[str]:
    """The frozen statements of schema version 3: they create a version-3 warehouse, or bring a
    version 1 or 2 one to version 3 (they are idempotent and refill the summary)."""
    return list(_frozen_statements(f"schema_v3_{dialect}.sql"))


@cache
def _frozen_statements(name: str) -> tuple[str, ...]:
    text = resources.files("warehouse").joinpath(name).read_text("utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return tuple(part.strip() for part in body.split("\n;\n") if part.strip())
