"""The reporting warehouse's tables and views, as DDL for DuckDB and PostgreSQL.

One column list is the single source of truth: the DDL, the Arrow schema of a load
(``stats_frames``) and the loader's INSERT all derive from it. ``migrations`` assembles these
pieces into the statements that create a new warehouse or bring an older one forward, and the
backends record ``SCHEMA_VERSION`` in ``warehouse_meta``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

Dialect = Literal["duckdb", "postgresql"]

# Bump when the DDL below changes, and add the step that moves old warehouses forward to
# ``migrations.STEPS``.
# 2: PostgreSQL's (customer_id, day) index covers the report columns; ndistinct statistics.
# 3: the campaign_day_totals summary (filled from the facts once), which the views now read.
# 4: graphic-ad metrics (unique_reach, effective_cpm, attributed_to_core_value; api_cpc
#    nullable), the offers table, the graphic_ad_daily_stats view.
# 5: the ad_type_day_totals summary (filled from the facts once) and load_generations, each
#    customer's load generation (the portal's cache key).
SCHEMA_VERSION = 5

MONEY = pa.decimal128(18, 2)
RATIO = pa.decimal128(18, 4)
INSTANT = pa.timestamp("us", tz="UTC")
AD_TYPES = ("SPONSORED_OFFER", "GRAPHIC_AD")


@dataclass(frozen=True, slots=True)
class Column:
    """A warehouse column: SQL type (same text in both dialects), Arrow type, and what it means
    to an analyst (shown in the Dagster catalog; docs/warehouse.md says it at length)."""

    name: str
    sql_type: str
    arrow_type: pa.DataType
    nullable: bool = False
    doc: str = ""

    def ddl(self) -> str:
        return f"{self.name} {self.sql_type}" + ("" if self.nullable else " NOT NULL")

    def field(self) -> pa.Field:
        return pa.field(self.name, self.arrow_type, nullable=self.nullable)


FACT_COLUMNS: tuple[Column, ...] = (
    Column("customer_id", "VARCHAR", pa.string(), doc="the agency's customer the ad belongs to"),
    Column(
        "ads_client_id",
        "VARCHAR",
        pa.string(),
        doc="Allegro's agency-client id of the customer's advertising account",
    ),
    Column("ad_type", "VARCHAR", pa.string(), doc="SPONSORED_OFFER (promoted offer) or GRAPHIC_AD"),
    Column("campaign_id", "VARCHAR", pa.string(), doc="Allegro campaign id; name in campaigns"),
    Column("ad_group_id", "VARCHAR", pa.string(), doc="Allegro ad-group id; name in ad_groups"),
    Column("ad_id", "VARCHAR", pa.string(), doc="Allegro ad id; name in ads"),
    Column(
        "offer_id",
        "VARCHAR",
        pa.string(),
        nullable=True,
        doc="the promoted Allegro offer (sponsored offers only)",
    ),
    Column("day", "DATE", pa.date32(), doc="reporting day (ALLEGRO_ADS_REPORTING_TIMEZONE)"),
    Column("views", "BIGINT", pa.int64(), doc="ad impressions"),
    Column("clicks", "BIGINT", pa.int64(), doc="clicks on the ad"),
    Column("interest", "BIGINT", pa.int64(), doc="users who showed interest"),
    Column("cost", "DECIMAL(18,2)", MONEY, doc="spend, in currency"),
    Column("attributed_count", "BIGINT", pa.int64(), doc="items sold attributed to the ad"),
    Column("attributed_value", "DECIMAL(18,2)", MONEY, doc="value of those sales, in currency"),
    Column("api_ctr", "DECIMAL(18,4)", RATIO, doc="Allegro's CTR as sent; for checks only"),
    Column(
        "api_cpc",
        "DECIMAL(18,2)",
        MONEY,
        nullable=True,  # NULL on graphic ads
        doc="Allegro's effective CPC as sent; for checks only; NULL on graphic ads",
    ),
    Column("api_roas", "DECIMAL(18,2)", MONEY, doc="Allegro's rate of return as sent; checks"),
    Column("currency", "VARCHAR(3)", pa.string(), doc="ISO code of the money columns"),
    Column(
        "fetched_at",
        "TIMESTAMP WITH TIME ZONE",
        INSTANT,
        doc="when the pipeline fetched the row from Allegro",
    ),
    Column("run_id", "VARCHAR", pa.string(), nullable=True, doc="the Dagster run that loaded it"),
    # Version 4, last so a new warehouse has the column order of an upgraded one (ADD COLUMN
    # appends). Graphic ads only: NULL on sponsored-offer rows.
    Column(
        "unique_reach",
        "BIGINT",
        pa.int64(),
        nullable=True,
        doc="graphic ads: distinct users who saw the ad that day; never sum it",
    ),
    Column(
        "effective_cpm",
        "DECIMAL(18,2)",
        MONEY,
        nullable=True,
        doc="graphic ads: Allegro's cost per thousand views; for checks only",
    ),
    Column(
        "attributed_to_core_value",
        "DECIMAL(18,2)",
        MONEY,
        nullable=True,
        doc="graphic ads: the part of attributed_value on the advertiser's core offers",
    ),
)
# Graphic-ad metrics: NULL on sponsored-offer rows (and on rows loaded before version 4).
GRAPHIC_COLUMNS = ("unique_reach", "effective_cpm", "attributed_to_core_value")
FACT_KEY = ("customer_id", "ad_type", "ad_id", "day")

# A load also carries the names of the hierarchy; they go to the dimension tables, not the facts.
NAME_COLUMNS: tuple[Column, ...] = (
    Column("campaign_name", "VARCHAR", pa.string()),
    Column("ad_group_name", "VARCHAR", pa.string()),
    Column("ad_name", "VARCHAR", pa.string()),
)
LOAD_COLUMNS = FACT_COLUMNS + NAME_COLUMNS

FACT_SCHEMA = pa.schema([c.field() for c in FACT_COLUMNS])
LOAD_SCHEMA = pa.schema([c.field() for c in LOAD_COLUMNS])

MONEY_COLUMNS = ("cost", "attributed_value", "attributed_to_core_value")
# The base metrics every row has: summed, 0 when there is nothing to sum.
METRIC_COLUMNS = (
    "views",
    "clicks",
    "interest",
    "cost",
    "attributed_count",
    "attributed_value",
)
# Additive metrics only some rows have (graphic ads): summed, NULL when no row has one, so a
# sponsored-offer campaign shows "none" rather than 0. ``unique_reach`` is deliberately not
# here: distinct users per day cannot be added across days or ads (see docs/warehouse.md).
OPTIONAL_METRIC_COLUMNS = ("attributed_to_core_value",)


def ratio_sql(
    dialect: Dialect,
    numerator: str,
    denominator: str,
    *,
    numerator_scale: int,
    denominator_scale: int,
    scale: int,
    factor: int = 1,
) -> str:
    """SQL for numerator * factor / denominator as DECIMAL(18, scale), rounded half away from
    zero.

    NULL when the denominator is 0 or NULL. The ``*_scale`` arguments are the decimal places of
    the operands (0 for counts, 2 for money); ``factor`` scales the result (1000 for a CPM).
    """
    if dialect == "postgresql":
        scaled = f"CAST({numerator} AS NUMERIC)" + (f" * {factor}" if factor != 1 else "")
        return f"CAST(ROUND({scaled} / NULLIF({denominator}, 0), {scale}) AS DECIMAL(18,{scale}))"
    # DuckDB divides decimals in floating point; stay exact with 128-bit integers:
    # ratio * 10^scale = (N * 10^(ds + scale)) / (D * 10^ns), N and D the operands as integers.
    top = (
        f"CAST(({numerator}) * {10**numerator_scale} AS HUGEINT)"
        f" * {10 ** (denominator_scale + scale) * factor}"
    )
    bottom = (
        f"NULLIF(CAST(({denominator}) * {10**denominator_scale} AS HUGEINT), 0)"
        f" * {10**numerator_scale}"
    )
    rounded = (
        f"((2 * ABS({top}) + ABS({bottom})) // (2 * ABS({bottom}))) * SIGN({top}) * SIGN({bottom})"
    )
    unit = f"0.{'0' * (scale - 1)}1" if scale > 0 else "1"
    return f"CAST(({rounded}) * {unit} AS DECIMAL(18,{scale}))"


@dataclass(frozen=True, slots=True)
class Ratio:
    """A derived ratio: its operands, their decimal places, and the places of the result."""

    numerator: str
    denominator: str
    numerator_scale: int
    denominator_scale: int
    scale: int
    factor: int = 1


RATIOS: dict[str, Ratio] = {
    "ctr": Ratio("clicks", "views", 0, 0, 4),
    "cpc": Ratio("cost", "clicks", 2, 0, 2),
    "roas": Ratio("attributed_value", "cost", 2, 2, 2),
    "cpm": Ratio("cost", "views", 2, 0, 2, factor=1000),  # cost per thousand views
}
# Allegro's own value of each ratio, kept on the facts for checks (NULL where the ad type has
# none: graphic ads have no effective CPC, sponsored offers no effective CPM).
API_RATIOS = {"ctr": "api_ctr", "cpc": "api_cpc", "roas": "api_roas", "cpm": "effective_cpm"}


def ratio_columns_sql(dialect: Dialect, source: str) -> dict[str, str]:
    """``{"ctr": sql, "cpc": sql, "roas": sql, "cpm": sql}`` from ``source``'s (summed) metrics."""
    return {
        name: ratio_sql(
            dialect,
            f"{source}.{ratio.numerator}",
            f"{source}.{ratio.denominator}",
            numerator_scale=ratio.numerator_scale,
            denominator_scale=ratio.denominator_scale,
            scale=ratio.scale,
            factor=ratio.factor,
        )
        for name, ratio in RATIOS.items()
    }


