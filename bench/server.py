"""Servers under test and a tiny HTTP client: gunicorn in its own process group, logins, fetches.

Every process started here runs in a new session (its own process group) and is registered, so
`stop_all()` — called from `finally` blocks and from the SIGTERM handler of bench/run.py — leaves
no stray server behind even when a run is interrupted halfway.
"""

import gzip
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GUNICORN_WORKERS = 2
SESSION_COOKIE = "vitrine_session"
CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')

_running: dict[int, subprocess.Popen] = {}


class HarnessError(RuntimeError):
    """The benchmark itself could not run (a server did not start, a login failed, a tool is missing)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_group(cmd: list[str], **kwargs) -> subprocess.Popen:
    """Start `cmd` in its own process group and remember it until `stop_group`."""
    process = subprocess.Popen(cmd, start_new_session=True, **kwargs)
    _running[process.pid] = process
    return process


def stop_group(process: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not gone after `grace` seconds."""
    _running.pop(process.pid, None)
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def stop_all() -> None:
    for process in list(_running.values()):
        stop_group(process)


def run_bounded(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run a tool to completion in its own process group; kill the whole group on timeout or interruption."""
    process = start_group(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise HarnessError(f"{cmd[0]} did not finish within {timeout:.0f} s") from error
    finally:
        stop_group(process)
    return subprocess.CompletedProcess(cmd, process.returncode, out, err)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def gzipped_size(self) -> int:
        return len(gzip.compress(self.body, 9))


def fetch(base: str, path: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None,
          timeout: float = 30) -> Response:
    """One request over a fresh connection; redirects are not followed."""
    host, port = base.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        raw = connection.getresponse()
        data = raw.read()
        # Set-Cookie may repeat; keep them all, joined, as a browser would read them one by one.
        found: dict[str, str] = {}
        for name, value in raw.getheaders():
            key = name.lower()
            found[key] = f"{found[key]}\n{value}" if key in found else value
        return Response(raw.status, found, data)
    finally:
        connection.close()


@dataclass
class Session:
    """A logged-in user agent: its cookies and CSRF token, for fetches and for wrk's Cookie header."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf_token: str = ""

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def _remember(self, response: Response) -> None:
        for line in response.headers.get("set-cookie", "").split("\n"):
            if not line:
                continue
            jar = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)

    def request(self, path: str, method: str = "GET", form: dict | None = None, headers: dict | None = None
                ) -> Response:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = self.cookie_header()
        body = None
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        response = fetch(self.base, path, method, sent, body)
        self._remember(response)
        found = CSRF_RE.search(response.text) if response.headers.get("content-type", "").startswith(
            "text/html") else None
        if found:
            self.csrf_token = found.group(1)
        return response


def login(base: str, email: str, password: str) -> Session:
    """Log in through the login form, as a browser does, and return the session (CSRF token ready)."""
    session = Session(base)
    session.request("/login")
    if not session.csrf_token:
        raise HarnessError("the login page has no CSRF token")
    response = session.request("/login", "POST", {"email": email, "password": password,
                                                  "csrf_token": session.csrf_token})
    if response.status != 303:
        raise HarnessError(f"login as {email} answered {response.status}, not 303: {response.text[:300]}")
    # A page renders the CSRF token into the session cookie, as the first page after login does.
    session.request(urlsplit(response.headers.get("location", "/")).path or "/")
    return session


def _wait_until_up(base: str, process: subprocess.Popen, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(f"the server at {base} exited with status {process.returncode}")
        try:
            fetch(base, path, timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise HarnessError(f"the server at {base} did not answer within {timeout:.0f} s")


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen
    log_path: Path


def bench_environment(database_url: str, instance_path: Path, sql_count: bool) -> dict[str, str]:
    """The portal's environment for a benchmark: the generated database, a stable secret, quiet logs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    env.update({
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": str(instance_path),
        "PORTAL_SECRET_KEY": secrets.token_urlsafe(32),
        # The harness re-sends one cookie for many minutes; an idle timeout must not log it out midway.
        "PORTAL_SESSION_IDLE_MINUTES": "720",
        # wrk re-sends the same failing form thousands of times: the limiter still runs, but must not refuse it.
        "PORTAL_LOGIN_LIMIT": "1000000 per minute",
        # A log line per request (portal/observability.py) is the operator's, not the page's cost.
        "PORTAL_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(PROJECT_ROOT),
    })
    if sql_count:
        env["PORTAL_BENCH_SQL_COUNT"] = "1"
    return env


@contextmanager
def gunicorn(name: str, app_spec: str, env: dict[str, str], log_dir: Path, probe: str = "/"):
    """Serve `app_spec` with the project's gunicorn.conf.py (its garbage-collector freezes; 2 sync workers,
    loopback, a free port) for the `with` block."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    cmd = [sys.executable, "-m", "gunicorn", "--config", str(PROJECT_ROOT / "gunicorn.conf.py"),
           "--workers", str(GUNICORN_WORKERS), "--worker-class", "sync",
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--graceful-timeout", "3", app_spec]
    with open(log_path, "w") as log:
        process = start_group(cmd, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(base, process, probe)
        yield Server(name, base, process, log_path)
    finally:
        stop_group(process)
