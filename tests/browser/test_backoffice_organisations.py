"""Back office > Organisations in a real browser: billing staff find a customer by its tax id typed without
punctuation, block it with a note (its administrator sees the banner at once), then unblock it; with htmx and
without JavaScript, at 1280 px and 390 px."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Organisation
from tests import factories
from tests.browser.conftest import log_in


@pytest.fixture
def accounts(app):
    with app.test_request_context():
        staff = factories.make_member("vendor", "billing", locale="es").user
        customer = factories.make_org("customer", "CL", name="Panadería Los Aromos SpA", tax_id="77.123.456-9")
        admin = factories.make_member("customer", "admin", organisation=customer, locale="es").user
        factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
        db.session.commit()
        return {"staff": staff.email, "admin": admin.email, "customer": customer.id}


@pytest.mark.parametrize(("width", "javascript"), [(1280, True), (390, True), (1280, False)],
                         ids=["1280px", "390px", "no-js"])
def test_billing_staff_find_block_and_unblock_a_customer(new_page, accounts, screenshot, width, javascript):
    staff = new_page(width=width, javascript=javascript, locale="es-CL")
    log_in(staff, accounts["staff"])
    staff.get_by_role("link", name="Organizaciones", exact=True).click()
    expect(staff.locator("h1")).to_have_text("Organizaciones")
    staff.locator("#org-q").fill("771234569")
    staff.get_by_role("button", name="Buscar").click()
    rows = staff.locator("#organisations tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("77.123.456-9")
    screenshot(staff, f"backoffice-organisations-{width}{'' if javascript else '-no-js'}")
    rows.get_by_role("link", name="Panadería Los Aromos SpA").click()
    expect(staff.locator("h1")).to_have_text("Panadería Los Aromos SpA")
    staff.locator("#block").click()  # without the note
    expect(staff.locator("#account-error")).to_contain_text("Indica por qué")
    staff.locator("#note").fill("Contrato rescindido por el cliente")
    staff.locator("#block").click()
    expect(staff.locator(".flash-success")).to_contain_text("quedó bloqueada")
    expect(staff.locator("main")).to_contain_text("Bloqueada por nuestro equipo")
    screenshot(staff, f"backoffice-organisation-blocked-{width}{'' if javascript else '-no-js'}")

    customer = new_page(width=width, javascript=javascript, locale="es-CL")
    log_in(customer, accounts["admin"])
    expect(customer.locator("#blocked-banner")).to_contain_text("Cuenta bloqueada")

    staff.locator("#unblock").click()
    expect(staff.locator(".flash-success")).to_contain_text("quedó desbloqueada")
    db.session.rollback()
    assert db.session.get(Organisation, accounts["customer"]).status == "active"
    customer.reload()
    expect(customer.locator("#blocked-banner")).to_have_count(0)