def ratios_sql(dialect: Dialect, source: str) -> str:
    """``ctr, cpc, roas, cpm`` select-list items computed from ``source``'s (summed) metrics."""
    return ", ".join(f"{sql} AS {name}" for name, sql in ratio_columns_sql(dialect, source).items())


def metric_sql_type(name: str) -> str:
    """The SQL type of a base metric: DECIMAL(18,2) for money, BIGINT for counts."""
    return "DECIMAL(18,2)" if name in MONEY_COLUMNS else "BIGINT"


def summed_metrics_sql() -> str:
    """SUMs of the base metrics, typed the same in both dialects (0 for no rows), then of the
    optional ones (NULL when no row has one)."""
    return ", ".join(
        [
            *(
                f"CAST(COALESCE(SUM({name}), 0) AS {metric_sql_type(name)}) AS {name}"
                for name in METRIC_COLUMNS
            ),
            *(
                f"CAST(SUM({name}) AS {metric_sql_type(name)}) AS {name}"
                for name in OPTIONAL_METRIC_COLUMNS
            ),
        ]
    )


def fact_table_ddl() -> str:
    columns = ",\n    ".join(c.ddl() for c in FACT_COLUMNS)
    ad_types = ", ".join(f"'{t}'" for t in AD_TYPES)
    return (
        "CREATE TABLE IF NOT EXISTS ad_daily_stats (\n    "
        f"{columns},\n"
        f"    PRIMARY KEY ({', '.join(FACT_KEY)}),\n"
        f"    CHECK (ad_type IN ({ad_types}))\n)"
    )


