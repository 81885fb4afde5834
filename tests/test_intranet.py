"""Inside an intranet: a URL prefix and forwarded headers from trusted proxies only, trusted-header sign-on,
and the session cookie a frame on another origin needs."""

import pytest

from portal import create_app
from portal.extensions import db
from portal.intranet import parse_networks
from portal.models import AuditEvent, User
from tests import factories
from tests.conftest import PortalClient

PROXY, STRANGER = "10.0.0.5", "192.0.2.77"


@pytest.fixture
def intranet_app(database_url):
    """An app like the test app, with intranet settings given per test."""

    def make(**settings):
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "k",
                          "BASE_URL": "http://portal.test", "PASSWORD_HASH_TIME_COST": 1,
                          "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1, **settings})
        app.test_client_class = PortalClient
        return app

    return make


def _client(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_prefix_is_believed_from_a_trusted_proxy_only(app, intranet_app):
    portal = intranet_app(PROXY_HOPS=1, TRUSTED_PROXIES="10.0.0.0/24")
    headers = {"X-Forwarded-Prefix": "/vitrine", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "intra.example"}
    proxied = _client(portal, PROXY).get("/login", headers=headers).get_data(as_text=True)
    assert 'action="/vitrine/login' in proxied or 'href="/vitrine/static/' in proxied
    direct = _client(portal, STRANGER).get("/login", headers=headers).get_data(as_text=True)
    assert "/vitrine/" not in direct
    redirect = _client(portal, STRANGER).get("/customer/", headers=headers)
    assert redirect.status_code == 302 and "intra.example" not in redirect.headers["Location"]


def test_a_sign_on_header_logs_in_an_existing_user_from_the_proxy(app, intranet_app):
    membership = factories.make_member("customer", "admin")
    db.session.commit()
    portal = intranet_app(TRUSTED_PROXIES=PROXY, TRUSTED_USER_HEADER="X-Remote-User")
    client = _client(portal, PROXY)
    page = client.get("/customer/", headers={"X-Remote-User": membership.user.email.upper()})
    assert page.status_code == 200
    logins = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "login")).all()
    assert [event.details for event in logins] == [{"by": "trusted_header"}]
    assert logins[0].address == PROXY
    # The session stands on its own: the next request needs no header, and the same header opens no second one.
    assert client.get("/customer/").status_code == 200
    client.get("/customer/", headers={"X-Remote-User": membership.user.email})
    assert db.session.scalar(db.select(db.func.count()).where(AuditEvent.action == "login")) == 1


def test_a_sign_on_header_from_anyone_else_logs_nobody_in_and_is_audited(app, intranet_app):
    membership = factories.make_member("customer", "admin")
    db.session.commit()
    portal = intranet_app(TRUSTED_PROXIES=PROXY, TRUSTED_USER_HEADER="X-Remote-User")
    answer = _client(portal, STRANGER).get("/customer/", headers={"X-Remote-User": membership.user.email})
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    refused = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "trusted_header_refused")).all()
    assert len(refused) == 1 and refused[0].address == STRANGER
    assert db.session.scalar(db.select(db.func.count()).where(AuditEvent.action == "login")) == 0


def test_an_unknown_or_inactive_user_gets_the_login_page_and_nobody_is_created(app, intranet_app):
    inactive = factories.make_member("customer", "admin")
    inactive.user.is_active = False
    db.session.commit()
    users = db.session.scalar(db.select(db.func.count()).select_from(User))
    portal = intranet_app(TRUSTED_PROXIES=PROXY, TRUSTED_USER_HEADER="X-Remote-User")
    for email in ("nobody@intra.example", inactive.user.email):
        client = _client(portal, PROXY)
        assert client.get("/customer/", headers={"X-Remote-User": email}).status_code == 302
        login = client.get("/login", headers={"X-Remote-User": email})
        assert login.status_code == 200 and 'id="password"' in login.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == users


def test_without_trusted_proxies_the_sign_on_header_is_never_believed(app, intranet_app):
    membership = factories.make_member("customer", "admin")
    db.session.commit()
    portal = intranet_app(TRUSTED_USER_HEADER="X-Remote-User")
    answer = _client(portal, "127.0.0.1").get("/customer/", headers={"X-Remote-User": membership.user.email})
    assert answer.status_code == 302


def test_framed_by_another_origin_over_https_the_cookie_reaches_the_frame(app, intranet_app):
    framed = intranet_app(FRAME_ANCESTORS="'self' https://intra.example", SESSION_COOKIE_SECURE=True)
    cookie = framed.test_client().get("/login").headers["Set-Cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie
    assert "frame-ancestors 'self' https://intra.example" in framed.test_client().get("/login").headers[
        "Content-Security-Policy"]
    alone = intranet_app(FRAME_ANCESTORS="'self'", SESSION_COOKIE_SECURE=True)
    assert "SameSite=Lax" in alone.test_client().get("/login").headers["Set-Cookie"]


def test_a_wrong_trusted_proxy_is_named_at_startup():
    assert [str(n) for n in parse_networks("10.0.0.5, 10.1.0.0/16")] == ["10.0.0.5/32", "10.1.0.0/16"]
    with pytest.raises(ValueError, match="'proxy.local' is not an address"):
        parse_networks("10.0.0.5,proxy.local")
