"""The local instance's event log: a single-run backfill's per-partition events are written in
one transaction per file, and the instance knows exactly what Dagster's own storage would."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.instance.ref import InstanceRef

from allegro_ads.dagster_home import ensure_dagster_home
from pipelines.event_storage import (
    BATCH_SIZE,
    BatchedSqliteEventLogStorage,
    enable_batched_event_writes,
    local_storage_yaml,
)
from pipelines.partitions import range_tags
from tests.pipelines.fixtures import FAST_TMP

FIRST_DAY = date(2026, 1, 1)
DAYS = 40
PARTITIONS = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), end_offset=0)
KEY = dg.AssetKey("daily")


class CountingStorage(BatchedSqliteEventLogStorage):
    """Counts the transactions opened on each database file."""

    transactions: dict[str, int] = {}

    def _connect(self, shard: str) -> Any:
        CountingStorage.transactions[shard] = CountingStorage.transactions.get(shard, 0) + 1
        return super()._connect(shard)


@pytest.fixture
def batched_instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance on the local instance's storage, as the demo writes it."""
    with tempfile.TemporaryDirectory(dir=FAST_TMP, ignore_cleanup_errors=True) as home:
        overrides = yaml.safe_load(local_storage_yaml(Path(home)))
        overrides["event_log_storage"]["module"] = __name__
        overrides["event_log_storage"]["class"] = CountingStorage.__name__
        CountingStorage.transactions = {}
        with dg.instance_for_test(overrides=overrides, temp_dir=home) as instance:
            yield instance


def backfill(instance: dg.DagsterInstance, *, fail: bool = False) -> dg.ExecuteInProcessResult:
    """One single-run backfill over DAYS daily partitions (raising in the asset if ``fail``)."""

    @dg.asset(partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run())
    def daily() -> dg.MaterializeResult:  # type: ignore[type-arg]
        if fail:
            raise RuntimeError("the fetch failed")
        return dg.MaterializeResult(metadata={"rows": 7})

    job = dg.Definitions(
        assets=[daily], jobs=[dg.define_asset_job("daily_job", selection=[daily])]
    ).resolve_job_def("daily_job")
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    return job.execute_in_process(
        instance=instance, tags=range_tags(FIRST_DAY, last), raise_on_error=False
    )


def test_a_backfill_writes_its_partitions_materialisations_in_one_transaction_per_file(
    batched_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    result = backfill(batched_instance)

    assert result.success
    run_file_transactions = CountingStorage.transactions[result.run_id]
    # run start/success, step events, logs: a few dozen; one per partition event would be 80+.
    assert run_file_transactions < DAYS, CountingStorage.transactions


def test_every_partition_of_a_batched_backfill_is_materialised_with_its_metadata(
    batched_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    backfill(batched_instance)

    expected = {(FIRST_DAY + timedelta(days=i)).isoformat() for i in range(DAYS)}
    assert batched_instance.get_materialized_partitions(KEY) == expected
    records = batched_instance.fetch_materializations(KEY, limit=DAYS + 1).records
    assert len(records) == DAYS
    assert {record.partition_key for record in records} == expected
    assert all(record.asset_materialization.metadata["rows"].value == 7 for record in records)  # type: ignore[union-attr]


def test_a_failed_batched_backfill_leaves_every_partition_planned_and_unmaterialised(
    batched_instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the UI marks as failed partitions: planned by the failed run, never materialised."""
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    result = backfill(batched_instance, fail=True)

    assert not result.success
    storage = batched_instance.event_log_storage
    attempts = storage.get_latest_asset_partition_materialization_attempts_without_materializations(
        KEY
    )
    assert len(attempts) == DAYS
    assert {run_id for run_id, _ in attempts.values()} == {result.run_id}


def test_the_demos_local_instance_uses_the_batched_event_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = ensure_dagster_home(tmp_path)

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
        assert Path(instance.event_log_storage._base_dir) == home / "history" / "runs"


def test_loading_the_definitions_turns_batched_event_writes_on_unless_the_environment_decides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    enable_batched_event_writes()
    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == str(BATCH_SIZE)

    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
    enable_batched_event_writes()
    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == "0"


CHECK = "positive"


@pytest.fixture
def dagster_own_instance() -> Iterator[dg.DagsterInstance]:
    """The same local layout on Dagster's own SQLite event log: what the batched one must equal."""
    with tempfile.TemporaryDirectory(dir=FAST_TMP, ignore_cleanup_errors=True) as home:
        overrides = yaml.safe_load(local_storage_yaml(Path(home)))
        overrides["event_log_storage"]["module"] = "dagster._core.storage.event_log"
        overrides["event_log_storage"]["class"] = "SqliteEventLogStorage"
        with dg.instance_for_test(overrides=overrides, temp_dir=home) as instance:
            yield instance


def checked_backfill(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """One single-run backfill over DAYS partitions of an asset with a check, as ours have."""

    @dg.asset(
        partitions_def=PARTITIONS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=[dg.AssetCheckSpec(CHECK, asset="daily")],
    )
    def daily() -> dg.MaterializeResult:  # type: ignore[type-arg]
        return dg.MaterializeResult(
            metadata={"rows": 7}, check_results=[dg.AssetCheckResult(check_name=CHECK, passed=True)]
        )

    job = dg.Definitions(
        assets=[daily], jobs=[dg.define_asset_job("daily_job", selection=[daily])]
    ).resolve_job_def("daily_job")
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    return job.execute_in_process(instance=instance, tags=range_tags(FIRST_DAY, last))


def what_the_instance_knows(instance: dg.DagsterInstance, run_id: str) -> dict[str, Any]:
    """The asset's cross-run entry and its check's executions, free of storage ids."""
    entry = instance.get_asset_records([KEY])[0].asset_entry
    latest = entry.last_materialization_record
    history = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(KEY, CHECK), limit=10 * DAYS
    )
    return {
        "last_run_is_this_run": entry.last_run_id == run_id,
        "last_materialization": (
            latest.partition_key if latest else None,
            latest.run_id == run_id if latest else None,
        ),
        "materialized": sorted(instance.get_materialized_partitions(KEY)),
        "check_executions": sorted(
            (record.partition or "", record.status.value, record.run_id == run_id)
            for record in history
        ),
    }


def test_a_checked_backfill_leaves_the_instance_knowing_what_dagsters_own_storage_would(
    batched_instance: dg.DagsterInstance,
    dagster_own_instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Planned checks (a row per partition, the event serialised once) and the asset's entry
    (written once per batch) come out as Dagster writes them one event at a time."""
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    ours = checked_backfill(batched_instance)
    theirs = checked_backfill(dagster_own_instance)

    known = what_the_instance_knows(batched_instance, ours.run_id)
    assert known == what_the_instance_knows(dagster_own_instance, theirs.run_id)
    assert len(known["check_executions"]) > DAYS  # a planned row per partition, then the result
    last_day = (FIRST_DAY + timedelta(days=DAYS - 1)).isoformat()
    assert known["last_materialization"] == (last_day, True)
