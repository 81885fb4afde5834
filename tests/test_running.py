"""Running for real: health checks, request ids and structured logs, the worker command, backup and restore."""

import io
import json
import logging
import os
import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest
from flask_migrate import upgrade
from huey import MemoryHuey

from portal import create_app, observability
from portal.backup import BackupError, make_backup, restore_backup
from portal.extensions import db
from portal.jobs import carry_request_ids
from tests import factories
from tests.conftest import fresh_database_url


def _app(url: str, **overrides):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "k", **overrides})


# --- health ---------------------------------------------------------------------------------------------------

def test_healthz_answers_without_a_database_and_readyz_says_not_ready():
    app = _app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1")
    client = app.test_client()
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.get_data(as_text=True) == "ok\n"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_data(as_text=True) == "not ready\n"


def test_readyz_is_503_until_the_database_is_migrated_to_head():
    url, drop = fresh_database_url("readyz")
    try:
        app = _app(url)
        client = app.test_client()
        with app.app_context():
            db.create_all()  # every table, but no migration recorded: not the code's revision
        assert client.get("/readyz").status_code == 503
        with app.app_context():
            db.drop_all()
            upgrade()
            db.engine.dispose()
        answer = client.get("/readyz")
        assert answer.status_code == 200 and answer.get_data(as_text=True) == "ready\n"
        assert answer.headers["Cache-Control"] == "no-store"
        with app.app_context():
            db.drop_all()
            db.session.execute(db.text("DROP TABLE IF EXISTS alembic_version"))
            db.session.commit()
            db.engine.dispose()
    finally:
        drop()


