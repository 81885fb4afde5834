"""Connection rules for the embedded SQLite: WAL, busy timeout, foreign keys, and IMMEDIATE writes.

pysqlite's own transaction handling is switched off so that we emit BEGIN ourselves: a transaction
that may write begins IMMEDIATE, taking the write lock up front instead of failing with
"database is locked" when a reader later upgrades. Requests that change things (POST, PUT, PATCH,
DELETE) and code run inside `writing()` (jobs, commands) write; GET requests and everything else
begin DEFERRED, so they never wait for a writer.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event

from portal.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
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


def _configure_sqlite(engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _begins_immediate() else "BEGIN")


def init_app(app) -> None:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)
