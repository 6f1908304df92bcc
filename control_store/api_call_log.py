"""The control store's ``CallLogSink``: every call to Allegro becomes an ``api_calls`` row.

Calls are buffered and written in small batches (by size, by age, on ``flush``/``close``),
so recording costs the caller a list append. Secrets are scrubbed before anything is stored.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from sqlalchemy import Engine

from allegro_resource.calllog import ApiCall
from control_store.database import write
from control_store.schema import api_calls

log = logging.getLogger(__name__)

_SECRET_PATTERNS = [
    # Authorization headers and bearer tokens.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    # JWTs (Allegro's access tokens) anywhere in a text.
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    # key=value / "key": "value" pairs that carry credentials. Prose such as Allegro's
    # "Invalid refresh token: consent withdrawn by the user" is kept: after an unquoted ": ", a
    # short plain word followed by more words is the reason, not a credential. A value stops at a
    # closing bracket: tokens never hold one, and the message around them keeps its own.
    (
        re.compile(
            r"(?i)([\"']?\b(?:access_token|refresh_token|client_secret|code_verifier|device_code|"
            r"password|token|secret)[\"']?\s*[=:]\s*[\"']?)(?!(?<=: )[a-z]{1,15}\s)[^\s&\"',})\]]+"
        ),
        r"\1[redacted]",
    ),
    # An authorization code in a query string or form (``"code": "X"`` in errors is kept).
    (re.compile(r"(?i)(\bcode=)[^\s&\"',})\]]+"), r"\1[redacted]"),
]


def redact_secrets(text: str) -> str:
    """``text`` with bearer tokens, JWTs and credential-looking key=value pairs blanked."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _row(call: ApiCall) -> dict[str, Any]:
    endpoint = call.endpoint.split("?", 1)[0].split("#", 1)[0]
    return {
        "ts": call.ts,
        "customer_id": call.customer_id,
        "method": call.method[:10],
        "endpoint": redact_secrets(endpoint)[:500],
        "status": call.status,
        "duration_ms": call.duration_ms,
        "rows": call.rows,
        "trace_id": call.trace_id[:200] if call.trace_id else None,
        "error": redact_secrets(call.error)[:2000] if call.error else None,
        "attempt": call.attempt,
        "run_id": call.run_id[:100] if call.run_id else None,
    }


class ControlStoreCallLog:
    """Thread-safe, batching writer of ``api_calls``; use as a context manager or ``close()``."""

    def __init__(
        self, engine: Engine, *, batch_size: int = 100, flush_interval_seconds: float = 2.0
    ) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._interval = flush_interval_seconds
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-call-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)  # a process that forgets close() still writes its tail

    def record(self, call: ApiCall) -> None:
        """Queue one call; never raises into the caller."""
        try:
            row = _row(call)
        except Exception:  # a malformed record must not break an API call
            log.exception("could not record an API call")
            return
        with self._lock:
            self._buffer.append(row)
            full = len(self._buffer) >= self._batch_size
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Write everything queued so far; returns the number of rows written."""
        with self._write_lock:
            with self._lock:
                rows, self._buffer = self._buffer, []
            if not rows:
                return 0
            try:
                self._insert(rows)
            except Exception as exc:
                # Logged by class only: the message could quote row values.
                log.warning("dropped %d API-call records: %s", len(rows), type(exc).__name__)
                return 0
            return len(rows)

    def close(self) -> None:
        """Stop the background writer and write what is left."""
        atexit.unregister(self.close)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()

    def __enter__(self) -> ControlStoreCallLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _insert(self, rows: Iterable[dict[str, Any]]) -> None:
        with write(self._engine) as conn:
            conn.execute(api_calls.insert(), list(rows))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()
