"""Browser tests: the real portal served from a thread, driven by Debian's Chromium through Playwright.

Every test here is marked `browser` (`pytest -m "not browser"` leaves them out) and is skipped, with the
reason, only when /usr/bin/chromium is missing. Fixtures:

- `live_url`: the portal of the test's `app` (same test database, tables emptied) on 127.0.0.1, free port
  (under pytest-xdist each worker serves its own, on its own database, and drives its own Chromium);
- `page`: a fresh Chromium tab (1280×800, English) that fails the test on any JavaScript error, CSP
  violation or 5xx response seen while it was open;
- `browser_login(kind, role)`: a new member of a new organisation, logged in through the login form;
- `screenshot(page, name)`: a full-page PNG under screenshots/ (git-ignored), for people to look at; each
  test names its own, and the file is replaced whole, so parallel workers never leave a half-written one.

The test's own database session keeps a snapshot open on SQLite: call `db.session.rollback()` before
reading what the browser's requests wrote.
"""

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.extensions import db
from tests import factories

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
HERE = Path(__file__).resolve().parent
# Chromium reports every 4xx as a console error; the tests assert those statuses themselves.
HTTP_STATUS_MESSAGE = "Failed to load resource: the server responded with a status of 4"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (20 s, not Playwright's 5 s): on two busy cores an htmx
    # swap can take several seconds (a shared host runs at half speed at times), and a slow machine is not a
    # failure of the page.
    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def live_url(app):
    """The test's app served by werkzeug from a thread on a free port of 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-portal", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class PageProblems(list):
    """What went wrong in the page while the test ran: JS errors, CSP violations, server errors."""

    def watch(self, page):
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.append(f"uncaught JavaScript error: {error}"))
        page.on("response", self._response)

    def _console(self, message):
        if message.type == "error" and not message.text.startswith(HTTP_STATUS_MESSAGE):
            self.append(f"console error on {message.location.get('url', '?')}: {message.text}")
        elif "Content Security Policy" in message.text:
            self.append(f"CSP: {message.text}")

    def _response(self, response):
        if response.status >= 500:
            self.append(f"{response.status} from {response.request.method} {response.url}")


@pytest.fixture
def new_page(browser, live_url):
    """Open more tabs, each in its own browser context (own cookies), all watched for problems."""
    contexts = []
    problems = PageProblems()

    def open_page(width: int = 1280, height: int = 800, locale: str = "en-US", javascript: bool = True, **options):
        context = browser.new_context(
            base_url=live_url,
            viewport={"width": width, "height": height},
            locale=locale,
            java_script_enabled=javascript,
            reduced_motion="reduce",
            **options,
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        tab = context.new_page()
        problems.watch(tab)
        return tab

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, "the browser saw problems:\n" + "\n".join(problems)


@pytest.fixture
def page(new_page):
    return new_page()


def log_in(page, email: str, password: str = factories.PASSWORD) -> None:
    """Log in through the login form, as a person does, and wait for the landing page."""
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#login_form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def browser_login(app, page):
    """browser_login("customer", "admin") → a new member of a new organisation, logged in in `page`."""

    def login(kind: str, role: str | None = None, organisation=None, tab=None, **user_fields):
        membership = factories.make_member(kind, role, organisation=organisation, **user_fields)
        db.session.commit()
        log_in(tab or page, membership.user.email)
        return membership

    return login


@pytest.fixture
def screenshot():
    def save(page, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        partial = path.with_name(f".{name}.{os.getpid()}.png")
        page.screenshot(path=str(partial), full_page=True)
        os.replace(partial, path)
        return path

    return save


def add_card_on_the_gateway(page, holder: str, returns_to: str) -> None:
    """From a payment methods screen in pt_BR: "Adicionar um cartão", the test card typed on the sandbox
    gateway's own page (the only place its number is typed), saved, and confirmed back at `returns_to`."""
    page.locator("main").get_by_role("button", name="Adicionar um cartão").click()
    page.wait_for_url("**/sandbox-gateway/capture**")
    page.get_by_label("Número do cartão").fill("4242 4242 4242 4242")
    page.get_by_label("Validade (MM/AA)").fill("12/30")
    page.get_by_label("Código de segurança").fill("123")
    page.get_by_label("Nome no cartão").fill(holder)
    page.get_by_role("button", name="Salvar o cartão").click()
    page.wait_for_url(f"**{returns_to}**")
