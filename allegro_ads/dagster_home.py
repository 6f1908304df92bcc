"""The local Dagster instance folder under the data folder (demo, ``allegro-ads ui``)."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.event_storage import local_storage_yaml

# Local instance: SQLite storage in the folder itself. One writer at a time in the warehouse
# pool (DuckDB allows one writing process); no telemetry from a tool run on customer data. The
# event log is Dagster's SQLite layout written in batches (``local_storage_yaml``).
LOCAL_DAGSTER_YAML = """\
# Written by allegro-ads for local use; production uses deploy/dagster.yaml.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 4
"""


def ensure_dagster_home(data_dir: Path) -> Path:
    """Create ``data_dir/dagster_home`` with a dagster.yaml if needed; set ``DAGSTER_HOME``."""
    home = (data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_DAGSTER_YAML + local_storage_yaml(home))
    os.environ["DAGSTER_HOME"] = str(home)
    return home