def test_readyz_is_503_while_the_queue_is_unreachable(app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    assert app.test_client().get("/readyz").status_code == 503


@pytest.fixture
def limited(tmp_path):
    """limited(**limits) → a client of an app with those limits, on a migrated database (so /readyz says
    ready). The limiter's defaults are put back afterwards: it is one object, shared by every app of the
    process."""
    from portal.extensions import limiter
    from tests.conftest import PortalClient

    def make(**limits):
        url = f"sqlite:///{tmp_path / 'limits.db'}"
        app = _app(url, **limits)
        app.test_client_class = PortalClient
        with app.app_context():
            upgrade()
            db.engine.dispose()
        limiter.reset()
        return app.test_client()

    try:
        yield make
    finally:
        limiter.limit_manager.set_default_limits([])
        limiter.limit_manager.set_application_limits([])
        limiter.reset()


def _hammer(client, times: int = 40) -> set[int]:
    return {client.get(path).status_code for _ in range(times) for path in ("/healthz", "/readyz")}


def test_the_health_checks_answer_past_the_login_limit(limited):
    client = limited(LOGIN_LIMIT="3 per 15 minutes")
    token = client.csrf_token()
    tries = [client.post("/login", data={"csrf_token": token, "email": "nobody@example.test", "password": "wrong"})
             for _ in range(5)]
    assert [answer.status_code for answer in tries] == [422, 422, 422, 429, 429]  # the address is over its limit
    assert _hammer(client) == {200}


def test_the_health_checks_answer_past_the_default_and_application_limits(limited):
    client = limited(RATELIMIT_DEFAULT="5 per minute", RATELIMIT_APPLICATION="8 per minute")
    assert 429 in {client.get("/login").status_code for _ in range(10)}  # the limits are on
    assert _hammer(client) == {200}


# --- request ids and logs ------------------------------------------------------------------------------------

@pytest.fixture
def json_log():
    """The JSON lines written to the portal's log while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(observability.RequestContextFilter())
    handler.setFormatter(observability.JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_each_request_gets_an_id_and_one_log_line_with_who_and_how_long(app, login_as, json_log):
    client = login_as("customer", "admin")
    answer = client.get("/customer/")
    request_id = answer.headers["X-Request-ID"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    lines = [line for line in json_log() if line["logger"] == "portal.request" and line["request_id"] == request_id]
    assert len(lines) == 1
    line = lines[0]
    assert line["level"] == "INFO" and line["status"] == 200 and line["route"] == "customer.home"
    assert line["user_id"] == client.user.id and line["organisation_id"] == client.organisation.id
    assert line["duration_ms"] >= 0 and line["method"] == "GET" and "time" in line
    assert client.get("/customer/").headers["X-Request-ID"] != request_id


def test_health_checks_are_logged_at_debug_only(client, json_log):
    client.get("/healthz")
    assert [line["level"] for line in json_log() if line["logger"] == "portal.request"] == ["DEBUG"]


@pytest.mark.parametrize(("hops", "given", "kept"), [
    (0, "from-anyone-1234", False),     # no trusted proxy: a client's header is not believed
    (1, "proxy-id.42:a_b-c", True),      # from the trusted proxy: kept
    (1, "x" * 129, False),               # too long: replaced
    (1, "abc\x01def", False),            # a control character: replaced
    (1, "abc def", False),               # not a plain token
])
def test_a_proxys_request_id_is_kept_only_when_trusted_and_plain(database_url, hops, given, kept):
    app = _app(database_url, PROXY_HOPS=hops)
    answer = app.test_client().get("/healthz", headers={"X-Request-ID": given})
    returned = answer.headers["X-Request-ID"]
    assert (returned == given) is kept
    if not kept:
        assert given not in returned and len(returned) == 32


def test_a_job_queued_by_a_request_logs_the_requests_id_in_the_worker(app):
    queue = MemoryHuey("request-id-test", immediate=False)
    carry_request_ids(queue)
    seen = []

    @queue.task()
    def probe(value):
        seen.append((value, observability.current_request_id()))

    with app.test_request_context("/"):
        from flask import g

        g.request_id = "req-from-the-click"
        probe(7)

    def worker():
        queue.execute(queue.dequeue())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(5)
    assert seen == [(7, "req-from-the-click")]
    assert observability.job_request_id.get() is None


def test_the_text_format_names_the_request_id():
    record = logging.LogRecord("portal.x", logging.INFO, __file__, 1, "hello", None, None)
    observability.RequestContextFilter().filter(record)
    assert "[None] hello" in observability.TextFormatter().format(record)


# --- the worker command ---------------------------------------------------------------------------------------

def test_the_worker_command_is_there_and_stops_gracefully_on_sigterm(runner):
    answer = runner.invoke(args=["worker", "--help"])
    assert answer.exit_code == 0 and "SIGTERM" in answer.output
    assert runner.invoke(args=["worker", "--workers", "0"]).exit_code != 0


# --- backup and restore ---------------------------------------------------------------------------------------

@pytest.fixture
def install(tmp_path):
    """A one-box install: an instance folder with a migrated SQLite database, a secret key and some rows."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("the-install-secret")
    url = f"sqlite:///{instance / 'vitrine.db'}"
    app = _app(url)
    with app.app_context():
        upgrade()
        factories.make_member("customer", "admin")
        db.session.commit()
        db.engine.dispose()
    return instance, url


def _rows(path, sql):
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_backup_during_writes_restores_a_consistent_copy_with_the_same_rows(install, tmp_path):
    instance, url = install
    database = instance / "vitrine.db"
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE backup_probe (batch INTEGER, n INTEGER)")
    connection.commit()
    stop = threading.Event()

    def write(first_batch):
        writer = sqlite3.connect(database, timeout=30)
        batch = first_batch
        while not stop.is_set():
            batch += 1
            with writer:  # ten rows a transaction: a consistent copy holds whole batches only
                writer.executemany("INSERT INTO backup_probe VALUES (?, ?)", [(batch, n) for n in range(10)])
        writer.close()

    threads = [threading.Thread(target=write, args=(writer * 1_000_000,)) for writer in range(2)]
    for thread in threads:
        thread.start()
    try:
        while _rows(database, "SELECT count(*) FROM backup_probe")[0][0] < 200:
            pass
        archive = tmp_path / "backup.tar.gz"
        manifest = make_backup(archive, database_url=url, instance_path=instance, revision="r")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    connection.close()
    assert manifest["members"] == ["vitrine.db", "secret_key"]
    with tarfile.open(archive) as opened:
        assert sorted(opened.getnames()) == ["manifest.json", "secret_key", "vitrine.db"]

    fresh = tmp_path / "restored"
    fresh.mkdir()
    restored_url = f"sqlite:///{fresh / 'vitrine.db'}"
    restore_backup(archive, database_url=restored_url, instance_path=fresh)
    copy = fresh / "vitrine.db"
    assert _rows(copy, "PRAGMA integrity_check") == [("ok",)]
    counts = _rows(copy, "SELECT batch, count(*) FROM backup_probe GROUP BY batch")
    assert counts and all(count == 10 for _batch, count in counts)
    assert _rows(copy, "SELECT id, name FROM organisation") == _rows(database, "SELECT id, name FROM organisation")
    assert _rows(copy, "SELECT email FROM user") == _rows(database, "SELECT email FROM user")
    assert (fresh / "secret_key").read_text() == "the-install-secret"


def test_a_backup_never_overwrites_and_says_why(install, tmp_path):
    instance, url = install
    existing = tmp_path / "taken.tar.gz"
    existing.write_text("mine")
    with pytest.raises(BackupError, match="already exists"):
        make_backup(existing, database_url=url, instance_path=instance, revision="r")
    assert existing.read_text() == "mine"
    with pytest.raises(BackupError, match="is not a folder"):
        make_backup(tmp_path / "no" / "such" / "b.tar.gz", database_url=url, instance_path=instance, revision="r")
    assert list(tmp_path.glob(".*part")) == []


def test_restore_refuses_a_live_database_without_force_and_a_file_that_is_not_a_backup(install, tmp_path):
    instance, url = install
    archive = tmp_path / "b.tar.gz"
    make_backup(archive, database_url=url, instance_path=instance, revision="r")
    before = (instance / "vitrine.db").read_bytes()
    with pytest.raises(BackupError, match="--force"):
        restore_backup(archive, database_url=url, instance_path=instance)
    assert (instance / "vitrine.db").read_bytes() == before
    restore_backup(archive, database_url=url, instance_path=instance, force=True)
    assert _rows(instance / "vitrine.db", "PRAGMA integrity_check") == [("ok",)]

    not_a_backup = tmp_path / "notes.tar.gz"
    not_a_backup.write_text("hello")
    with pytest.raises(BackupError, match="not a Vitrine backup"):
        restore_backup(not_a_backup, database_url=f"sqlite:///{tmp_path / 'x.db'}", instance_path=tmp_path)
    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as opened:
        opened.add(not_a_backup, arcname="manifest.json")
    with pytest.raises(BackupError, match="not a Vitrine backup"):
        restore_backup(foreign, database_url=f"sqlite:///{tmp_path / 'x.db'}", instance_path=tmp_path)
    assert not (tmp_path / "x.db").exists()


def test_the_commands_exit_non_zero_with_the_reason(install, tmp_path, monkeypatch):
    instance, url = install
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    app = _app(url)
    runner = app.test_cli_runner()
    archive = tmp_path / "cli.tar.gz"
    made = runner.invoke(args=["backup", str(archive)])
    assert made.exit_code == 0, made.output
    assert "backup written" in made.output
    again = runner.invoke(args=["backup", str(archive)])
    assert again.exit_code != 0 and "already exists" in again.output
    refused = runner.invoke(args=["restore", str(archive)])
    assert refused.exit_code != 0 and "--force" in refused.output
    missing = runner.invoke(args=["restore", str(tmp_path / "none.tar.gz")])
    assert missing.exit_code != 0 and "no file" in missing.output


def _unwritable_folder(tmp_path):
    """A folder that exists and refuses new files. Root writes into any folder whatever its mode (chmod
    does not stop it, and os.access says yes), so as root the test uses /proc, which refuses files to
    everyone."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    return Path("/proc")


def test_a_backup_into_a_folder_that_cannot_be_written_says_so_and_leaves_nothing(install, tmp_path, monkeypatch):
    instance, url = install
    folder = _unwritable_folder(tmp_path)
    before = set(os.listdir(folder))
    with pytest.raises(BackupError, match="cannot be written to"):
        make_backup(folder / "b.tar.gz", database_url=url, instance_path=instance, revision="r")
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    answer = _app(url).test_cli_runner().invoke(args=["backup", str(folder / "b.tar.gz")])
    assert answer.exit_code != 0 and f"{folder} cannot be written to" in answer.output, answer.output
    assert "Traceback" not in answer.output
    assert not [name for name in set(os.listdir(folder)) - before if "b.tar.gz" in name or "vitrine" in name]


def test_the_log_scanner_finds_each_kind_of_secret():
    from tests.log_scan import secrets_in

    assert secrets_in("login with correct horse battery") == ["password 'correct horse battery'"]
    assert secrets_in("paid with 4242 4242 4242 4242")[0].startswith("card 4242")
    assert secrets_in("key vk_live_abcdefghijklmnopqrstuvwxyz")[0].startswith("integration key vk_live_")
    assert secrets_in("GET /password/reset/Abcdefghijklmnopqrstu 200")[0].startswith("link token")
    assert secrets_in("GET /password/reset/<token> 200 3.1 ms") == []


def test_a_request_log_line_names_the_route_not_a_secret_address(client, json_log):
    client.get("/password/reset/a-secret-token-of-the-link-1234567")
    lines = [line for line in json_log() if line["logger"] == "portal.request"]
    assert lines and "a-secret-token" not in lines[0]["message"] and "<token>" in lines[0]["message"]
