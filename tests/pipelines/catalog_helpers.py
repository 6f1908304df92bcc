"""The Dagster catalog as the UI reads it: the product's code location loaded into a workspace on
the test's instance, queried through Dagster's GraphQL schema (what the webserver serves), and
the freshness daemon's own evaluation run over it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.defs_state.base import set_defs_state_storage
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.freshness import FreshnessDaemon
from dagster_graphql.test.utils import execute_dagster_graphql

REPO = Path(__file__).resolve().parents[2]

# Every asset node of the catalog: its definition metadata (the column schema), its freshness
# policy and state, and the metadata of its latest materialisation (the row count).
CATALOG_QUERY = """
query Catalog {
  assetNodes {
    assetKey { path }
    metadataEntries {
      label
      ... on TableSchemaMetadataEntry {
        schema { columns { name type description constraints { nullable } } }
      }
      ... on TextMetadataEntry { text }
    }
    internalFreshnessPolicy {
      __typename
      ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone }
      ... on TimeWindowFreshnessPolicy { failWindowSeconds }
    }
    freshnessStatusInfo { freshnessStatus }
    assetMaterializations(limit: 1) {
      metadataEntries {
        label
        ... on IntMetadataEntry { intValue }
        ... on TextMetadataEntry { text }
      }
    }
  }
}
"""


@contextmanager
def product_workspace(instance: dg.DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The code location of ``workspace.yaml`` (``pipelines.definitions``) on ``instance``."""
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            module_name="pipelines.definitions",
            attribute="defs",
            working_directory=str(REPO),
        ),
        location_name="allegro_ads",
    )
    # Loading reads Dagster's ambient definitions-state storage; another test in this process
    # can leave it pointing at an instance already collected ("Attempted to resolve undefined
    # DagsterInstance weakref", seen under xdist), so it is this instance's for the load.
    with (
        set_defs_state_storage(instance.defs_state_storage),
        WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as context,
    ):
        yield context


def catalog(workspace: WorkspaceProcessContext) -> dict[str, dict[str, Any]]:
    """Each asset node of the catalog by asset name, as GraphQL answers ``CATALOG_QUERY``."""
    result = execute_dagster_graphql(workspace.create_request_context(), CATALOG_QUERY)
    assert not result.errors, result.errors
    return {"/".join(node["assetKey"]["path"]): node for node in result.data["assetNodes"]}


def entries(metadata_entries: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """GraphQL metadata entries by label."""
    return {entry["label"]: entry for entry in metadata_entries}


def evaluate_freshness(workspace: WorkspaceProcessContext) -> None:
    """One iteration of the daemon's freshness evaluation (what ``dagster-daemon run`` does
    every 30 s): records each asset's freshness state on the instance."""
    for _ in FreshnessDaemon().run_iteration(workspace):
        pass


SCHEDULE_QUERY = """
query Schedule($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    __typename
    ... on Schedule { cronSchedule executionTimezone }
  }
}
"""


def schedule(workspace: WorkspaceProcessContext, name: str) -> tuple[str, str]:
    """The cron and time zone of the schedule ``name``, as GraphQL answers."""
    context = workspace.create_request_context()
    (location,) = context.code_location_names
    (repository,) = context.get_code_location(location).get_repositories()
    selector = {
        "repositoryLocationName": location,
        "repositoryName": repository,
        "scheduleName": name,
    }
    result = execute_dagster_graphql(context, SCHEDULE_QUERY, {"selector": selector})
    assert not result.errors, result.errors
    found = result.data["scheduleOrError"]
    assert found["__typename"] == "Schedule", found
    return found["cronSchedule"], found["executionTimezone"]
