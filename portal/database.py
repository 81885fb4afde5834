"""Connection rules for the embedded SQLite: WAL, busy timeout, foreign keys, and IMMEDIATE writes.

pysqlite's own transaction handling is switched off so that we emit BEGIN ourselves: a transaction
that may write begins IMMEDIATE, taking the write lock up front instead of failing with
"database is locked" when a reader later upgrades. Requests that change things (POST, PUT, PATCH,
DELETE) and code run inside `writing()` (jobs, commands) write; GET requests and everything else
begin DEFERRED, so they never wait for a writer.

Writers queue for SQLite's one write lock on a lock file beside the database (`<file>-writers`),
checked every millisecond, before BEGIN IMMEDIATE: SQLite's own busy handler sleeps ever longer
(up to 100 ms a try) and, while another worker takes the lock again and again, can starve a writer
for most of a second; the queue hands the lock over as soon as it is free. The wait is bounded by the
same busy timeout.
"""

import fcntl
import os
import time
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event

from portal.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BUSY_TIMEOUT_MS = 15000
QUEUE_POLL_SECONDS = 0.001
_writing: ContextVar[bool] = ContextVar("writing", default=False)


@contextmanager
def writing():
    """Mark the transactions begun inside as writers (BEGIN IMMEDIATE on SQLite)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def _begins_immediate() -> bool:
    if _writing.get():
        return True
    return has_request_context() and request.method not in SAFE_METHODS


class WriterQueue:
    """The lock file writers take in turn, one open file per database connection (flock is per open file)."""

    def __init__(self, path: str):
        self.path = path

    def acquire(self, info: dict) -> None:
        fd = info.get("writer_queue_fd")
        if fd is None:
            fd = info["writer_queue_fd"] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                info["writer_queue_held"] = True
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return  # SQLite's busy timeout then decides, and says "database is locked"
                time.sleep(QUEUE_POLL_SECONDS)

    @staticmethod
    def release(info: dict) -> None:
        if info.pop("writer_queue_held", False):
            fcntl.flock(info["writer_queue_fd"], fcntl.LOCK_UN)

    @staticmethod
    def close(info: dict) -> None:
        WriterQueue.release(info)
        fd = info.pop("writer_queue_fd", None)
        if fd is not None:
            os.close(fd)


def _configure_sqlite(engine) -> None:
    database = engine.url.database
    queue = WriterQueue(database + "-writers") if database and database != ":memory:" and not \
        database.startswith("file:") else None

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if not _begins_immediate():
            connection.exec_driver_sql("BEGIN")
            return
        if queue is not None:
            queue.acquire(connection.info)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            WriterQueue.release(connection.info)
            raise

    if queue is None:
        return

    # The turn ends with the transaction, however it ends (a connection handed back to the pool is rolled
    # back by the pool itself: "reset"; a closed or broken one: "close" / "invalidate").
    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def on_end(connection):
        WriterQueue.release(connection.info)

    @event.listens_for(engine, "reset")
    def on_reset(_dbapi_connection, record, _state=None):
        WriterQueue.release(record.info)

    @event.listens_for(engine, "close")
    @event.listens_for(engine, "detach")
    def on_close(_dbapi_connection, record):
        WriterQueue.close(record.info)

    @event.listens_for(engine, "invalidate")
    def on_invalidate(_dbapi_connection, record, _exception):
        WriterQueue.close(record.info)


def init_app(app) -> None:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)
