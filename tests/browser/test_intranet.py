"""An intranet serves the portal under /vitrine/ through its nginx, and one of its own pages frames it.

nginx (Debian's package; `.ci/run` installs it) is started by the test on loopback ports with a
configuration of its own: one server proxies /vitrine/ to the portal with X-Forwarded-Prefix, a second
origin serves a page that frames the portal (listed in PORTAL_FRAME_ANCESTORS), a third origin serves the
same page and is not listed — the browser must refuse that frame.
"""

import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from tests import factories
from tests.browser.conftest import HTTP_STATUS_MESSAGE, PageProblems
from tests.smtp import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  default_type text/html;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{proxy};
    location /vitrine/ {{
      proxy_pass http://127.0.0.1:{portal}/;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Prefix /vitrine;
      proxy_redirect off;
    }}
  }}
  server {{ listen 127.0.0.1:{framer}; root {root}/framer; }}
  server {{ listen 127.0.0.1:{stranger}; root {root}/stranger; }}
}}
"""

FRAME_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Intranet</title></head>
<body><h1>Company intranet</h1><iframe id="portal" title="Vitrine" src="{src}" width="1200" height="760"></iframe>
</body></html>"""


def _wait_for(url: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 (a loopback http:// address of the test)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def intranet(app, database_url, tmp_path):
    if not Path(NGINX).exists():
        pytest.skip("the intranet test needs nginx (apt-get install nginx)")
    ports = {name: free_port() for name in ("proxy", "framer", "stranger")}
    portal_app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "intranet-test",
        "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1,
        "PROXY_HOPS": 1, "TRUSTED_PROXIES": "127.0.0.1",
        "FRAME_ANCESTORS": f"'self' http://127.0.0.1:{ports['framer']}",
    })
    server = make_server("127.0.0.1", 0, portal_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="intranet-portal", daemon=True)
    thread.start()
    portal_url = f"http://127.0.0.1:{ports['proxy']}/vitrine/"
    for site in ("framer", "stranger"):
        (tmp_path / site).mkdir()
        (tmp_path / site / "index.html").write_text(FRAME_PAGE.format(src=portal_url + "login"))
    config = tmp_path / "nginx.conf"
    config.write_text(CONFIG.format(root=tmp_path, portal=server.server_port, **ports))
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(config)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    try:
        _wait_for(portal_url + "healthz")
        _wait_for(portal_url + "login", timeout=45)  # the templates of the login page compiled before the browser
        _wait_for(f"http://127.0.0.1:{ports['framer']}/")
        yield {"portal": portal_url, "framer": f"http://127.0.0.1:{ports['framer']}/",
               "stranger": f"http://127.0.0.1:{ports['stranger']}/"}
    finally:
        nginx.terminate()
        nginx.wait(10)
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_under_a_prefix_in_a_frame_of_the_intranet_a_customer_logs_in_and_opens_invoices(
        app, browser, intranet, screenshot):
    membership = factories.make_member("customer", "admin", name="Ana Intranet")
    factories.make_invoice(membership.organisation)
    db.session.commit()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    problems = PageProblems()
    page = context.new_page()
    problems.watch(page)
    try:
        _log_in_and_open_invoices(page, intranet, membership, screenshot)
    finally:
        context.close()
    # Chromium keeps a login field in a frame of another origin from taking the focus, and says so.
    assert [p for p in problems if "Blocked autofocusing" not in p] == []


def _log_in_and_open_invoices(page, intranet, membership, screenshot):
    page.goto(intranet["framer"])
    frame = page.frame_locator("#portal")
    frame.locator("#email").fill(membership.user.email)
    frame.locator("#password").fill(factories.PASSWORD)
    frame.locator("#password").press("Enter")
    portal_frame = next(f for f in page.frames if f != page.main_frame)
    # A portal built for this test alone compiles each template on its first request: on two busy cores the
    # first page after the login can take longer than an action's 10 s.
    portal_frame.wait_for_url("**/vitrine/customer/", timeout=45_000)
    frame.locator("nav a", has_text="Invoices").first.click()
    portal_frame.wait_for_url("**/vitrine/customer/invoices", timeout=45_000)
    expect(frame.get_by_role("heading", level=1)).to_contain_text("Invoices")
    expect(frame.locator("table tbody tr")).to_have_count(1)
    # Every address the portal wrote kept the prefix: styles and scripts loaded, links lead under /vitrine/.
    hrefs = frame.locator("a[href^='/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs and all(href.startswith("/vitrine/") for href in hrefs), hrefs
    assert frame.locator("body").evaluate("b => getComputedStyle(b).fontFamily") != "Times New Roman"
    screenshot(page, "intranet-framed-invoices")


def test_an_origin_not_listed_cannot_frame_the_portal(browser, intranet):
    context = browser.new_context()
    refusals = []
    try:
        page = context.new_page()
        page.on("console", lambda message: refusals.append(message.text)
                if "frame-ancestors" in message.text and not message.text.startswith(HTTP_STATUS_MESSAGE) else None)
        page.goto(intranet["stranger"])
        deadline = time.monotonic() + 10
        while not refusals and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert refusals, "the browser did not refuse the frame"
        framed = next(f for f in page.frames if f != page.main_frame)
        assert framed.locator("#email").count() == 0
    finally:
        context.close()
