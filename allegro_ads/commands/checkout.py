"""Commands that need the source checkout: the simulator (and the demo that runs on it) stays
out of the installed package, so those commands say where to run them instead of failing."""

from __future__ import annotations

SIMULATOR_MISSING = (
    "the Allegro simulator ships with the source checkout, not with the installed package; "
    "run this command from a clone of the repository (./scripts/demo sets it up)"
)


def is_missing_simulator(exc: ModuleNotFoundError) -> bool:
    """Whether an import failed because the ``simulator`` package is not installed here."""
    return (exc.name or "").split(".")[0] == "simulator"
