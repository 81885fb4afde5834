"""SQLite's one writer at a time: a transaction is a writer because it writes, it takes the writers' turn
for exactly as long as SQLite holds its write lock, and reads, refused forms and logins' password checks
never make anybody wait."""

import multiprocessing
import re
import socket
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from filelock import FileLock, Timeout
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from portal import create_app, database
from portal.database import writing
from portal.extensions import db
from portal.models import OutboxMessage, User
from portal.services.accounts import auth
from tests import factories

CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


@pytest.fixture
def sqlite(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite rules (this run is on PostgreSQL)")
    return app


def _turn_is_taken() -> bool:
    """Whether some connection holds the writers' turn (probed from a lock of our own on the same file)."""
    probe = FileLock(db.engine.url.database + "-writers", thread_local=False)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    probe.release()
    return False


def _statements():
    """Every statement run while the block is open, with whether the writers' turn was taken during it."""
    seen = []

    def record(_conn, _cursor, statement, *_args):
        seen.append((statement.split(None, 1)[0].upper() if statement.strip() else "", _turn_is_taken(),
                     statement))

    event.listen(db.engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(db.engine, "before_cursor_execute", record)


def test_a_transaction_becomes_a_writer_at_its_first_write_and_reads_never_take_the_turn(sqlite, login_as):
    client = login_as("customer", "admin")
    token = client.csrf_token()
    seen, stop = _statements()
    try:
        client.get("/customer/")
        reads = list(seen)
        seen.clear()
        refused = client.post("/team", data={"name": "", "email": "not an e-mail", "role": "admin",
                                             "csrf_token": token})
        refusals = list(seen)
        seen.clear()
        client.post("/locale", data={"locale": "es", "csrf_token": token})
        writes = list(seen)
        seen.clear()
        with writing():
            db.session.execute(text("SELECT 1"))
            db.session.commit()
        declared = list(seen)
    finally:
        stop()
    assert refused.status_code == 422
    for statements in (reads, refusals):
        assert statements and [sql for word, _taken, sql in statements if word == "BEGIN"] == ["BEGIN"]
        assert not [sql for _word, taken, sql in statements if taken or WRITES.match(sql)]
    # The POST read its user as a reader, and wrote its language holding the turn.
    assert [sql for word, _taken, sql in writes if word == "BEGIN"] == ["BEGIN"]
    first_write = next(i for i, (_word, _taken, sql) in enumerate(writes) if WRITES.match(sql))
    assert not any(taken for _word, taken, _sql in writes[:first_write])
    assert writes[first_write][1] and writes[first_write][2].startswith("UPDATE user SET locale")
    # Code that declares it writes begins IMMEDIATE, holding the turn from the start.
    assert [sql for word, _taken, sql in declared if word == "BEGIN"] == ["BEGIN IMMEDIATE"]
    assert not _turn_is_taken()


def test_writers_take_turns_and_the_next_one_starts_once_the_first_ends(sqlite):
    """Two writers at once: the second queues on the lock file beside the database (not in SQLite's ever
    longer sleeps), begins only after the first has ended, and the turn is free again afterwards."""
    order = []

    def second_writer():
        with sqlite.app_context(), writing(), db.engine.connect() as connection:
            connection.begin()
            order.append("second began")
            connection.exec_driver_sql("SELECT 1")
            connection.rollback()

    with writing(), db.engine.connect() as first:
        first.begin()
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(0.3)
        assert thread.is_alive() and order == []  # waiting for its turn
        order.append("first ended")
        first.rollback()
    thread.join(10)
    assert order == ["first ended", "second began"]
    assert not _turn_is_taken()  # nobody holds the turn any more


def test_the_turn_is_given_back_only_once_sqlite_has_committed(sqlite):
    """SQLAlchemy's commit events fire before COMMIT reaches SQLite: the next writer must not get the turn
    then, or it would find SQLite's lock still taken and wait in SQLite's ever longer sleeps."""
    during_commit = []

    def on_commit(_connection):
        during_commit.append(_turn_is_taken())

    event.listen(db.engine, "commit", on_commit)
    try:
        with writing(), db.engine.connect() as connection:
            connection.begin()
            connection.exec_driver_sql("UPDATE user SET locale = locale")
            connection.commit()
            after_commit = _turn_is_taken()
    finally:
        event.remove(db.engine, "commit", on_commit)
    assert during_commit == [True]
    assert after_commit is False


def test_a_thread_that_holds_the_turn_cannot_wait_for_itself(sqlite):
    """A second connection of the thread that holds the turn could never get SQLite's lock: refused at
    once, rather than after the busy timeout with "database is locked"."""
    with writing(), db.engine.connect() as first:
        first.begin()
        with db.engine.connect() as second, pytest.raises(RuntimeError, match="already holds"):
            second.begin()
        first.rollback()
    assert not _turn_is_taken()


def test_a_request_whose_reads_went_stale_before_its_first_write_runs_again_as_a_writer(sqlite, login_as):
    """Another writer commits between the request's first read and its first write: SQLite refuses to let
    it write over what it has not seen, and the view runs again, this time a writer from its start."""
    client = login_as("customer", "admin")
    token = client.csrf_token()
    other = factories.make_user()
    db.session.commit()
    other_id = other.id
    app = sqlite
    injected, seen = [], []

    def commit_elsewhere():
        with app.app_context(), writing(), db.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE user SET name = 'Changed meanwhile' WHERE id = ?", (other_id,))

    def before_first_write(_session, _context, _instances):
        if not injected:
            injected.append(True)
            thread = threading.Thread(target=commit_elsewhere)
            thread.start()
            thread.join(10)

    def record(_conn, _cursor, statement, *_args):
        if threading.current_thread() is threading.main_thread():  # the request's, not the other writer's
            seen.append(statement if statement.startswith("BEGIN") else statement.split(None, 1)[0])

    event.listen(Session, "before_flush", before_first_write)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.post("/locale", data={"locale": "pt_BR", "csrf_token": token})
    finally:
        event.remove(Session, "before_flush", before_first_write)
        event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 303
    # Read, refused at its first write, then run again as a writer from its start.
    assert injected and seen[:3] == ["BEGIN", "SELECT", "UPDATE"] and seen[3] == "BEGIN IMMEDIATE", seen
    db.session.expire_all()
    assert db.session.get(User, client.user.id).locale == "pt_BR"
    assert db.session.get(User, other_id).name == "Changed meanwhile"
    assert not _turn_is_taken()


def test_a_login_checks_the_password_with_no_snapshot_open(sqlite, client):
    """Another login commits while this one's Argon2 check runs: this one read before the check, but ended
    that read, so its writes go through at once instead of conflicting and running the check again as a
    writer (holding the turn through it)."""
    user = factories.make_user()
    other = factories.make_user()
    db.session.commit()
    email, other_id = user.email, other.id
    token = client.csrf_token()
    app = sqlite
    hasher, dummy = auth._hasher()
    seen, checks = [], []

    class CheckWhileSomeoneWrites:
        def verify(self, stored, password):
            checks.append(True)
            thread = threading.Thread(target=commit_elsewhere)
            thread.start()
            thread.join(10)
            return hasher.verify(stored, password)

        def __getattr__(self, name):
            return getattr(hasher, name)

    def commit_elsewhere():
        with app.app_context(), writing(), db.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE user SET last_login_at = CURRENT_TIMESTAMP WHERE id = ?", (other_id,))

    def record(_conn, _cursor, statement, *_args):
        if threading.current_thread() is threading.main_thread() and statement.startswith("BEGIN"):
            seen.append(statement)

    app.extensions["vitrine.password_hasher"] = (CheckWhileSomeoneWrites(), dummy)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.post("/login", data={"email": email, "password": factories.PASSWORD,
                                               "csrf_token": token})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        app.extensions["vitrine.password_hasher"] = (hasher, dummy)
    assert response.status_code == 303
    assert checks == [True] and "BEGIN IMMEDIATE" not in seen, seen


@pytest.mark.parametrize("purpose", ["reset", "invite"])
def test_a_new_password_is_hashed_before_the_link_is_used_up_with_nobody_waiting(sqlite, client, purpose):
    """Using the link up is the first write: the slow Argon2 hash of the new password comes before it, so the
    writers' turn is never held through it."""
    user = factories.make_member("customer", "admin", password=None if purpose == "invite" else
                                 factories.PASSWORD).user
    raw = auth.issue_token(user, purpose, timedelta(hours=1))
    db.session.commit()
    url = f"/password/reset/{raw}" if purpose == "reset" else f"/invitation/{raw}"
    data = {"password": "a long new secret", "confirm": "a long new secret", "name": "Ana Pérez"}
    hasher, dummy = auth._hasher()
    turn_taken_while_hashing = []

    class RecordingHasher:
        def hash(self, password):
            turn_taken_while_hashing.append(_turn_is_taken())
            return hasher.hash(password)

        def __getattr__(self, name):
            return getattr(hasher, name)

    sqlite.extensions["vitrine.password_hasher"] = (RecordingHasher(), dummy)
    try:
        response = client.form_post(url, data)
    finally:
        sqlite.extensions["vitrine.password_hasher"] = (hasher, dummy)
    assert response.status_code == 303
    assert turn_taken_while_hashing == [False]
    db.session.rollback()
    assert auth.authenticate(user.email, "a long new secret") is not None


def test_a_conflict_outside_a_request_says_what_happened(sqlite):
    user = factories.make_user()
    db.session.commit()
    user_id = user.id
    with db.engine.connect() as reader:
        reader.begin()
        reader.exec_driver_sql("SELECT name FROM user WHERE id = ?", (user_id,)).scalar()
        with writing(), db.engine.begin() as writer:
            writer.exec_driver_sql("UPDATE user SET name = 'First' WHERE id = ?", (user_id,))
        with pytest.raises(database.WriteConflict):
            reader.exec_driver_sql("UPDATE user SET name = 'Second' WHERE id = ?", (user_id,))
        reader.rollback()
    db.session.rollback()  # the test's own snapshot
    assert db.session.get(User, user_id).name == "First"
    assert not _turn_is_taken()


def test_send_outbox_sends_what_is_pending_with_no_server_running(sqlite, runner, monkeypatch):
    """It read the pending messages in a writer's transaction that it kept open, then sent each one in a
    second session that waited for the first's turn: "database is locked" after the busy timeout."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 1000)
    db.engine.dispose()  # new connections get the shorter timeout
    db.session.add(OutboxMessage(recipient="ana@example.test", subject="Invitation", text_body="Hello",
                                 html_body="<p>Hello</p>", locale="es", template="invitation"))
    db.session.commit()
    result = runner.invoke(args=["send-outbox"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "1 written to the log" in result.output
    db.session.rollback()  # end the snapshot the command read in
    assert db.session.scalars(db.select(OutboxMessage.status)).all() == ["logged"]


def test_send_outbox_says_why_a_message_was_not_sent(app, runner):
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    db.session.add(OutboxMessage(recipient="ana@example.test", subject="Invitation", text_body="Hello",
                                 html_body="<p>Hello</p>", locale="es", template="invitation"))
    db.session.commit()
    result = runner.invoke(args=["send-outbox"])
    assert result.exit_code == 1
    assert "to ana@example.test not sent: ConnectionRefusedError" in result.output
    assert "1 not sent (kept in the outbox)" in result.output
    db.session.rollback()
    assert db.session.scalars(db.select(OutboxMessage.status)).all() == ["pending"]


# Two processes at once


def _client_session(app, email: str, rounds: int, barrier, results) -> None:
    """One browser: log in, then refuse forms and read pages, `rounds` times; every request's status and
    the statements it ran (BEGIN kinds and writes) go to `results`."""
    client = app.test_client()
    statements = []

    def record(_conn, _cursor, statement, *_args):
        word = statement.split(None, 1)[0].upper() if statement.strip() else ""
        if statement.startswith("BEGIN") or WRITES.match(statement):
            statements.append(statement.split("(")[0][:40] if word != "BEGIN" else statement)

    def request(kind: str, method: str, url: str, data: dict | None = None):
        statements.clear()
        response = client.open(url, method=method, data=data)
        results.append((kind, url, response.status_code, list(statements)))
        return response

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    barrier.wait(30)
    page = request("read", "GET", "/login")
    for _round in range(rounds):
        token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
        request("write", "POST", "/login", {"email": email, "password": factories.PASSWORD, "csrf_token": token})
        page = request("read", "GET", "/team")  # the login began a new session: a new CSRF token
        token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
        request("refused", "POST", "/team", {"name": "", "email": "not an e-mail", "role": "admin",
                                             "csrf_token": token})
        request("refused", "POST", "/account/password", {"current": factories.PASSWORD, "password": "short",
                                                         "confirm": "other", "csrf_token": token})
        request("read", "GET", "/customer/")


def _browser_process(database_url: str, email: str, rounds: int, barrier, queue) -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret-key",
                      "BASE_URL": "http://portal.test", "SMTP_HOST": "", "LOGIN_LIMIT": "1000 per minute",
                      "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8,
                      "PASSWORD_HASH_PARALLELISM": 1})
    results = []
    try:
        _client_session(app, email, rounds, barrier, results)
    except Exception as error:  # reported to the test, which fails with it
        results.append(("error", repr(error), 0, []))
    queue.put(results)


def test_two_processes_logging_in_and_refusing_forms_never_wait_on_a_reader(sqlite, tmp_path):
    """Two processes on one database file log in and submit invalid forms at the same time: only requests
    that write ever hold the writers' turn (BEGIN IMMEDIATE or a write under it); reads and 422 pages never
    do, so no writer ever waits on one of them. And every login goes through, none meets "database is
    locked"."""
    url = f"sqlite:///{tmp_path / 'two.db'}"
    setup = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_TIME_COST": 1,
                        "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1})
    with setup.app_context():
        db.create_all()
        organisation = factories.make_org("customer")
        emails = [factories.make_member("customer", "admin", organisation=organisation).user.email
                  for _ in range(2)]
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_browser_process, args=(url, email, 10, barrier, queue)) for email in emails]
    for process in processes:
        process.start()
    results = [item for _process in processes for item in queue.get(timeout=240)]
    for process in processes:
        process.join(30)

    assert not [r for r in results if r[0] == "error"], [r for r in results if r[0] == "error"]
    statuses = {(kind, url): {status for k, u, status, _s in results if (k, u) == (kind, url)}
                for kind, url, _status, _statements in results}
    assert statuses == {("read", "/login"): {200}, ("write", "/login"): {303}, ("read", "/team"): {200},
                        ("refused", "/team"): {422}, ("refused", "/account/password"): {422},
                        ("read", "/customer/"): {200}}
    assert len(results) == 2 * (1 + 10 * 5)
    for kind, url, _status, statements in results:
        if kind == "write":
            assert any(s == "BEGIN IMMEDIATE" or not s.startswith("BEGIN") for s in statements), (url, statements)
        else:
            assert set(statements) <= {"BEGIN"}, (kind, url, statements)
    assert Path(str(tmp_path / "two.db") + "-writers").exists()


def test_undoing_a_refused_request_keeps_a_read_and_gives_back_a_writers_turn(sqlite):
    with sqlite.test_request_context():
        user = factories.make_user()
        db.session.commit()
        db.session.get(User, user.id)  # a transaction that has only read is kept, its objects loaded
        database.undo_writes()
        assert db.session().in_transaction() and not _turn_is_taken()
        db.session.commit()
        with writing():  # a writer's transaction holds the turn from its BEGIN IMMEDIATE: undone, it gives it back
            db.session.get(User, user.id)
            db.session.execute(text("SELECT 1"))
            assert _turn_is_taken()
            database.undo_writes()
        assert not db.session().in_transaction() and not _turn_is_taken()
