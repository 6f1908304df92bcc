"""One read-only DuckDB database per warehouse file and process, lent out as cursors.

Opening a DuckDB file costs tens of milliseconds and starts with cold caches, and a portal
opened one for every report page. So a process keeps one read-only database open while it is
being read and lends each reader a cursor of it (cursors run their queries in parallel). An
open read-only database keeps every other process from writing the file, so it is closed as
soon as its last cursor comes back while a writer holds the warehouse's write lock (no new
cursor is lent then), and otherwise after ``IDLE_SECONDS`` without readers.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

IDLE_SECONDS = 1.0
# How often an unused database checks whether a writer is waiting for the file.
POLL_SECONDS = 0.05

Connect = Callable[[], duckdb.DuckDBPyConnection]


class SharedReadDatabase:
    """The read-only database of one file in this process, and the cursors lent from it."""

    def __init__(self, lock_path: Path) -> None:
        self._lock_path = lock_path
        self._changed = threading.Condition()
        self._base: duckdb.DuckDBPyConnection | None = None
        self._lent = 0
        self._idle_since = 0.0
        self._watcher: threading.Thread | None = None

    def lend(self, connect: Connect) -> duckdb.DuckDBPyConnection | None:
        """A cursor for one reader, opening the database with ``connect`` if it is closed;
        ``None`` while a writer holds the write lock (the reader must wait its turn)."""
        if writer_holds_lock(self._lock_path):
            return None
        with self._changed:
            if self._base is None:
                self._base = connect()
                self._watcher = threading.Thread(target=self._close_when_unused, daemon=True)
                self._watcher.start()
            cursor = self._base.cursor()
            self._lent += 1
        try:
            cursor.execute("SET TimeZone = 'UTC'")
        except BaseException:
            self.give_back(cursor)
            raise
        return cursor

    def give_back(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Close a lent cursor; the database may close once none is lent."""
        cursor.close()
        with self._changed:
            self._lent -= 1
            self._idle_since = time.monotonic()
            self._changed.notify_all()

    def close_if_unused(self) -> None:
        """Close the database now unless a cursor is lent (a writer in this process is next)."""
        with self._changed:
            if self._lent == 0:
                self._close()

    def shut_down(self) -> None:
        """Close the database even with cursors lent, and wait for its watcher to end
        (at exit: DuckDB's bindings must not be torn down under a running watcher)."""
        with self._changed:
            self._close()
            watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=1.0)

    def _close_when_unused(self) -> None:
        """Runs beside an open database until it closes it: idle too long, or a writer waits."""
        with self._changed:
            while self._base is not None:
                if self._lent == 0 and (
                    time.monotonic() - self._idle_since >= IDLE_SECONDS
                    or writer_holds_lock(self._lock_path)
                ):
                    self._close()
                    return
                self._changed.wait(POLL_SECONDS)

    def _close(self) -> None:
        if self._base is not None:
            base, self._base = self._base, None
            base.close()
            self._changed.notify_all()


def writer_holds_lock(lock_path: Path) -> bool:
    """Whether some writer (any process, this one included) holds the warehouse's write lock.

    Writers hold an exclusive ``flock`` on the lock file (``filelock``); the probe asks for a
    shared one, which only an exclusive holder refuses, so probes never mistake each other
    for a writer.
    """
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return False  # no lock file (never written) or none we may read: no writer to wait for
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the descriptor releases a shared lock the probe got
    return False


_DATABASES: dict[Path, SharedReadDatabase] = {}
_DATABASES_LOCK = threading.Lock()


def shared_database(path: Path, lock_path: Path) -> SharedReadDatabase:
    """This process's shared read-only database of the file ``path``."""
    key = path.resolve()
    with _DATABASES_LOCK:
        found = _DATABASES.get(key)
        if found is None:
            found = _DATABASES[key] = SharedReadDatabase(lock_path)
        return found


@atexit.register
def _close_all() -> None:
    # Close before the interpreter tears DuckDB's bindings down under an open handle.
    with _DATABASES_LOCK:
        databases = list(_DATABASES.values())
    for database in databases:
        database.shut_down()


def _forget_in_child() -> None:
    # A forked child must not use the parent's DuckDB handles; it opens its own.
    _DATABASES.clear()


os.register_at_fork(after_in_child=_forget_in_child)
