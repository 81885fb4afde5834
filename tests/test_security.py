"""Browser hardening (QUALITY.md R5): CSRF, body size, security headers, cookies, and a reverse proxy
with a URL prefix."""

import re

import pytest

from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent
from tests import factories
from tests.conftest import PortalClient


@pytest.fixture
def portal_with(app, database_url, monkeypatch):
    """portal_with(PORTAL_X="1") → a portal built from these PORTAL_* variables, on the (emptied) test database."""
    made = []

    def build(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "another-key",
                            "PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8,
                            "PASSWORD_HASH_PARALLELISM": 1})
        other.test_client_class = PortalClient
        made.append(other)
        return other

    yield build
    for other in made:
        with other.app_context():
            db.engine.dispose()


def _member():
    membership = factories.make_member("customer", "admin")
    db.session.commit()
    return membership.user.email


def test_a_post_without_the_csrf_token_is_refused_with_the_form_has_expired_page(app, client):
    email = _member()
    response = client.post("/login", data={"email": email, "password": factories.PASSWORD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The form has expired" in page and "Reload the page and send the form again." in page
    spanish = client.post("/login", data={"email": email}, headers={"Accept-Language": "es"})
    assert spanish.status_code == 400 and "El formulario expiró" in spanish.get_data(as_text=True)
    forged = client.post("/login", data={"email": email, "password": factories.PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert db.session.scalar(db.select(AuditEvent)) is None  # nothing happened


def test_every_form_of_the_portal_is_protected(app, login_as):
    client = login_as("customer", "admin")
    for path, data in [("/logout", {}), ("/switch", {"membership_id": client.membership.id}),
                       ("/locale", {"locale": "es"}), ("/account/password", {}), ("/team", {}),
                       ("/password/forgot", {"email": "x@example.com"})]:
        assert client.post(path, data=data).status_code == 400, path
    assert client.get("/customer/").status_code == 200  # still logged in: the logout was refused


def test_htmx_sends_the_token_in_the_x_csrftoken_header(app, client):
    token = client.csrf_token()
    response = client.post("/locale", data={"locale": "es"}, headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Location"] == "/"
    page = client.get("/login").get_data(as_text=True)
    given = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page)  # what the page gives htmx to send
    # The same token, signed with the time: a page served a second later carries a newer signature of it.
    assert given and given.group(1).split(".")[0] == token.split(".")[0], page[:2000]


def test_a_body_larger_than_the_limit_is_refused_with_a_translated_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    token = client.csrf_token()
    response = client.post("/login", data={"csrf_token": token, "email": "a@example.com", "password": "x" * 4096})
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)
    spanish = client.post("/login", data={"csrf_token": token, "password": "x" * 4096},
                          headers={"Accept-Language": "es"})
    assert spanish.status_code == 413 and '<html lang="es">' in spanish.get_data(as_text=True)
    assert "Too large" not in spanish.get_data(as_text=True)


def _responses(app, client):
    email = _member()
    yield "login page", client.get("/login")
    yield "not found", client.get("/nothing/here")
    yield "static file", client.get("/static/css/portal.css")
    yield "api error", client.get("/api/v1/me")
    client.login(email)
    yield "logged-in page", client.get("/customer/")
    yield "fragment", client.get("/customer/", headers={"HX-Request": "true"})
    yield "redirect", client.form_post("/logout")


def test_every_response_carries_the_security_headers(app, client):
    for label, response in _responses(app, client):
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'", label
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, label
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'self'", label
        assert directives["base-uri"] == "'none'" and directives["form-action"] == "'self'", label
        assert headers["X-Content-Type-Options"] == "nosniff", label
        assert headers["Referrer-Policy"] == "same-origin", label
        assert "Strict-Transport-Security" not in headers, label


def test_pages_for_a_logged_in_person_and_secret_links_are_not_cached(app, login_as, client):
    member = login_as("customer", "admin")
    assert member.get("/customer/").headers["Cache-Control"] == "no-store"
    assert client.get("/password/reset/some-token").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/css/portal.css").headers.get("Cache-Control", "")
    assert "Cache-Control" not in client.get("/login").headers


def test_frame_ancestors_come_from_the_setting(portal_with):
    framed = portal_with(PORTAL_FRAME_ANCESTORS="'self' https://intranet.example.com; script-src *")
    csp = framed.test_client().get("/login").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://intranet.example.com script-src *" in csp
    assert csp.count("script-src") == 2 and "script-src 'self'" in csp  # no directive can be slipped in


def _cookie_attributes(response) -> dict:
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("vitrine_session="))
    return {part.split("=")[0].strip().lower(): part for part in header.split(";")[1:]}


def test_the_session_cookie_is_httponly_and_samesite(app, client):
    email = _member()
    attributes = _cookie_attributes(client.form_post("/login", {"email": email, "password": factories.PASSWORD}))
    assert "httponly" in attributes and attributes["samesite"].strip() == "SameSite=Lax"
    assert "secure" not in attributes
    assert "expires" in attributes  # the absolute lifetime, not "until the browser closes"


def test_over_https_the_cookie_is_secure_and_hsts_is_sent(portal_with):
    https = portal_with(PORTAL_HTTPS="1")
    with https.app_context():
        membership = factories.make_member("customer", "admin")
        db.session.commit()
        email = membership.user.email
    client = https.test_client()
    page = client.get("/login", base_url="https://portal.test").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": email, "password": factories.PASSWORD, "csrf_token": token},
                           base_url="https://portal.test", headers={"Referer": "https://portal.test/login"})
    assert response.status_code == 303
    attributes = _cookie_attributes(response)
    assert "secure" in attributes and "httponly" in attributes
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_behind_a_proxy_under_a_url_prefix_links_start_with_the_prefix(portal_with):
    proxied = portal_with(PORTAL_PROXY_HOPS="1")
    proxy = {"X-Forwarded-Prefix": "/portal", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "intranet.example",
             "X-Forwarded-For": "10.1.2.3", "Referer": "https://intranet.example/portal/login"}
    with proxied.app_context():
        membership = factories.make_member("customer", "admin")
        db.session.commit()
        email = membership.user.email
    client = proxied.test_client()
    page = client.get("/login", headers=proxy).get_data(as_text=True)
    assert 'action="/portal/login"' in page and 'href="/portal/static/css/portal.css"' in page
    assert not re.search(r'(href|src|action)="/(?!portal/)', page), "a link without the prefix"

    gated = client.get("/customer/", headers=proxy)
    assert gated.headers["Location"] == "/portal/login?next=/customer/"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", headers=proxy, data={"email": email, "password": factories.PASSWORD,
                                                           "csrf_token": token, "next": "/customer/"})
    assert response.status_code == 303 and response.headers["Location"] == "/portal/customer/"
    home = client.get("/customer/", headers=proxy).get_data(as_text=True)
    assert 'href="/portal/team"' in home
    htmx = client.get("/nothing", headers={**proxy, "HX-Request": "true"})
    assert htmx.status_code == 404
    assert db.session.scalar(db.select(AuditEvent.address).filter_by(action="login")) == "10.1.2.3"


def test_without_proxy_hops_forwarded_headers_are_ignored(app, client):
    page = client.get("/login", headers={"X-Forwarded-Prefix": "/portal", "X-Forwarded-For": "10.9.9.9"})
    assert 'action="/login"' in page.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/login", "/password/forgot"])
def test_auth_pages_work_without_javascript_or_htmx(app, client, path):
    page = client.get(path).get_data(as_text=True)
    assert re.search(r'<form id="\w+" method="post" action="' + re.escape(path) + '"', page)


@pytest.mark.parametrize("host", ["a" * 64 + ".example.test", "portal..example.test", "x" * 300])
def test_a_host_name_that_cannot_be_written_is_a_bad_request(app, login_as, host):
    visitor = app.test_client()
    for client, path in [(visitor, "/login"), (visitor, "/customer/invoices"), (login_as("customer"), "/customer/")]:
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400, (path, response.status_code)
        assert "Bad request" in response.get_data(as_text=True)
    spanish = visitor.post("/login", headers={"Host": host, "Accept-Language": "es"})
    assert spanish.status_code == 400 and "Solicitud incorrecta" in spanish.get_data(as_text=True)
