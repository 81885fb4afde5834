"""Connection rules for the embedded SQLite: WAL, busy timeout, foreign keys, and writers that take turns.

A transaction becomes a writer by writing, not by the HTTP method of its request:

- Every transaction begins DEFERRED (a reader: it never waits, and no writer waits on it).
- Its first INSERT, UPDATE, DELETE or DDL first takes the writers' turn, then SQLite turns the
  transaction into a writer in place. A login's password check, a refused form and its 422 page, any
  GET: none of them write, so none of them ever holds the turn.
- Upgrading keeps the transaction serializable: if another writer committed after this transaction's
  first read, SQLite refuses the upgrade at once (SQLITE_BUSY_SNAPSHOT) instead of letting it write over
  what it has not seen, and this module raises `WriteConflict`. A web request then runs its view once
  more from the start, this time beginning IMMEDIATE (`_dispatch_retrying`); the first attempt wrote
  nothing, so nothing happens twice. Slow work between reading and writing (Argon2) ends its read first
  (`end_reading`), so that conflicts stay rare.
- Code that knows it writes and cannot be run again (commands, jobs, the billing sweep, the PDF and
  outbox workflows) says so with `writing()`: the transactions it begins take the turn and begin
  IMMEDIATE, so they never conflict.

The writers' turn is a lock file beside the database (`<file>-writers`, through `filelock`), polled
every millisecond: SQLite's own busy handler sleeps ever longer (up to 100 ms a try) and can starve a
writer for most of a second while another worker takes the lock again and again; the turn hands over as
soon as it is free. The wait is bounded by the same busy timeout. The turn is given back by the
connection itself once SQLite has really ended the transaction (after COMMIT or ROLLBACK returned, or
on close), so the next writer never finds SQLite's lock still taken.

No deadlock: a reader holds no turn, and a writer holding the turn waits for nothing but SQLite, which
waits for no reader in WAL mode. The one wait that could never end, a thread that holds the turn on one
connection and asks for it on another (the second would wait for the first, which waits for the
thread), is refused at once with an error instead.
"""

import sqlite3
import threading
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from portal.extensions import db

