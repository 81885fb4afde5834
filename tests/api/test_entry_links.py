"""Entry from the vendor's software: the API issues, for one of the customer's users, a signed link that works
once and for a minute and opens the store logged in as that user; refused for a blocked account or an unknown
user, and it never creates a user."""

from datetime import timedelta
from unittest import mock

import pytest

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.orm import utcnow
from portal.services.accounts import blocking, entry_links
from portal.services.errors import DomainError
from tests import factories


def _member(api_client, role="member", **fields):
    member = factories.make_member("customer", role, organisation=db.session.merge(api_client.organisation), **fields)
    db.session.commit()
    return member


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_the_link_opens_the_store_logged_in_once(app, api_client):
    member = _member(api_client, email="caja@aromos.cl")
    response = api_client.post("/entry-links", json={"email": "Caja@Aromos.cl"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["url"].startswith("http://") and "/entry/" in body["url"]
    browser = app.test_client()
    path = _path(body["url"])
    page = browser.get(path)
    assert page.status_code == 200 and "Open the store" in page.get_data(as_text=True)
    opened = browser.form_post(path)
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/customer/store")
    assert browser.get("/customer/store").status_code == 200
    again = app.test_client().form_post(path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    actions = list(db.session.scalars(db.select(AuditEvent.action).where(
        AuditEvent.actor_id == member.user_id).order_by(AuditEvent.id)))
    assert actions == ["entry_link_issued", "entry_link_used"]


def test_an_unknown_or_foreign_user_gets_no_link_and_no_user_is_created(app, api_client):
    stranger = factories.make_member("customer", "admin")
    db.session.commit()
    users = db.session.scalar(db.select(db.func.count(User.id)))
    # A NUL names nobody (PostgreSQL refuses one in a query: it must not reach it).
    for email in ("nadie@aromos.cl", stranger.user.email, "", "a\x00b@aromos.cl"):
        response = api_client.post("/entry-links", json={"email": email})
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown_user"
    assert db.session.scalar(db.select(db.func.count(User.id))) == users


@pytest.mark.parametrize("body", [None, [], {"email": 7}, {"mail": "x@y.cl"}, "email"])
def test_a_bad_body_is_refused(app, api_client, body):
    response = api_client.post("/entry-links", json=body) if body is not None else \
        api_client.post("/entry-links", data="email=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_payload"


def test_a_waiting_invitation_gets_no_link(app, api_client):
    from portal.services.accounts import organisations as accounts

    org = db.session.merge(api_client.organisation)
    admin = factories.make_member("customer", "admin", organisation=org)
    accounts.invite(org, admin.user, "pendiente@aromos.cl", "Pendiente", "member", 7)
    db.session.commit()
    assert api_client.post("/entry-links", json={"email": "pendiente@aromos.cl"}).status_code == 404


def test_a_blocked_account_gets_no_link_and_its_links_stop_working(app, api_client):
    _member(api_client, email="caja@aromos.cl")
    url = api_client.post("/entry-links", json={"email": "caja@aromos.cl"}).get_json()["url"]
    blocking.block(db.session.merge(api_client.organisation), "staff", utcnow())
    db.session.commit()
    assert api_client.post("/entry-links", json={"email": "caja@aromos.cl"}).status_code == 403
    refused = app.test_client().form_post(_path(url), headers={"Accept-Language": "es"})
    assert refused.status_code == 403 and "bloqueada" in refused.get_data(as_text=True)


def test_a_link_older_than_a_minute_or_forged_is_refused(app, api_client):
    member = _member(api_client)
    with app.test_request_context():
        token, expires_at = entry_links.issue_entry_link(db.session.merge(api_client.organisation), member.user.email)
    db.session.commit()
    assert timedelta(seconds=59) < expires_at - utcnow() <= timedelta(seconds=60)
    later = utcnow().timestamp() + 61
    with (app.test_request_context(), mock.patch("itsdangerous.timed.time.time", return_value=later),
          pytest.raises(DomainError) as error):
        entry_links.use_entry_link(token)
    assert error.value.code == "expired"
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = app.test_client().form_post(f"/entry/{forged}")
    assert response.status_code == 404 and "not valid" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).filter_by(action="entry_link_used")) == 0


def test_opening_the_page_alone_uses_nothing(app, api_client):
    member = _member(api_client)
    url = api_client.post("/entry-links", json={"email": member.user.email}).get_json()["url"]
    browser = app.test_client()
    assert browser.get(_path(url)).status_code == 200
    assert browser.get(_path(url)).status_code == 200
    assert browser.form_post(_path(url)).status_code == 303
