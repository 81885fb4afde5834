"""Billing preferences and a blocked account in a real browser: a Brazilian administrator (pt_BR) sends the
overdue and low wallet balance notices to the accountant too, turns the usage notice off and saves; a foreign
e-mail is refused on the page; a blocked Chilean customer (es) sees the banner, lands on "Pagar en línea" and is
told why the store is closed. At a desktop's and a phone's width, with and without JavaScript."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import BillingPreferences
from portal.orm import utcnow
from portal.services.accounts import blocking
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_look import layout_problems


def _blur(page) -> None:
    """Leave no text field focused: a screenshot would hide its caret with an inline style the CSP refuses."""
    page.evaluate("document.activeElement && document.activeElement.blur()")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_brazilian_administrator_chooses_who_hears_of_overdue_invoices(app, new_page, screenshot, javascript):
    org = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda", locale="pt_BR")
    org.accountant_email = "contador@horizonte.com.br"
    admin = factories.make_member("customer", "admin", organisation=org, locale="pt_BR").user
    db.session.commit()
    page = new_page(locale="pt-BR", javascript=javascript)
    log_in(page, admin.email)
    page.get_by_role("link", name="Minha conta").click()
    page.get_by_role("link", name="Preferências de faturamento").click()
    expect(page.get_by_role("heading", name="Preferências de faturamento")).to_be_visible()
    overdue = page.get_by_role("group", name="Fatura vencida, e a conta bloqueada após o período de carência")
    overdue.get_by_label("contador@horizonte.com.br").check()
    low_balance = page.get_by_role("group", name="Saldo baixo na carteira")
    expect(low_balance).to_contain_text("fica abaixo de R$\xa050,00")
    low_balance.get_by_label("contador@horizonte.com.br").check()
    usage = page.get_by_role("group", name="Uso que atinge 80% e 100% de uma franquia")
    usage.get_by_label(admin.email).uncheck()
    page.get_by_label("Dias antes de uma renovação").fill("10")
    page.get_by_role("button", name="Salvar preferências").click()
    expect(page.get_by_text("Suas preferências de faturamento foram salvas.")).to_be_visible()
    db.session.rollback()
    stored = db.session.get(BillingPreferences, org.id)
    assert stored.renewal_days == 10
    assert stored.recipients["overdue"] == [admin.email, "contador@horizonte.com.br"]
    assert stored.recipients["low_balance"] == [admin.email, "contador@horizonte.com.br"]
    assert stored.recipients["usage_quota"] == []
    page.get_by_label("Dias antes de uma renovação").fill("90")
    page.get_by_role("button", name="Salvar preferências").click()
    expect(page.get_by_role("alert")).to_contain_text("Escolha de 1 a 60 dias.")
    db.session.rollback()
    assert db.session.get(BillingPreferences, org.id).renewal_days == 10
    # Screenshots last: the style a screenshot leaves in the page would be swapped again by htmx and refused.
    assert layout_problems(page) == []
    _blur(page)
    screenshot(page, f"billing-preferences-1280-{'js' if javascript else 'nojs'}")
    page.set_viewport_size({"width": 390, "height": 844})
    assert layout_problems(page) == []
    _blur(page)
    screenshot(page, f"billing-preferences-390-{'js' if javascript else 'nojs'}")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_blocked_customer_sees_the_banner_and_only_its_billing(app, new_page, screenshot, javascript):
    org = factories.make_org("customer", "CL", name="Panadería Los Aromos SpA", locale="es")
    admin = factories.make_member("customer", "admin", organisation=org, locale="es").user
    factories.make_invoice(org, issued_at=utcnow() - timedelta(days=40), due_days=10)
    blocking.block(org, "unpaid", utcnow())
    db.session.commit()
    page = new_page(locale="es-CL", javascript=javascript)
    log_in(page, admin.email)
    expect(page).to_have_url(re.compile(r"/customer/pay$"))
    banner = page.locator("#blocked-banner")
    expect(banner).to_contain_text("Cuenta bloqueada")
    expect(banner).to_contain_text("Paga lo vencido")
    assert layout_problems(page) == []
    screenshot(page, f"blocked-banner-1280-{'js' if javascript else 'nojs'}")
    page.goto("/customer/store")  # with htmx, a refused boosted link is told in the toast instead
    expect(page.get_by_text("Tu cuenta está bloqueada porque un saldo está vencido.")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.url.rsplit("/customer", 1)[0] + "/customer/invoices")
    expect(page.locator("#blocked-banner")).to_be_visible()
    assert layout_problems(page) == []
    screenshot(page, f"blocked-banner-390-{'js' if javascript else 'nojs'}")
