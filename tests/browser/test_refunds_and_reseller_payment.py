"""Refunds and resellers who pay, in a real browser: billing staff record a transfer received, refund part of it
to the wallet after confirming, and the customer reads the refund on its invoice (es); a Brazilian reseller's
manager generates a boleto for a pending invoice on its Payment screen and prints it (pt_BR)."""

from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Invoice, Payment, Refund
from portal.services.billing import credit_notes
from portal.services.payments import wallet
from portal.services.payments.offline import setup
from tests import factories
from tests.browser.conftest import log_in


def test_staff_refund_part_of_a_payment_to_the_wallet_and_the_customer_reads_it(new_page, screenshot):
    customer = factories.make_member("customer", "admin", locale="es")
    org = customer.organisation
    invoice = factories.make_invoice(org)
    staff = factories.make_member("vendor", "billing", locale="es")
    db.session.commit()
    page = new_page(locale="es-CL")
    log_in(page, staff.user.email)
    page.goto(f"/backoffice/organisations/{org.id}/payments")
    page.get_by_label("Recibido por").select_option("bank_transfer")
    page.get_by_label("Referencia de la transferencia o depósito").fill("TRF-778812")
    page.get_by_label("Monto recibido").fill("10.000")
    page.get_by_role("button", name="Registrar el pago").click()
    expect(page.locator(".flash")).to_contain_text("registrado en la factura")
    page.get_by_role("link", name="Reembolsar").click()
    page.get_by_label("Monto a reembolsar").fill("4.000")
    page.get_by_label("Reembolsar a").select_option("wallet")
    page.get_by_role("button", name="Continuar").click()
    expect(page.get_by_role("heading", name="Confirmar el reembolso")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("$4.000")
    screenshot(page, "refund-confirm-es")
    page.get_by_role("button", name="Reembolsar $4.000").click()
    expect(page.locator(".flash")).to_contain_text("nota de crédito emitida")
    screenshot(page, "refund-done-es")
    db.session.rollback()
    refund = db.session.scalar(db.select(Refund))
    assert (refund.amount, refund.destination, refund.state) == (4_000, "wallet", "succeeded")
    assert wallet.balance(org.id, "CLP") == 4_000
    assert credit_notes.amount_due(db.session.get(Invoice, invoice.id)) == invoice.total - 10_000

    customer_page = new_page(locale="es-CL")
    log_in(customer_page, customer.user.email)
    customer_page.goto(f"/customer/invoices/{invoice.id}")
    expect(customer_page.get_by_text(refund.reference)).to_be_visible()
    expect(customer_page.get_by_text("Reembolso a la billetera").first).to_be_visible()


def test_a_brazilian_reseller_generates_a_boleto_for_a_pending_invoice(new_page, screenshot):
    setup.configure_demo()
    reseller = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    client = factories.make_org("customer", "BR", name="Padaria Cliente Ltda")
    factories.make_subscription(client, payer_id=reseller.id)
    invoice = factories.make_invoice(reseller, lines=[("Padaria Cliente Ltda — Plano Essencial", 1, 14_155)],
                                     tax_rate_bp=0)
    manager = factories.make_member("reseller", "manager", organisation=reseller, locale="pt_BR")
    db.session.commit()
    page = new_page(locale="pt-BR")
    log_in(page, manager.user.email)
    page.get_by_role("link", name="Pagamento", exact=True).click()
    expect(page.get_by_role("heading", name="Minhas faturas")).to_be_visible()
    screenshot(page, "reseller-payment-pt_BR")
    page.get_by_role("button", name="Gerar boleto").click()
    expect(page.get_by_text("Linha digitável", exact=True)).to_be_visible()
    expect(page.locator(".barcode-box svg.barcode")).to_be_visible()
    screenshot(page, "reseller-boleto-pt_BR")
    db.session.rollback()
    issued = db.session.scalar(db.select(Payment).where(Payment.invoice_id == invoice.id))
    assert issued.method_kind == "boleto" and issued.state == "pending" and issued.organisation_id == reseller.id
    page.get_by_role("link", name="← Pagamento").click()
    expect(page.get_by_role("link", name="Ver o Boleto gerado")).to_be_visible()
