"""The report tests' fixtures: the pipeline tests' agency, and a real SMTP server on loopback."""

from __future__ import annotations

from tests.pipelines.fixtures import (  # fixtures, registered by import
    agencies,
    agency,
    agency_simulator,
    backend,
    empty_agency,
    instance,
    stores,
)
from tests.reports.fixtures import reporting, smtp
