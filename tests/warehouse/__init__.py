"""Tests of the warehouse: schema, loads, queries, exports, DuckDB across processes."""
