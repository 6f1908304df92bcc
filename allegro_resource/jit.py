"""numba's compilation, typed for mypy: the parse's hot loops as machine code, compiled once
per signature and kept on disk (``__pycache__``), so a process loads them instead of
compiling them again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])


def compiled(signature: str) -> Callable[[F], F]:
    """Compile the function for ``signature`` when its module is imported (a wrong argument
    type is then a ``TypeError``, never a silent second compilation), cache the machine code
    on disk, and run it without the interpreter lock: the fetching threads' passes run side
    by side."""
    return cast(Callable[[F], F], numba.njit(signature, cache=True, nogil=True))


def inline(function: F) -> F:
    """A helper of a compiled function, compiled into its callers."""
    return cast(F, numba.njit(inline="always")(function))
