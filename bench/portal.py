"""The portal under test in one run: served by gunicorn on a generated database, every role logged in.

    with serve_portal(database_url, results_dir) as portal:
        response = portal.fetch(page)          # the page as its user asks for it
        portal.wrk_arguments(page, script_dir) # the same request for wrk
"""

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from bench.dataset import BENCH_PASSWORD, BENCH_USERS
from bench.pages import ALL, PARAMS, Page, roles
from bench.server import HarnessError, Response, Server, Session, bench_environment, gunicorn, login


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def lookup_params(database_url: str) -> dict:
    """The ids of the bench organisations, and every PARAMS value, from the generated database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            orgs = {}
            for (kind, _role), email in BENCH_USERS.items():
                orgs[kind] = connection.execute(text(
                    'SELECT m.organisation_id FROM membership m JOIN "user" u ON u.id = m.user_id '
                    "WHERE u.email = :email"), {"email": email}).scalar()
            if None in orgs.values():
                raise HarnessError("the database has no bench users: generate it with python -m bench.generate")
            params = {}
            for name, sql in PARAMS.items():
                statement = text(sql)
                binds = {key: orgs[key] for key in statement.compile().params if key in orgs}
                params[name] = connection.execute(statement, binds).scalar()
                if params[name] is None:
                    raise HarnessError(f"bench/pages.py PARAMS[{name!r}] found nothing in the generated data")
            return {"organisations": orgs, **params}
    finally:
        engine.dispose()


@dataclass
class Portal:
    server: Server
    params: dict
    sessions: dict[tuple[str, str], Session] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.server.base

    def session(self, page: Page) -> Session:
        return self.sessions[page.role] if page.role else Session(self.base)

    def url(self, page: Page) -> str:
        return page.url(self.params)

    def form_body(self, page: Page) -> str | None:
        if page.form is None:
            return None
        return urlencode({**page.filled_form(self.params), "csrf_token": self.session(page).csrf_token})

    def fetch(self, page: Page) -> Response:
        """The page as its user asks for it (cookies, CSRF token, htmx headers)."""
        session = self.session(page)
        form = None if page.form is None else {**page.filled_form(self.params), "csrf_token": session.csrf_token}
        # A visitor's fetch must not keep cookies; a user's keeps the session as a browser would.
        return session.request(self.url(page), page.method, form, page.request_headers())

    def check(self, page: Page) -> Response:
        response = self.fetch(page)
        if response.status != page.status:
            raise HarnessError(f"{page.label} answered {response.status}, expected {page.status}: "
                               f"{response.text[:200]!r}")
        return response

    def wrk_arguments(self, page: Page, script_dir: Path) -> list[str]:
        """wrk's arguments for this page's request: headers, and for a POST a Lua script with the body."""
        headers = dict(page.request_headers())
        session = self.session(page)
        if session.cookies:
            headers["Cookie"] = session.cookie_header()
        arguments = []
        if page.method != "GET":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            script = script_dir / f"request-{hashlib.sha256(page.label.encode()).hexdigest()[:10]}.lua"
            lines = [f"wrk.method = {lua_string(page.method)}", f"wrk.body = {lua_string(self.form_body(page))}"]
            lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()]
            script.write_text("\n".join(lines) + "\n")
            arguments += ["--script", str(script)]
        else:
            for name, value in headers.items():
                arguments += ["--header", f"{name}: {value}"]
        return arguments + [self.base + self.url(page)]


@contextmanager
def serve_portal(database_url: str, results_dir: Path, name: str = "portal", sql_count: bool = True):
    """The portal on `database_url` under gunicorn, with a logged-in session for every role of the pages."""
    params = lookup_params(database_url)
    env = bench_environment(database_url, results_dir / "instance", sql_count)
    with gunicorn(name, "wsgi:app", env, results_dir / "logs", probe="/login") as server:
        portal = Portal(server, params)
        try:
            for role in roles():
                if role not in BENCH_USERS:
                    raise HarnessError(f"bench/pages.py names the role {role}, which has no bench user")
                portal.sessions[role] = login(server.base, BENCH_USERS[role], BENCH_PASSWORD)
            for page in ALL:
                portal.check(page)
        except HarnessError as error:
            log = server.log_path.read_text(errors="replace").strip().splitlines()[-6:]
            raise HarnessError(f"{error}\n  the portal's log ({server.log_path}) ends with:\n    "
                               + "\n    ".join(log)) from error
        yield portal
