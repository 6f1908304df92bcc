"""The simulator's state file: consents, codes, tokens (with their grace), device grants,
revocations, the clock offset, the revision and the token-signing key, as one JSON document
rewritten atomically (temporary file + rename) after every change, so a restarted simulator
keeps accepting the tokens it issued before.

Faults, counters and the rate-limit window are not kept: they describe one run."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any, Protocol

from simulator.grants import AuthCode, Consent, DeviceGrant, Grant, RefreshGrant

STATE_VERSION = 1


class _Identity(Protocol):
    @property
    def seed(self) -> int: ...

    @property
    def client_id(self) -> str: ...


class SimulatorState(Protocol):
    """What the state file keeps of ``simulator.state.SimulatorState`` (a protocol, so that
    module and this one do not import each other)."""

    @property
    def config(self) -> _Identity: ...

    @property
    def lock(self) -> threading.RLock: ...

    clock_offset: float
    revision: int
    signing_key: bytes
    consents: dict[str, Consent]
    codes: dict[str, AuthCode]
    access_tokens: dict[str, Grant]
    refresh_tokens: dict[str, RefreshGrant]
    dead_refresh_tokens: dict[str, str]
    devices: dict[str, DeviceGrant]

    def restore_used_refresh(self, used: deque[tuple[float, str]]) -> None: ...


class StateFileError(Exception):
    """The state file cannot be used by this simulator (unreadable, or another simulator's)."""


def _record(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__slots__}


def snapshot(state: SimulatorState) -> dict[str, Any]:
    """The durable part of ``state`` as a JSON-ready document (call under ``state.lock``)."""
    return {
        "version": STATE_VERSION,
        "seed": state.config.seed,
        "client_id": state.config.client_id,
        "clock_offset": state.clock_offset,
        "revision": state.revision,
        "signing_key": state.signing_key.hex(),
        "consents": {k: _record(v) for k, v in state.consents.items()},
        "codes": {k: _record(v) for k, v in state.codes.items()},
        "access_tokens": {k: _record(v) for k, v in state.access_tokens.items()},
        "refresh_tokens": {k: _record(v) for k, v in state.refresh_tokens.items()},
        "dead_refresh_tokens": dict(state.dead_refresh_tokens),
        "devices": {k: _record(v) for k, v in state.devices.items()},
    }


def save(state: SimulatorState, path: str) -> None:
    """Write ``state`` to ``path`` atomically: readers see the old file or the new one."""
    target = Path(path)
    body = json.dumps(snapshot(state), separators=(",", ":")).encode()
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_into(state: SimulatorState, path: str) -> None:
    """Restore ``state`` from ``path``; a missing file is created from the fresh state.

    Raises StateFileError when the file is unreadable or was written by a simulator with
    another seed or client id (its tokens would name other accounts)."""
    target = Path(path)
    if not target.parent.is_dir():
        raise StateFileError(
            f"the folder of the state file {path} does not exist; create it or choose "
            "another --state-file"
        )
    if not target.exists():
        with state.lock:
            save(state, path)
        return
    try:
        document = json.loads(target.read_bytes())
        _check(document, state, path)
        _restore(document, state)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StateFileError(
            f"cannot read the simulator state file {path} ({exc}); delete it to start afresh "
            "or choose another --state-file"
        ) from None


def _check(document: Any, state: SimulatorState, path: str) -> None:
    if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
        raise ValueError(f"not a version {STATE_VERSION} simulator state")
    for key in ("seed", "client_id"):
        if document[key] != getattr(state.config, key):
            raise StateFileError(
                f"the state file {path} belongs to a simulator with {key} "
                f"{document[key]!r}, not {getattr(state.config, key)!r}; start with that "
                f"{key} or choose another --state-file"
            )


def _restore(document: dict[str, Any], state: SimulatorState) -> None:
    with state.lock:
        state.clock_offset = float(document["clock_offset"])
        state.revision = int(document["revision"])
        state.signing_key = bytes.fromhex(document["signing_key"])
        state.consents = {k: Consent(**v) for k, v in document["consents"].items()}
        state.codes = {k: AuthCode(**v) for k, v in document["codes"].items()}
        state.access_tokens = {k: Grant(**v) for k, v in document["access_tokens"].items()}
        state.refresh_tokens = {k: RefreshGrant(**v) for k, v in document["refresh_tokens"].items()}
        state.dead_refresh_tokens = {
            str(k): str(v) for k, v in document["dead_refresh_tokens"].items()
        }
        state.devices = {k: DeviceGrant(**v) for k, v in document["devices"].items()}
        used = sorted(
            (grant.used_at, token)
            for token, grant in state.refresh_tokens.items()
            if grant.used_at is not None
        )
        state.restore_used_refresh(deque(used))
