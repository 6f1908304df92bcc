"""What is deployed: the workspace Dagster loads, and the production instance configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml  # type: ignore[import-untyped]
from dagster._core.instance.config import PoolGranularity
from dagster._core.instance.ref import InstanceRef
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator
from dagster_postgres import (
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)

from pipelines.assets import ASSET_NAME, WRITER_POOL
from pipelines.definitions import build_definitions

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def test_dagster_definitions_validate_accepts_the_workspace(
    isolated_settings: Path, tmp_path: Path
) -> None:
    dagster = Path(sys.executable).with_name("dagster")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "ALLEGRO_ADS_DATA_DIR": str(isolated_settings), "DAGSTER_HOME": str(home)}

    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.postgres
def test_the_production_instance_loads_on_postgresql_with_the_queue_retries_and_pools_it_declares(
    dagster_pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared: dict[str, Any] = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_pg_url)
    ref = InstanceRef.from_dir(str(tmp_path), config_dir=str(DEPLOY))

    with dg.DagsterInstance.from_ref(ref) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        concurrency = instance.get_concurrency_config()
        queue = concurrency.run_queue_config
        runs = declared["concurrency"]["runs"]
        assert queue is not None
        assert queue.max_concurrent_runs == runs["max_concurrent_runs"] > 0
        assert list(queue.tag_concurrency_limits) == runs["tag_concurrency_limits"]
        assert queue.tag_concurrency_limits, "at least one tag concurrency limit"
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.pool_config.pool_granularity == PoolGranularity.RUN
        assert not instance.telemetry_enabled

        # The statistics asset's pool gets the default limit the first time it is used.
        asset = build_definitions().resolve_assets_def(ASSET_NAME)
        assert asset.op.pool == WRITER_POOL
        instance.event_log_storage.initialize_concurrency_limit_to_default(WRITER_POOL)
        assert instance.event_log_storage.get_concurrency_info(WRITER_POOL).slot_count == 1