BUSY_TIMEOUT_MS = 15000
QUEUE_POLL_SECONDS = 0.001
SQLITE_BUSY = 5
SQLITE_BUSY_SNAPSHOT = 517
_READS = frozenset({"SELECT", "EXPLAIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "BEGIN", "VALUES"})
_writing: ContextVar[bool] = ContextVar("writing", default=False)
_holders: dict[int, "WritersTurn"] = {}  # thread id -> the turn it holds
_writes_committed: ContextVar[int] = ContextVar("writes_committed", default=0)


@contextmanager
def writing():
    """Begin the transactions begun inside as writers: take the turn, BEGIN IMMEDIATE (on SQLite)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


class WriteConflict(OperationalError):
    """A transaction that began as a reader could not become a writer: another writer committed after it
    first read, so what it read may be out of date. Run it again (inside `writing()` if it cannot be)."""


class WritersTurn:
    """One connection's place in the writers' queue (a lock is per open file, so one per connection)."""

    def __init__(self, path: str):
        from filelock import FileLock

        self.lock = FileLock(path, thread_local=False)
        self.thread: int | None = None

    @property
    def held(self) -> bool:
        return self.thread is not None

    def take(self) -> None:
        from filelock import Timeout

        if self.held:
            return
        me = threading.get_ident()
        if _holders.get(me) not in (None, self):
            raise RuntimeError(
                "this thread already holds the SQLite writers' turn on another connection: a second writer "
                "would wait for the first, which waits for this thread (end the first transaction before "
                "writing in another session)"
            )
        try:
            self.lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000, poll_interval=QUEUE_POLL_SECONDS)
        except Timeout:
            return  # SQLite's busy timeout then decides, and says "database is locked"
        self.thread = me
        _holders[me] = self

    def give_back(self) -> None:
        if self.thread is None:
            return
        if _holders.get(self.thread) is self:
            del _holders[self.thread]
        self.thread = None
        self.lock.release()


class Connection(sqlite3.Connection):
    """pysqlite's connection, which gives the writers' turn back once SQLite has ended the transaction."""

    turn: WritersTurn | None = None
    wrote = False  # the current transaction has written (or began IMMEDIATE)

    def commit(self) -> None:
        if self.wrote:
            _writes_committed.set(_writes_committed.get() + 1)
        try:
            super().commit()
        finally:
            self._ended()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._ended()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.wrote = False
            if self.turn is not None:
                self.turn.give_back()

    def _ended(self) -> None:
        if not self.in_transaction:  # a failed COMMIT leaves the transaction (and SQLite's lock) in place
            self.wrote = False
            if self.turn is not None:
                self.turn.give_back()


def _writes(statement: str, context) -> bool:
    """Whether a statement may write (anything not known to only read counts as a write)."""
    words = statement.lstrip(" \t\r\n(").split(None, 1)
    keyword = words[0].upper() if words else ""
    if keyword in _READS:
        return False
    if keyword == "PRAGMA":
        return "=" in statement
    if keyword == "WITH" and context is not None and context.compiled is not None:
        return bool(context.isinsert or context.isupdate or context.isdelete)
    return True


def _raw(connection) -> Connection:
    return connection.connection.dbapi_connection


def end_reading(session=None) -> None:
    """End the session's transaction if it has only read (on SQLite), before slow work such as a password
    hash: its snapshot would otherwise age, and a write after the slow work would likely conflict. Objects
    loaded are expired and read again when next used. A transaction that has written, or that was begun as
    a writer, is left alone."""
    session = session if session is not None else db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    connection = session.connection()
    if connection.dialect.name != "sqlite" or _raw(connection).wrote:
        return
    session.rollback()


def undo_writes(session=None) -> None:
    """Roll back what the session's transaction wrote or holds to write (a refused request writes nothing). A
    transaction that has only read is kept: rolling it back would expire every object it loaded (the user,
    the organisation, the membership) and the page that answers would read each of them again."""
    session = session if session is not None else db.session()
    if not session.in_transaction():
        return
    connection = session.connection()
    # A writer's transaction on SQLite (begun IMMEDIATE, the writers' turn taken) holds to write from its BEGIN.
    held = getattr(_raw(connection), "wrote", False)
    if session.new or session.dirty or session.deleted or held or connection.info.get("wrote", True):
        session.rollback()


def commit_keeping_loaded(session=None) -> None:
    """Commit, keeping the objects the session holds as they are (with what it just wrote) instead of expiring
    them: for a view that answers with what it has read and written, rather than reading it all again."""
    session = session if session is not None else db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def _track_writes(engine) -> None:
    """Mark a connection's transaction once it sends a statement that may write (what undo_writes asks)."""

    @event.listens_for(engine, "begin")
    def began(connection):
        connection.info["wrote"] = False

    @event.listens_for(engine, "before_cursor_execute")
    def wrote(connection, _cursor, statement, _parameters, context, _executemany):
        if not connection.info.get("wrote") and _writes(statement, context):
            connection.info["wrote"] = True


def _configure_sqlite(engine) -> None:
    database = engine.url.database
    lock_path = database + "-writers" if database and database != ":memory:" and not \
        database.startswith("file:") else None

    @event.listens_for(engine, "do_connect")
    def use_our_connection(_dialect, _record, _cargs, cparams):
        cparams["factory"] = Connection

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        if lock_path is not None:
            dbapi_connection.turn = WritersTurn(lock_path)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        raw = _raw(connection)
        if not _writing.get():
            connection.exec_driver_sql("BEGIN")
            return
        if raw.turn is not None:
            raw.turn.take()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            raw._ended()
            raise
        raw.wrote = True

    @event.listens_for(engine, "before_cursor_execute")
    def before_write(connection, _cursor, statement, _parameters, context, _executemany):
        raw = _raw(connection)
        if raw.wrote or not _writes(statement, context):
            return
        if raw.turn is not None:
            raw.turn.take()
        raw.wrote = True
        connection.info["upgrading"] = True

    @event.listens_for(engine, "after_cursor_execute")
    def after_write(connection, *_args):
        connection.info.pop("upgrading", None)

    @event.listens_for(engine, "handle_error")
    def on_error(context):
        connection = context.connection
        if connection is None or not connection.info.pop("upgrading", False):
            return
        code = getattr(context.original_exception, "sqlite_errorcode", None)
        if code in (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT):
            raise WriteConflict(context.statement, context.parameters, context.original_exception) \
                from context.original_exception


class _ReplayableBody:
    """The request body, kept as it is read, so that a view run again can read it again from the start."""

    def __init__(self, stream):
        self.stream, self.kept, self.position = stream, bytearray(), 0

    def read(self, size: int | None = -1) -> bytes:
        whole = size is None or size < 0
        end = len(self.kept) if whole else min(len(self.kept), self.position + size)
        data = bytes(self.kept[self.position:end])
        self.position = end
        if whole or not data:
            more = self.stream.read() if whole else self.stream.read(size)
            self.kept += more
            self.position += len(more)
            data += more
        return data

    def rewind(self) -> None:
        self.position = 0


def _dispatch_retrying(app):
    """The view, run once more as a writer from its first statement when it could not start writing. The
    first attempt wrote nothing (its transaction was refused at its first write and is rolled back; an
    attempt that had already committed a write is not run again); the login session, `g` and the body are
    put back as they were before it."""
    from flask import g, request, session

    dispatch = app.dispatch_request

    def dispatch_request():
        state, current = vars(g._get_current_object()), request._get_current_object()
        saved_session, saved_g = dict(session), dict(state)
        committed = _writes_committed.get()
        body = current.environ.get("wsgi.input")
        if body is not None and "stream" not in vars(current):
            body = current.environ["wsgi.input"] = _ReplayableBody(body)
        try:
            return dispatch()
        except WriteConflict:
            db.session.rollback()
            if _writes_committed.get() != committed:
                raise
        session.clear()
        session.update(saved_session)
        state.clear()
        state.update(saved_g)
        if isinstance(body, _ReplayableBody):
            body.rewind()
            vars(current).pop("stream", None)
        with writing():
            db.session.connection()  # this transaction begins IMMEDIATE; others begun later do not
        return dispatch()

    return dispatch_request


def init_app(app) -> None:
    with app.app_context():
        _track_writes(db.engine)
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)
            app.dispatch_request = _dispatch_retrying(app)
