"""Fixtures: a fresh database per run (SQLite, or PostgreSQL when PORTAL_TEST_DATABASE_URL is set),
an app and client per test with empty tables, clients logged in as any role, and a query counter.

Under pytest-xdist (`-n auto` in pyproject's addopts) each worker is its own process: it imports this
module, so it has its own temporary folder (SQLite files, instance folder) and its own databases, named
with the worker's id (gw0, gw1, …)."""

import os
import re
import secrets
import tempfile
from pathlib import Path

import pytest
from flask import has_app_context
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

# "gw0", "gw1", … under pytest-xdist; "main" when the suite runs in one process (`-n 0`).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_TMP = Path(tempfile.mkdtemp(prefix=f"vitrine-tests-{WORKER}-"))
os.environ["PORTAL_INSTANCE_PATH"] = str(_TMP / "instance")
os.environ.pop("PORTAL_REDIS_URL", None)

from portal import create_app  # noqa: E402
from portal.extensions import db, huey, limiter  # noqa: E402
from tests import factories, log_scan  # noqa: E402

huey.immediate = True
log_scan.install()

CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


def fresh_database_url(label: str = "test") -> tuple[str, callable]:
    """A database no other run uses, and how to drop it afterwards."""
    server = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not server:
        return f"sqlite:///{_TMP / f'{label}-{WORKER}.db'}", lambda: None
    name = f"vitrine_{label}_{WORKER}_{os.getpid()}_{secrets.token_hex(4)}"
    admin_url = make_url(server).set(database="postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url():
    url, drop = fresh_database_url()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        with app.app_context():
            # The schema comes from the models; tests/test_migrations.py proves the migrations reach the same.
            db.create_all()
            db.engine.dispose()
        yield url
    finally:
        drop()


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


def _end_test_transaction() -> None:
    """Commit the test's own transaction before a request. Reading a lazy attribute after a commit opens a
    new one, and on SQLite (WAL) it keeps its snapshot: the test would not see what the request writes, and
    its next write would fail with "database is locked" (on PostgreSQL its row locks could block the request)."""
    if has_app_context() and db.session().in_transaction():
        db.session.commit()


class PortalClient(FlaskClient):
    """A test client that knows its CSRF token, so tests post forms as a browser does.

    Each request runs in its own app context, as in production: the test's own context (and its `g`
    and database session) is not shared with the request, so commit before requesting.
    """

    def open(self, *args, **kwargs):
        _end_test_transaction()
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)

    def csrf_token(self) -> str:
        page = self.get("/this-page-does-not-exist").get_data(as_text=True)
        found = CSRF_RE.search(page)
        assert found, page[:2000]
        return found.group(1)

    def form_post(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)

    def login(self, email: str, password: str = factories.PASSWORD):
        response = self.form_post("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return response


@pytest.fixture(autouse=True)
def _nothing_secret_is_logged():
    """Every record of the test, its fixtures' too, scanned for secrets (tests/log_scan.py)."""
    log_scan.scanner.findings.clear()
    yield
    findings, log_scan.scanner.findings[:] = list(log_scan.scanner.findings), []
    assert not findings, "a secret was written to the log:\n" + "\n".join(findings)


@pytest.fixture
def app(database_url):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key",
            "BASE_URL": "http://portal.test",
            "SMTP_HOST": "",
            # Still Argon2id, at the smallest cost: each test user's password is hashed in microseconds.
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_KIB": 8,
            "PASSWORD_HASH_PARALLELISM": 1,
        }
    )
    app.test_client_class = PortalClient
    with app.app_context():
        _empty_tables()
        limiter.reset()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app) -> PortalClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login_as(app):
    """login_as("customer", "admin") → a client logged in as a new user of a new organisation of that kind."""

    def login(kind: str, role: str | None = None, organisation=None, **user_fields):
        membership = factories.make_member(kind, role, organisation=organisation, **user_fields)
        db.session.commit()
        client = app.test_client()
        client.login(membership.user.email)
        client.membership = membership
        client.user = membership.user
        client.organisation = membership.organisation
        return client

    return login


@pytest.fixture
def count_queries(app):
    """Count the SQL statements run inside the `with` block: `with count_queries() as counter: …`."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        counter = {"n": 0}

        def before(*_args):
            counter["n"] += 1

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return counting
