"""Engine set-up: SQLite pragmas and up-front write locks.

SQLite allows one writer at a time. A transaction that starts as a reader and
later writes fails at once with SQLITE_BUSY if another writer got there first,
so transactions that intend to write begin with ``BEGIN IMMEDIATE`` and wait
for the lock (busy timeout) instead. Inside one process the wait happens on a
lock that gevent can switch away from, because SQLite's own busy wait blocks
the whole process (and with it the greenlet that holds the lock).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

BUSY_TIMEOUT_SECONDS = 15
_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)
_process_write_lock = threading.Lock()


@contextmanager
def write_intent() -> Iterator[None]:
    """Mark transactions begun inside this block as writers (SQLite: BEGIN IMMEDIATE)."""
    token = begin_write_intent()
    try:
        yield
    finally:
        end_write_intent(token)


def begin_write_intent() -> Token:
    """Mark the current context (e.g. an unsafe HTTP request) as a writer until ended."""
    return _write_intent.set(True)


def end_write_intent(token: Token) -> None:
    _write_intent.reset(token)


def configure_engine(engine: Engine) -> None:
    """Install the SQLite connection pragmas and BEGIN handling on `engine`."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        if not _write_intent.get():
            conn.exec_driver_sql("BEGIN")
            return
        if not _process_write_lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is busy"))
        conn.info["holds_write_lock"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            _release(conn.info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn) -> None:
        _release(conn.info)

    @event.listens_for(engine.pool, "reset")
    def _on_reset(_dbapi_conn, record, _state=None) -> None:
        _release(record.info)


def holds_write_lock(connection) -> bool:
    """SQLite: the connection's transaction began with BEGIN IMMEDIATE (`write_intent`), so
    no one else writes until it ends and every row it read is as committed now."""
    return bool(connection.info.get("holds_write_lock"))


def _release(info: dict) -> None:
    if info.pop("holds_write_lock", False):
        _process_write_lock.release()
