"""A report's campaign table as a file, the one format the portal's export and the report
e-mails share: campaign rows (then one row per customer that could not be covered) as CSV or
Parquet, decimals exact. CSV text cells that a spreadsheet would run as a formula are prefixed
with an apostrophe."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

MONEY = pa.decimal128(18, 2)
RATIO = pa.decimal128(18, 4)
CAMPAIGN_EXPORT_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("customer_name", pa.string()),
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("currency", pa.string()),
        ("views", pa.int64()),
        ("clicks", pa.int64()),
        ("ctr", RATIO),
        ("cost", MONEY),
        ("cpc", MONEY),
        ("attributed_count", pa.int64()),
        ("attributed_value", MONEY),
        ("roas", MONEY),
        ("error", pa.string()),
    ]
)
TEXT_COLUMNS = ("customer_id", "customer_name", "campaign_id", "campaign_name", "error")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def campaign_export_table(records: Iterable[Mapping[str, object]]) -> pa.Table:
    """Rows with the export's columns (missing ones empty), in the order given."""
    names = CAMPAIGN_EXPORT_SCHEMA.names
    rows = [{name: record.get(name) for name in names} for record in records]
    return pa.Table.from_pylist(rows, schema=CAMPAIGN_EXPORT_SCHEMA)


def csv_bytes(table: pa.Table) -> bytes:
    """The table as UTF-8 CSV with a header; formula-like text cells defused."""
    buffer = io.BytesIO()
    pacsv.write_csv(_formula_safe(table), buffer)
    return buffer.getvalue()


def parquet_bytes(table: pa.Table) -> bytes:
    """The table as Parquet (decimals as decimal128)."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def safe_filename(name: str) -> str:
    """Letters, digits, dot, dash and underscore only; never empty, never hidden."""
    cleaned = _UNSAFE_FILENAME.sub("_", name).strip("._") or "export"
    return cleaned[:120]


def _formula_safe(table: pa.Table) -> pa.Table:
    for name in TEXT_COLUMNS:
        values = [_neutralise(value) for value in table.column(name).to_pylist()]
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pa.array(values, pa.string()))
    return table


def _neutralise(value: str | None) -> str | None:
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value
