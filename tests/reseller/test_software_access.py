"""Access client software: a signed token, single-use, at most 60 seconds, for one client, user and software."""

import html
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.extensions import db
from portal.models import AuditEvent, SoftwareAccessToken
from portal.orm import utcnow
from portal.services.resellers import software_access
from portal.services.resellers.software_access import InvalidAccessToken
from tests import factories
from tests.reseller.helpers import logged_in, make_client


@pytest.fixture
def office(app):
    return factories.make_org("reseller", "BR")


@pytest.fixture
def manager(office):
    return factories.make_member("reseller", "manager", organisation=office).user


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)[software_access.TOKEN_PARAMETER][0]


def issued(office, manager, now=None):
    client = make_client(office, "Padaria Ltda")
    url = software_access.launch_url(client, manager, now)
    return client, url, token_of(url)


def test_a_token_opens_the_clients_software_once(office, manager):
    client, url, token = issued(office, manager)
    software = client_software(client)
    assert url.startswith(software.launch_url)
    grant = software_access.verify_token(token, software.code, client_id=client.id)
    assert (grant.client_id, grant.user_id) == (client.id, manager.id)
    with pytest.raises(InvalidAccessToken) as again:
        software_access.verify_token(token, software.code)
    assert again.value.reason == "used"
    assert db.session.scalar(db.select(AuditEvent.action).where(AuditEvent.organisation_id == client.id))


def client_software(client):
    from portal.services.resellers.clients import current_subscription

    return current_subscription(client).plan.software


def test_an_expired_token_is_refused(office, manager):
    client, _url, token = issued(office, manager, now=utcnow() - timedelta(seconds=61))
    with pytest.raises(InvalidAccessToken) as refused:
        software_access.verify_token(token, client_software(client).code, now=utcnow() + timedelta(seconds=61))
    assert refused.value.reason == "expired"


def test_a_tampered_token_is_refused(office, manager):
    client, _url, token = issued(office, manager)
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(InvalidAccessToken) as refused:
        software_access.verify_token(flipped, client_software(client).code)
    assert refused.value.reason == "tampered"


def test_a_token_for_another_software_or_client_is_refused(office, manager):
    client, _url, token = issued(office, manager)
    with pytest.raises(InvalidAccessToken) as other_software:
        software_access.verify_token(token, "another-software")
    assert other_software.value.reason == "audience"
    with pytest.raises(InvalidAccessToken) as other_client:
        software_access.verify_token(token, client_software(client).code, client_id=client.id + 1)
    assert other_client.value.reason == "client"
    # Neither refusal consumed it: the right software, for the right client, still gets in once.
    assert software_access.verify_token(token, client_software(client).code, client_id=client.id)


def test_a_token_of_a_manager_no_longer_there_is_refused(office, manager):
    client, _url, token = issued(office, manager)
    client.reseller_id = None
    db.session.flush()
    with pytest.raises(InvalidAccessToken) as refused:
        software_access.verify_token(token, client_software(client).code)
    assert refused.value.reason == "revoked"


def test_the_manage_page_opens_the_software_in_a_new_tab(login_as):
    manager = logged_in(login_as, "reseller", "manager", organisation=factories.make_org("reseller", "BR"))
    client = make_client(db.session.merge(manager.organisation), "Padaria Ltda")
    db.session.commit()
    page = manager.get(f"/reseller/clients/{client.id}").get_data(as_text=True)
    assert 'target="_blank"' in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = manager.post(f"/reseller/clients/{client.id}/software", data={"csrf_token": token})
    # A page with the launch address, not a redirect: CSP's form-action 'self' would stop a redirect elsewhere.
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "form-action 'self'" in response.headers["Content-Security-Policy"]
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data(as_text=True)
    url = html.unescape(body.split('data-follow-on-load', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0])
    assert url.startswith(client_software(client).launch_url)
    assert "<script>" not in body
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(SoftwareAccessToken)) == 1
    grant = software_access.verify_token(token_of(url), client_software(client).code, client_id=client.id)
    assert grant.client_id == client.id


def test_a_client_without_a_plan_has_no_software_to_open(login_as):
    manager = logged_in(login_as, "reseller", "manager", organisation=factories.make_org("reseller", "BR"))
    client = make_client(db.session.merge(manager.organisation), "Padaria Ltda", status="cancelled")
    db.session.commit()
    page = manager.get(f"/reseller/clients/{client.id}").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = manager.post(f"/reseller/clients/{client.id}/software", data={"csrf_token": token})
    assert response.status_code == 409
    assert "has no software to open" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(SoftwareAccessToken)) == 0
