"""Dagster's event log on local SQLite files, with a batch of asset events in one transaction.

A single-run backfill over two years records one "planned" and one materialisation event per
daily partition: ~1,460 events. Dagster's SQLite storage writes each in transactions of its own
(a run-file insert, then an index-file transaction), ~13 ms of CPU and two disk syncs apiece,
which cost more than fetching and loading the data. Dagster hands such events over as batches
when ``DAGSTER_EVENT_BATCH_SIZE`` is set (``BATCH_SIZE``, set by ``pipelines.definitions``),
but its SQLite storage still writes them one at a time; this one writes a batch of one run's
asset events in one transaction per file: the same rows, in the same order, with the same
index entries, so the UI's partition status (planned, in progress, failed) is unchanged.

Two more per-partition costs go the same way. Each asset-check planned event of such a run
becomes one ``asset_check_executions`` row per partition, and Dagster serialises the event
anew for every row (730 times each, the same text); here it is serialised once per event. And
every asset event rewrites its asset's ``asset_keys`` row (the last materialisation, run and
timestamp, each materialisation serialised once more for it); here a batch writes each asset's
row once, with the values its last event of each kind would have left.

The local instance (``allegro_ads.dagster_home``, the benchmarks) names it in ``dagster.yaml``
(``local_storage_yaml``); production keeps Dagster's PostgreSQL storage, which writes
materialisation batches in one statement itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy.exc as db_exc
from dagster import EventLogEntry
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationPlanned,
)
from dagster._core.events import ASSET_EVENTS
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetKeyTable,
    SqlEventLogStorageTable,
)
from dagster._serdes import ConfigurableClassData, serialize_value
from sqlalchemy.engine import Connection

BATCH_SIZE = 1000
"""Events per batch write: more than the daily partitions a backfill covers (730), so one
backfill's materialisations are one write."""


def enable_batched_event_writes() -> None:
    """Let Dagster hand asset events to the storage in batches (the instance reads
    ``DAGSTER_EVENT_BATCH_SIZE`` at each event; an explicit setting wins)."""
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(BATCH_SIZE))


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that writes a batch of one run's asset events in one
    transaction per database file instead of one (or two) per event."""

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> BatchedSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        asset_events = [event for event in events if _is_asset_event(event)]
        if len(asset_events) < 2 or len({event.run_id for event in asset_events}) > 1:
            super().store_event_batch(events)  # one at a time, as Dagster does
            return
        self._store_asset_events(asset_events)
        # Anything else in the batch (a run's planned asset checks) as Dagster stores it.
        for event in events:
            if not _is_asset_event(event):
                self.store_event(event)

    def _store_asset_events(self, events: Sequence[EventLogEntry]) -> None:
        """What ``store_event`` does for each asset event, in one transaction per file; the
        rows of each file in one multi-row statement (one compiled insert per event, as Dagster
        builds them, cost more than storing the rows)."""
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:  # one transaction
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        # The cross-run index: the same rows store_event mirrors there, their ids in order.
        returning_ids = SqlEventLogStorageTable.insert().returning(
            SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
        )
        with self.index_transaction() as conn:
            event_ids = [int(row[0]) for row in conn.execute(returning_ids, rows)]
            if len(event_ids) != len(rows):
                raise RuntimeError("the event log did not return every stored event's id")
            self._store_asset_event_tags(conn, events, event_ids)
            self._store_asset_key_rows(conn, events, event_ids)

    def _store_asset_key_rows(
        self, conn: Connection, events: Sequence[EventLogEntry], event_ids: Sequence[int]
    ) -> None:
        """Each asset's ``asset_keys`` row as ``_store_asset_event`` leaves it after ``events``
        in order: an event's values depend only on its kind, so the last event of each kind
        decides every column that kind writes."""
        last: dict[str, dict[str, tuple[int, EventLogEntry, int]]] = {}
        for position, (event, event_id) in enumerate(zip(events, event_ids, strict=True)):
            dagster_event = event.dagster_event
            if dagster_event is None or dagster_event.asset_key is None:
                continue
            kinds = last.setdefault(dagster_event.asset_key.to_string(), {})
            kinds[dagster_event.event_type_value] = (position, event, event_id)
        with_index_cols = self._has_asset_key_index_cols_on_connection(conn)
        for asset_key, kinds in last.items():
            values: dict[str, Any] = {}
            for _, event, event_id in sorted(kinds.values(), key=lambda kind: kind[0]):
                values |= self._get_asset_entry_values(event, event_id, with_index_cols)
            if not values:
                continue
            try:
                conn.execute(AssetKeyTable.insert().values(asset_key=asset_key, **values))
            except db_exc.IntegrityError:
                conn.execute(
                    AssetKeyTable.update()
                    .values(**values)
                    .where(AssetKeyTable.c.asset_key == asset_key)
                )

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        """Dagster's rows (one per planned partition), the event serialised once for all."""
        planned = event.get_dagster_event().event_specific_data
        if not isinstance(planned, AssetCheckEvaluationPlanned):
            raise TypeError(f"not a planned asset check: {event.dagster_event_type}")
        partition_keys = (
            planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        )
        shared = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": _insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.insert(),
                [shared | {"partition": key} for key in partition_keys],
            )


def _insert_timestamp(event: EventLogEntry) -> datetime:
    """The event's time as Dagster's storage writes it: UTC, without a time zone."""
    return datetime.fromtimestamp(event.timestamp, UTC).replace(tzinfo=None)


def _is_asset_event(event: EventLogEntry) -> bool:
    return event.dagster_event is not None and event.dagster_event.event_type in ASSET_EVENTS


def local_storage_yaml(home: Path) -> str:
    """The storage part of a local ``dagster.yaml`` under ``home``: Dagster's own SQLite layout
    (runs in ``history/``, event logs in ``history/runs/``, schedules in ``schedules/``), with
    the batched event log."""
    root = home.resolve()
    return (
        "run_storage:\n"
        "  module: dagster._core.storage.runs\n"
        "  class: SqliteRunStorage\n"
        "  config:\n"
        f"    base_dir: {root / 'history'}\n"
        "event_log_storage:\n"
        f"  module: {__name__}\n"
        f"  class: {BatchedSqliteEventLogStorage.__name__}\n"
        "  config:\n"
        f"    base_dir: {root / 'history' / 'runs'}\n"
        "schedule_storage:\n"
        "  module: dagster._core.storage.schedules\n"
        "  class: SqliteScheduleStorage\n"
        "  config:\n"
        f"    base_dir: {root / 'schedules'}\n"
    )
