"""The customer's Integration key screen: masked, shown whole on request (audited), regenerated after a warning."""

import re

from portal.extensions import db
from portal.models import AuditEvent
from portal.services.accounts import integration

URL = "/customer/integration"


def _key_in(page: str) -> str | None:
    found = re.search(r'id="integration-key-value"[^>]*value="([^"]+)"', page)
    return found.group(1) if found else None


def _actions(org) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.organisation_id == org.id,
                                                                      AuditEvent.action.like("integration_key_%"))
                                   .order_by(AuditEvent.id)))


def test_without_a_key_the_admin_is_offered_to_generate_one(login_as):
    admin = login_as("customer", "admin")
    page = admin.get(URL)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "no integration key yet" in text and "Generate key" in text
    assert page.headers["Cache-Control"] == "no-store"


def test_generating_the_first_key_shows_it_once_then_masks_it(login_as):
    admin = login_as("customer", "admin")
    response = admin.form_post(URL + "/generate")
    assert response.status_code == 303 and response.headers["Location"].endswith(URL)
    first_view = admin.get(URL).get_data(as_text=True)
    shown = _key_in(first_view)
    assert shown.startswith("vk_live_") and "Copy it into your software" in first_view
    db.session.rollback()
    assert integration.organisation_for_key(shown) == admin.organisation
    later = _key_in(admin.get(URL).get_data(as_text=True))
    assert later.startswith(shown[:12]) and shown not in later and "•" in later


def test_show_reveals_the_key_and_is_audited(login_as):
    admin = login_as("customer", "admin")
    raw = integration.generate_key(admin.organisation, admin.user)
    db.session.commit()
    page = admin.get(URL).get_data(as_text=True)
    assert raw not in page and raw[:12] in page
    fragment = admin.form_post(URL + "/reveal", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.headers["Cache-Control"] == "no-store"
    body = fragment.get_data(as_text=True)
    assert raw in body and "<html" not in body and 'id="integration_key"' in body
    assert _actions(admin.organisation) == ["integration_key_generated", "integration_key_revealed"]


def test_show_works_without_javascript(login_as):
    admin = login_as("customer", "admin")
    raw = integration.generate_key(admin.organisation, admin.user)
    db.session.commit()
    page = admin.form_post(URL + "/reveal")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert _key_in(page.get_data(as_text=True)) == raw


def test_hide_returns_the_masked_block(login_as):
    admin = login_as("customer", "admin")
    raw = integration.generate_key(admin.organisation, admin.user)
    db.session.commit()
    fragment = admin.get(URL, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and raw not in fragment and raw[:12] in fragment


def test_generating_a_new_key_asks_first_and_warns(login_as):
    admin = login_as("customer", "admin")
    old = integration.generate_key(admin.organisation, admin.user)
    db.session.commit()
    confirm = admin.get(URL + "/generate")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "stops working at once" in text and old[:12] in text
    db.session.rollback()
    assert integration.organisation_for_key(old) == admin.organisation  # asking changed nothing


def test_a_new_key_revokes_the_old_one_at_once(login_as):
    admin = login_as("customer", "admin")
    old = integration.generate_key(admin.organisation, admin.user)
    db.session.commit()
    assert admin.get("/api/v1/me", headers={"X-Api-Key": old}).status_code == 200
    response = admin.form_post(URL + "/generate")
    assert response.status_code == 303
    new = _key_in(admin.get(URL).get_data(as_text=True))
    assert new != old
    assert admin.get("/api/v1/me", headers={"X-Api-Key": old}).status_code == 401
    assert admin.get("/api/v1/me", headers={"X-Api-Key": new}).status_code == 200
    assert _actions(admin.organisation) == ["integration_key_generated", "integration_key_generated"]


def test_generate_through_htmx_redirects_with_hx_location(login_as):
    admin = login_as("customer", "admin")
    response = admin.form_post(URL + "/generate", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Location"].endswith(URL)


def test_generating_needs_the_csrf_token(login_as):
    admin = login_as("customer", "admin")
    assert admin.post(URL + "/generate").status_code == 400
    assert _actions(admin.organisation) == []


def test_members_cannot_see_or_change_the_key(login_as):
    admin = login_as("customer", "admin")
    raw = integration.generate_key(admin.organisation, admin.user)
    db.session.commit()
    member = login_as("customer", "member", organisation=admin.organisation)
    assert member.get(URL).status_code == 403
    assert member.form_post(URL + "/reveal").status_code == 403
    assert member.form_post(URL + "/generate").status_code == 403
    assert "Integration key" not in member.get("/customer/").get_data(as_text=True)
    db.session.rollback()
    assert integration.organisation_for_key(raw) == admin.organisation


def test_the_nav_links_to_the_screen_for_admins(login_as):
    admin = login_as("customer", "admin")
    home = admin.get("/customer/").get_data(as_text=True)
    assert 'href="/customer/integration"' in home


def test_each_organisation_sees_its_own_key(login_as):
    first = login_as("customer", "admin")
    second = login_as("customer", "admin")
    key_one = integration.generate_key(first.organisation, first.user)
    key_two = integration.generate_key(second.organisation, second.user)
    db.session.commit()
    assert _key_in(first.form_post(URL + "/reveal").get_data(as_text=True)) == key_one
    assert _key_in(second.form_post(URL + "/reveal").get_data(as_text=True)) == key_two


def test_the_screen_is_translated(login_as):
    admin = login_as("customer", "admin", locale="pt_BR")
    integration.generate_key(admin.organisation, admin.user)
    db.session.commit()
    page = admin.get(URL)
    assert page.status_code == 200 and 'lang="pt-BR"' in page.get_data(as_text=True)