DIMENSIONS_DDL = (
    """CREATE TABLE IF NOT EXISTS campaigns (
    customer_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    ad_type VARCHAR,
    first_seen_day DATE NOT NULL,
    last_seen_day DATE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (customer_id, campaign_id)
)""",
    """CREATE TABLE IF NOT EXISTS ad_groups (
    customer_id VARCHAR NOT NULL,
    ad_group_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    first_seen_day DATE NOT NULL,
    last_seen_day DATE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (customer_id, ad_group_id)
)""",
    """CREATE TABLE IF NOT EXISTS ads (
    customer_id VARCHAR NOT NULL,
    ad_type VARCHAR NOT NULL,
    ad_id VARCHAR NOT NULL,
    ad_group_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    offer_id VARCHAR,
    name VARCHAR NOT NULL,
    first_seen_day DATE NOT NULL,
    last_seen_day DATE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (customer_id, ad_type, ad_id)
)""",
    """CREATE TABLE IF NOT EXISTS load_log (
    customer_id VARCHAR NOT NULL,
    day DATE NOT NULL,
    run_id VARCHAR,
    fetched_at TIMESTAMP WITH TIME ZONE NOT NULL,
    rows BIGINT NOT NULL,
    PRIMARY KEY (customer_id, day)
)""",
)

