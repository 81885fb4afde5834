"""The production processes as an operator runs them — `flask --app portal worker` and gunicorn with the project's
gunicorn.conf.py, real subprocesses on a one-box install (an instance folder with SQLite, jobs on its SQLite file):
SIGTERM lets the work in hand finish and exits 0, and gunicorn's access log names each request's id."""

import hashlib
import http.client
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db, make_huey
from portal.jobs import render_invoice_pdfs
from tests import factories
from tests.smtp import free_port

PROJECT = Path(__file__).resolve().parents[1]
CONFIG = PROJECT / "gunicorn.conf.py"
STARTUP = 90  # seconds: a busy 2-core machine imports the app slowly
STOPPING = 60


def _wait_for(condition, seconds: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if process is not None and process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before {what}")
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


@pytest.fixture
def install(tmp_path):
    """A one-box install: an instance folder with a migrated SQLite database, a customer who logs in, and the
    environment its processes run with."""
    instance = tmp_path / "instance"
    instance.mkdir()
    url = f"sqlite:///{instance / 'vitrine.db'}"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PORTAL_")}
    environment.update(PORTAL_INSTANCE_PATH=str(instance), PORTAL_DATABASE_URL=url, PORTAL_SECRET_KEY="stop-test",
                       PORTAL_LOG_LEVEL="INFO")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "stop-test",
                      "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1})
    with app.app_context():
        upgrade()
        member = factories.make_member("customer", "admin")
        db.session.commit()
        organisation_id, email = member.organisation_id, member.user.email
    return {"app": app, "instance": instance, "database": instance / "vitrine.db", "env": environment,
            "organisation_id": organisation_id, "email": email}


def _rows(database: Path, sql: str, *args):
    connection = sqlite3.connect(database, timeout=30)
    try:
        return connection.execute(sql, args).fetchall()
    finally:
        connection.close()


# --- the worker -----------------------------------------------------------------------------------------------

def test_the_worker_finishes_the_job_in_hand_on_sigterm_and_exits_0(install):
    app = install["app"]
    with app.app_context():
        organisation = db.session.get(factories.Organisation, install["organisation_id"])
        invoice_ids = [factories.make_invoice(organisation).id for _ in range(60)]
        db.session.commit()
        db.engine.dispose()
    # The queue the worker consumes, the instance folder's jobs.db (no Redis configured), with the job that
    # renders a billing run's PDFs under its own name (this process's queue is another instance folder's).
    queue = make_huey("", str(install["instance"]))
    queued = queue.task()(render_invoice_pdfs.func)(invoice_ids)
    assert [task.id for task in queue.pending()] == [queued.id]

    output = install["instance"] / "worker.log"  # a file, not a pipe: a full pipe would stall the worker
    with output.open("wb") as sink:
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "portal", "worker", "--workers", "1"],
                                  cwd=PROJECT, env=install["env"], stdout=subprocess.DEVNULL, stderr=sink)
    try:
        def rendering():
            kept = _rows(install["database"], "SELECT count(*) FROM invoice_pdf")[0][0]
            return kept >= 1 and kept
        started = _wait_for(rendering, STARTUP, "the worker rendered a first PDF", worker)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=STOPPING) == 0, output.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert started < len(invoice_ids), "the job ended before the signal: it proves nothing, make it longer"

    # Finished, not abandoned: every PDF of the job is kept, each whole, and nothing is left in the queue.
    pdfs = _rows(install["database"], "SELECT invoice_id, content, sha256 FROM invoice_pdf")
    assert sorted(invoice_id for invoice_id, _content, _sha in pdfs) == sorted(invoice_ids)
    for _invoice_id, content, sha256 in pdfs:
        assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
        assert hashlib.sha256(content).hexdigest() == sha256
    # (A periodic job the schedule queued meanwhile may wait there: a stopping worker takes no new job.)
    assert queued.id not in [task.id for task in queue.pending()]


# --- gunicorn -------------------------------------------------------------------------------------------------

