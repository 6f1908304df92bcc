"""Loading a file as a module of a chosen name: another test folder's conftest.py (its fixtures
reused, not copied) or a benchmark helper, which pytest's import paths do not reach."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(name: str, path: Path) -> ModuleType:
    """The file at ``path`` executed as the module ``name`` (registered in ``sys.modules``,
    which dataclasses defined in it need)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