META_DDL = """CREATE TABLE IF NOT EXISTS warehouse_meta (
    key VARCHAR NOT NULL PRIMARY KEY,
    value VARCHAR NOT NULL
)"""


# The facts summed per campaign and day: what every report and both views read (a 50-customer,
# 90-day report sums ~30k rows here instead of ~1.7M facts). The loader keeps it in step with
# the facts inside each load's transaction; the facts stay the source of truth (see
# ``stats_queries.summary_mismatches``).
SUMMARY_TABLE = "campaign_day_totals"
SUMMARY_KEY = ("customer_id", "campaign_id", "day")
SUMMARY_GROUP = ("customer_id", "campaign_id", "day", "currency")


def summary_sql_type(name: str) -> str:
    """The SQL type of a metric in the summary: money is DECIMAL(38,2), so any sum of facts
    fits and a load never fails on it (readers narrow it to DECIMAL(18,2), as the views did)."""
    return "DECIMAL(38,2)" if name in MONEY_COLUMNS else "BIGINT"


def summary_table_ddl() -> str:
    metrics = ",\n    ".join(
        [
            *(f"{name} {summary_sql_type(name)} NOT NULL" for name in METRIC_COLUMNS),
            *(f"{name} {summary_sql_type(name)}" for name in OPTIONAL_METRIC_COLUMNS),
        ]
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {SUMMARY_TABLE} (\n"
        "    customer_id VARCHAR NOT NULL,\n"
        "    campaign_id VARCHAR NOT NULL,\n"
        "    day DATE NOT NULL,\n"
        "    currency VARCHAR(3) NOT NULL,\n"
        f"    {metrics},\n"
        f"    PRIMARY KEY ({', '.join(SUMMARY_KEY)})\n)"
    )


SUMMARY_METRICS = (*METRIC_COLUMNS, *OPTIONAL_METRIC_COLUMNS)


def summary_sums_sql() -> str:
    """SUMs of the metrics typed as the summary's columns (base metrics 0 for no rows, optional
    ones NULL when no row has one)."""
    return ", ".join(
        [
            *(
                f"CAST(COALESCE(SUM({name}), 0) AS {summary_sql_type(name)}) AS {name}"
                for name in METRIC_COLUMNS
            ),
            *(
                f"CAST(SUM({name}) AS {summary_sql_type(name)}) AS {name}"
                for name in OPTIONAL_METRIC_COLUMNS
            ),
        ]
    )


def summary_insert_sql(where: str) -> str:
    """INSERT INTO the summary the facts matching ``where``, summed per campaign and day."""
    columns = ", ".join((*SUMMARY_GROUP, *SUMMARY_METRICS))
    group = ", ".join(SUMMARY_GROUP)
    return (
        f"INSERT INTO {SUMMARY_TABLE} ({columns})\n"
        f"SELECT {group}, {summary_sums_sql()}\n"
        f"FROM ad_daily_stats WHERE {where}\n"
        f"GROUP BY {group}"
    )


VIEWS = ("campaign_daily_stats", "customer_daily_stats", "graphic_ad_daily_stats")


def views_ddl(dialect: Dialect) -> list[str]:
    """Drop and recreate every view (they hold no data; a migration step recreates them)."""
    # S608: every piece below is a constant of this module, nothing comes from outside.
    summed = ", ".join("t." + m for m in SUMMARY_METRICS)
    campaign_daily = f"""CREATE VIEW campaign_daily_stats AS
SELECT t.customer_id, t.campaign_id, c.name AS campaign_name, t.day, t.currency,
       {summed},
       {ratios_sql(dialect, "t")}
FROM (
    SELECT customer_id, campaign_id, day, currency,
           {", ".join(f"CAST({m} AS {metric_sql_type(m)}) AS {m}" for m in SUMMARY_METRICS)}
    FROM {SUMMARY_TABLE}
) AS t
LEFT JOIN campaigns AS c ON c.customer_id = t.customer_id AND c.campaign_id = t.campaign_id"""  # noqa: S608
    customer_daily = f"""CREATE VIEW customer_daily_stats AS
SELECT t.customer_id, t.day, t.currency,
       {summed},
       {ratios_sql(dialect, "t")}
FROM (
    SELECT customer_id, day, currency, {summed_metrics_sql()}
    FROM {SUMMARY_TABLE}
    GROUP BY customer_id, day, currency
) AS t"""  # noqa: S608
    # One graphic ad on one day: the only view with unique_reach, which is per ad and day and
    # never added up (the campaign and customer views above sum across ads, so they leave it out).
    graphic_daily = f"""CREATE VIEW graphic_ad_daily_stats AS
SELECT f.customer_id, f.campaign_id, c.name AS campaign_name, f.ad_group_id,
       g.name AS ad_group_name, f.ad_id, a.name AS ad_name, f.day, f.currency,
       {", ".join("f." + m for m in SUMMARY_METRICS)}, f.unique_reach,
       {ratios_sql(dialect, "f")}, f.effective_cpm, f.fetched_at
FROM ad_daily_stats AS f
LEFT JOIN campaigns AS c ON c.customer_id = f.customer_id AND c.campaign_id = f.campaign_id
LEFT JOIN ad_groups AS g ON g.customer_id = f.customer_id AND g.ad_group_id = f.ad_group_id
LEFT JOIN ads AS a
    ON a.customer_id = f.customer_id AND a.ad_type = f.ad_type AND a.ad_id = f.ad_id
WHERE f.ad_type = 'GRAPHIC_AD'"""  # noqa: S608
    return [
        *(f"DROP VIEW IF EXISTS {view}" for view in VIEWS),
        campaign_daily,
        customer_daily,
        graphic_daily,
    ]


# What the portal's reports read besides the key: with these in the index, PostgreSQL answers
# "these customers, these days" by an index-only scan. The bare (customer_id, day) index of
# version 1 was not even chosen (50 of 200 customers x 90 days ran as a 2-4 s sequential scan
# of 7.6M rows); the covering one takes 0.2-0.6 s, for about 18% slower first loads.
REPORT_INDEX_INCLUDES = ("campaign_id", "currency", *METRIC_COLUMNS)


def indexes_ddl(dialect: Dialect) -> list[str]:
    if dialect == "duckdb":
        return []  # DuckDB prunes row groups by min/max; an index only slows loads (ART)
    return [
        "DROP INDEX IF EXISTS ad_daily_stats_customer_day",  # version 1, replaced below
        "CREATE INDEX IF NOT EXISTS ad_daily_stats_customer_day_report"
        f" ON ad_daily_stats (customer_id, day) INCLUDE ({', '.join(REPORT_INDEX_INCLUDES)})",
        "CREATE INDEX IF NOT EXISTS ad_daily_stats_day ON ad_daily_stats (day)",
        # The reports ask the summary for "these customers, these days": (customer_id, day)
        # first, the rest included, so PostgreSQL answers by an index-only scan.
        f"CREATE INDEX IF NOT EXISTS {SUMMARY_TABLE}_customer_day"
        f" ON {SUMMARY_TABLE} (customer_id, day) INCLUDE ({', '.join(REPORT_INDEX_INCLUDES)})",
        # Without it the planner multiplies per-column estimates, expects ~200k campaign groups
        # where there are ~300, and sorts (spilling to disk) instead of hashing.
        "CREATE STATISTICS IF NOT EXISTS ad_daily_stats_groups (ndistinct)"
        " ON customer_id, campaign_id, currency, day FROM ad_daily_stats",
    ]


# The facts summed per customer, ad type and day: what the period panels of every report read
# (totals per ad type, the daily trend, the previous period), ~60x fewer rows than the facts.
# ``peak_unique_reach`` is the largest reach of one ad that day: reach is per ad and day and is
# never added up, but the largest of the day's largest is the period's largest.
AD_TYPE_SUMMARY_TABLE = "ad_type_day_totals"
AD_TYPE_SUMMARY_GROUP = ("customer_id", "ad_type", "day", "currency")


def ad_type_summary_table_ddl() -> str:
    metrics = ",\n    ".join(
        [
            *(f"{name} {summary_sql_type(name)} NOT NULL" for name in METRIC_COLUMNS),
            *(f"{name} {summary_sql_type(name)}" for name in OPTIONAL_METRIC_COLUMNS),
        ]
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {AD_TYPE_SUMMARY_TABLE} (\n"
        "    customer_id VARCHAR NOT NULL,\n"
        "    ad_type VARCHAR NOT NULL,\n"
        "    day DATE NOT NULL,\n"
        "    currency VARCHAR(3) NOT NULL,\n"
        f"    {metrics},\n"
        "    peak_unique_reach BIGINT,\n"
        f"    PRIMARY KEY ({', '.join(AD_TYPE_SUMMARY_GROUP)})\n)"
    )


def ad_type_summary_insert_sql(where: str) -> str:
    """INSERT INTO the ad-type summary the facts matching ``where``, summed per customer, ad
    type and day (reach: the day's largest)."""
    columns = ", ".join((*AD_TYPE_SUMMARY_GROUP, *SUMMARY_METRICS, "peak_unique_reach"))
    group = ", ".join(AD_TYPE_SUMMARY_GROUP)
    return (
        f"INSERT INTO {AD_TYPE_SUMMARY_TABLE} ({columns})\n"
        f"SELECT {group}, {summary_sums_sql()}, CAST(MAX(unique_reach) AS BIGINT)\n"
        f"FROM ad_daily_stats WHERE {where}\n"
        f"GROUP BY {group}"
    )


# Each customer's load generation: a new random value written by every load of its statistics
# or offers in the load's own transaction. A report over some customers is unchanged exactly
# while their generations are, so the portal keys its cache on them. Random, not a counter: a
# warehouse restored from an older copy would count up again through values the portal has
# already seen, with other data behind them. A customer never loaded has no row (0).
LOAD_GENERATIONS_TABLE = "load_generations"
LOAD_GENERATIONS_DDL = f"""CREATE TABLE IF NOT EXISTS {LOAD_GENERATIONS_TABLE} (
    customer_id VARCHAR NOT NULL PRIMARY KEY,
    generation BIGINT NOT NULL
)"""
NEW_LOAD_GENERATION = f"""INSERT INTO {LOAD_GENERATIONS_TABLE} (customer_id, generation)
VALUES (CAST($customer_id AS VARCHAR), CAST($generation AS BIGINT))
ON CONFLICT (customer_id) DO UPDATE SET generation = EXCLUDED.generation"""  # noqa: S608


def stats_tables_ddl(dialect: Dialect) -> list[str]:
    """CREATE statements of the metadata, facts, dimensions and summary tables and their
    indexes, as of ``SCHEMA_VERSION`` (idempotent; ``migrations`` adds the offers and views)."""
    return [
        META_DDL,
        fact_table_ddl(),
        *DIMENSIONS_DDL,
        summary_table_ddl(),
        ad_type_summary_table_ddl(),
        LOAD_GENERATIONS_DDL,
        *indexes_ddl(dialect),
    ]


SELECT_SCHEMA_VERSION = "SELECT value FROM warehouse_meta WHERE key = 'schema_version'"
DELETE_SCHEMA_VERSION = "DELETE FROM warehouse_meta WHERE key = 'schema_version'"


def insert_schema_version(version: int) -> str:
    """The statement recording ``version`` (after ``DELETE_SCHEMA_VERSION``)."""
    return f"INSERT INTO warehouse_meta (key, value) VALUES ('schema_version', '{int(version)}')"  # noqa: S608


class SchemaVersionError(RuntimeError):
    """The warehouse was created by a newer version of this code."""


def schema_outdated(found: int | None) -> bool:
    """True if the schema must be created or brought forward; raises if it is newer than us."""
    if found is None or found < SCHEMA_VERSION:
        return True
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the warehouse has schema version {found} but this code knows only up to "
            f"{SCHEMA_VERSION}; upgrade allegro-ads-manager before using this warehouse"
        )
    return False