def _start_gunicorn(install):
    port = free_port()
    log = install["instance"] / "access.log"
    with (install["instance"] / "gunicorn.log").open("wb") as sink:  # a file: a full pipe would stall gunicorn
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "-w", "1", "-b", f"127.0.0.1:{port}",
             "--access-logfile", str(log), "wsgi:app"],
            cwd=PROJECT, env=install["env"], stdout=subprocess.DEVNULL, stderr=sink,
        )

    def answering():
        try:
            return _get(port, "/healthz")[0] == 200
        except OSError:
            return False
    try:
        _wait_for(answering, STARTUP, "gunicorn answered /healthz", server)
    except BaseException:
        _stop(server)
        raise
    return server, port, log


def _get(port: int, path: str) -> tuple[int, str | None]:
    """The status and the X-Request-ID of a GET."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        return answer.status, answer.getheader("X-Request-ID")
    finally:
        connection.close()


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.kill()
    server.wait()


def _cookies(answer: http.client.HTTPResponse) -> dict[str, str]:
    return dict(header.split(";", 1)[0].split("=", 1) for header in answer.headers.get_all("Set-Cookie") or ())


def _log_in(port: int, email: str) -> str:
    """The cookies of `email`'s session, logged in through the login form as a browser would."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/login")
        page = connection.getresponse()
        cookies = _cookies(page)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode()).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": factories.PASSWORD})
        connection.request("POST", "/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())})
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()
    assert answer.status == 303, answer.status
    cookies.update(_cookies(answer))
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _many_invoices(install, count: int) -> None:
    """`count` issued invoices of the customer, copied in SQL from one made by the factory (fast)."""
    app = install["app"]
    with app.app_context():
        organisation = db.session.get(factories.Organisation, install["organisation_id"])
        first = factories.make_invoice(organisation)
        db.session.commit()
        columns = [column.name for column in first.__table__.columns if column.name not in ("id", "number")]
        names = ", ".join(columns)
        db.session.execute(db.text(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "  # noqa: S608
            f"INSERT INTO invoice ({names}, number) SELECT {names}, number + i FROM invoice, n WHERE id = :id"),
            {"count": count - 1, "id": first.id})
        db.session.commit()
        db.engine.dispose()


def test_gunicorn_on_sigterm_finishes_the_download_in_flight_and_exits_0(install):
    invoices = 20_000
    _many_invoices(install, invoices)
    server, port, _log = _start_gunicorn(install)
    with ExitStack() as stack:
        stack.callback(_stop, server)
        cookie = _log_in(port, install["email"])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        stack.callback(connection.close)
        connection.request("GET", "/customer/invoices.csv", headers={"Cookie": cookie})
        answer = connection.getresponse()  # the status and headers are here: the body is being streamed
        assert answer.status == 200 and answer.getheader("Content-Type").startswith("text/csv")
        server.send_signal(signal.SIGTERM)

        def refusing():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            except OSError:
                return True
            return False
        _wait_for(refusing, STOPPING, "gunicorn stopped taking new connections")  # it is stopping, and then:
        body = answer.read().decode("utf-8-sig")  # http.client raises IncompleteRead if the stream is cut
        assert server.wait(timeout=STOPPING) == 0, (install["instance"] / "gunicorn.log").read_text()
    lines = body.splitlines()
    assert len(lines) == 1 + invoices  # the header, then every invoice


def test_gunicorns_access_log_names_the_request_id_of_the_response(install):
    server, port, log = _start_gunicorn(install)
    try:
        ids = [(path, *_get(port, path)) for path in ("/healthz", "/login", "/no-such-page")]
        server.send_signal(signal.SIGTERM)  # read once gunicorn has stopped: every line is written by then
        assert server.wait(timeout=STOPPING) == 0
    finally:
        _stop(server)
    lines = log.read_text().splitlines()
    for path, status, request_id in ids:
        assert request_id and len(request_id) == 32
        logged = [line for line in lines if f"rid={request_id}" in line]
        assert len(logged) == 1, (path, lines)
        assert f" GET {status} " in logged[0]
