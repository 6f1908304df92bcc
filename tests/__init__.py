"""The tests, one package per area; shared fixtures in each area's conftest and helpers."""
