"""Sign-up in a real browser: the login page's link, the form (keyboard only), the e-mailed link, the new
account on its free month, and the store right after; with JavaScript and without."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import OutboxMessage, Subscription
from tests import factories
from tests.browser.test_accessibility import axe_violations


@pytest.fixture
def plan(app):
    with app.test_request_context():
        software = factories.make_software("erp", "Vitrine ERP")
        made = factories.make_product("plan", software, code="basico", name="Plan Básico",
                                      prices=(("CLP", "monthly", 19_990, 0),))
        factories.make_product("module", software, code="inventario", name="Inventario",
                               category=factories.make_category("erp", "ERP"), prices=(("CLP", "monthly", 12_990, 0),))
        db.session.commit()
        return made


def confirmation_link(email: str) -> str:
    db.session.rollback()
    body = db.session.scalar(db.select(OutboxMessage.text_body).where(OutboxMessage.recipient == email))
    return urlsplit(re.search(r"https?://\S+/signup/confirm/\S+", body).group(0)).path


@pytest.mark.parametrize("javascript", [True, False])
def test_sign_up_confirm_and_land_on_a_free_month(new_page, plan, javascript):
    page = new_page(locale="es-CL", javascript=javascript, width=390 if javascript else 1280)
    page.goto("/login")
    page.get_by_role("link", name="Crear una cuenta").click()
    expect(page.locator("h1")).to_have_text("Crear una cuenta")
    page.locator("#email").fill("ana@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("Ana Pérez")
    page.keyboard.press("Tab")
    page.keyboard.type("una clave bien larga")
    page.keyboard.press("Tab")
    page.keyboard.type("Panadería Las Lilas SpA")
    page.locator("#country").select_option("CL")
    page.locator("#tax_id").fill("ALE120315KT1")  # a Mexican RFC: refused for Chile
    page.locator("#tax_id").press("Enter")
    expect(page.locator("#tax_id-error")).to_contain_text("RUT")
    page.locator("#password").fill("una clave bien larga")
    page.locator("#tax_id").fill("76.086.428-5")
    page.locator("#tax_id").press("Enter")
    expect(page.locator("h1")).to_have_text("Revisa tu correo")
    page.goto(confirmation_link("ana@example.com"))
    expect(page.locator("main")).to_contain_text("Panadería Las Lilas SpA")
    page.get_by_role("button", name="Crear mi cuenta").click()
    expect(page.locator(".flash-success")).to_contain_text("primer mes es gratis")
    db.session.rollback()
    assert db.session.scalar(db.select(Subscription.status)) == "trial"
    page.get_by_role("link", name="Tienda", exact=True).click()
    expect(page.locator("#row-erp")).to_contain_text("Inventario")


def test_the_sign_up_page_has_no_axe_violation(new_page, plan):
    page = new_page(bypass_csp=True)
    page.goto("/signup")
    problems = axe_violations(page)
    page.locator("#signup_form button[type=submit]").click()
    expect(page.locator(".field.has-error").first).to_be_visible()
    problems += axe_violations(page)
    assert not problems, "\n".join(problems)
