"""Paying in a real browser: a Chilean customer stores a card on the sandbox gateway's own page and pays a
pending invoice with it, then reads the invoice as paid — with JavaScript and without."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Invoice, PaymentMethod
from tests import factories
from tests.browser.conftest import log_in


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_chilean_customer_pays_a_pending_invoice_with_the_sandbox_card(new_page, javascript):
    org = factories.make_org("customer", name="Panadería Los Aromos SpA")
    invoice = factories.make_invoice(org)
    member = factories.make_member("customer", "admin", organisation=org, locale="es")
    db.session.commit()
    page = new_page(locale="es-CL", javascript=javascript)
    log_in(page, member.user.email)

    page.goto(f"/customer/invoices/{invoice.id}")
    page.get_by_role("link", name="Pagar $47.564").click()
    expect(page.get_by_role("heading", name="Pagar en línea", level=1)).to_be_visible()
    page.get_by_role("link", name="Agregar una tarjeta").click()
    page.get_by_role("button", name="Agregar una tarjeta").click()

    # The provider's page: the only place the number is typed.
    page.wait_for_url("**/sandbox-gateway/capture**")
    page.get_by_label("Número de la tarjeta").fill("4242 4242 4242 4242")
    page.get_by_label("Vencimiento (MM/AA)").fill("12/30")
    page.get_by_label("Código de seguridad").fill("123")
    page.get_by_label("Nombre en la tarjeta").fill("Rosa Pérez")
    page.get_by_role("button", name="Guardar la tarjeta").click()

    page.wait_for_url("**/customer/payment-methods/added**")
    expect(page.get_by_role("heading", name="Visa •••• 4242")).to_be_visible()
    page.get_by_role("button", name="Guardar la tarjeta").click()
    expect(page.get_by_text("Visa •••• 4242 se agregó a tus medios de pago.")).to_be_visible()

    page.get_by_role("link", name="Pagar en línea").first.click()
    expect(page.get_by_label("Tarjeta Visa terminada en 4242")).to_be_checked()
    page.get_by_role("button", name="Pagar ahora").click()
    expect(page.get_by_text(f"Recibimos el pago de $47.564 por la factura {invoice.display_number}.")).to_be_visible()
    expect(page.locator("#payments tbody tr").first).to_contain_text("Pagado")

    page.get_by_role("link", name=invoice.display_number).first.click()
    expect(page.get_by_role("heading", name=f"Factura {invoice.display_number}")).to_be_visible()
    expect(page.locator(".badge", has_text="Pagada").first).to_be_visible()
    expect(page.get_by_role("link", name="Pagar $47.564")).to_have_count(0)
    db.session.commit()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert db.session.scalar(db.select(PaymentMethod.last4)) == "4242"
