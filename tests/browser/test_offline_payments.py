"""Offline payments in a real browser: a Brazilian customer (pt_BR) pays a pending invoice with Pix through
the sandbox bank and reads it as paid; billing staff reconcile a boleto statement and match a row by hand."""

from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Invoice, Payment
from portal.services.payments.offline import setup
from tests import factories
from tests.browser.conftest import log_in
from tests.services.payments.offline_helpers import issue


def _brazilian(new_page, **page_options):
    setup.configure_demo()
    org = factories.make_org("customer", "BR", name="Padaria Pão Dourado Ltda")
    invoice = factories.make_invoice(org, lines=[("Plano Essencial mensal", 1, 14_155)], tax_rate_bp=0)
    membership = factories.make_member("customer", "admin", organisation=org, locale="pt_BR")
    db.session.commit()
    page = new_page(locale="pt-BR", **page_options)
    log_in(page, membership.user.email)
    return page, invoice


def test_a_brazilian_customer_pays_a_pending_invoice_with_pix_and_reads_it_paid(new_page, screenshot):
    page, invoice = _brazilian(new_page, permissions=["clipboard-read", "clipboard-write"])
    page.goto(f"/customer/invoices/{invoice.id}")
    expect(page.get_by_role("heading", name="Pagar esta fatura")).to_be_visible()
    page.get_by_label("Pix").check()
    page.get_by_role("button", name="Gerar boleto / Pix").click()
    expect(page.get_by_role("heading", name="Pix", exact=True)).to_be_visible()
    code = page.locator("textarea.code-text").input_value()
    assert code.startswith("000201") and "141.55" in code
    expect(page.locator(".qr-box svg title")).to_have_text("QR Code do pagamento Pix")
    page.get_by_role("button", name="Copiar o código Pix").click()
    expect(page.locator("#toast")).to_have_text("Copiado.")
    assert page.evaluate("navigator.clipboard.readText()") == code
    screenshot(page, "offline-pix-instructions-pt_BR")

    page.get_by_role("link", name="Sandbox: pagar isto no banco de teste").click()
    expect(page.get_by_role("heading", name="Banco de teste")).to_be_visible()
    assert page.locator("textarea").input_value() == code
    page.get_by_role("button", name="Pagar").click()
    expect(page.locator(".flash")).to_contain_text("O portal fica sabendo por webhook")

    page.goto(f"/customer/invoices/{invoice.id}")
    expect(page.locator(".facts").first).to_contain_text("Paga")
    expect(page.get_by_role("heading", name="Pagar esta fatura")).to_have_count(0)
    screenshot(page, "offline-pix-invoice-paid-pt_BR")
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).status == "paid"


def test_a_boleto_is_shown_printable_without_javascript(new_page, screenshot):
    page, invoice = _brazilian(new_page, javascript=False)
    page.goto(f"/customer/invoices/{invoice.id}")
    page.get_by_label("Boleto").check()
    page.get_by_role("button", name="Gerar boleto / Pix").click()
    expect(page.get_by_text("Linha digitável", exact=True)).to_be_visible()
    expect(page.locator(".barcode-box svg.barcode")).to_be_visible()
    expect(page.get_by_role("button", name="Copiar a linha")).to_be_hidden()  # copying needs JavaScript
    screenshot(page, "offline-boleto-instructions-pt_BR")
    page.emulate_media(media="print")
    expect(page.locator(".sidebar")).to_be_hidden()
    expect(page.locator(".barcode-box svg.barcode")).to_be_visible()


def test_billing_staff_reconcile_a_boleto_statement_and_match_a_row_by_hand(app, new_page, screenshot, tmp_path):
    setup.configure_demo()
    member = factories.make_member("customer", "admin", organisation=factories.make_org("customer", "BR"))
    first = factories.make_invoice(member.organisation, lines=[("Plano Essencial mensal", 1, 14_155)], tax_rate_bp=0)
    second = factories.make_invoice(member.organisation, lines=[("Plano Essencial mensal", 1, 9_900)], tax_rate_bp=0)
    db.session.commit()
    boleto = issue(member.organisation.id, first.id, "boleto", "browser-boleto")
    pix = issue(member.organisation.id, second.id, "pix", "browser-pix")
    statement = tmp_path / "retorno.csv"
    line = boleto.instructions["line_printed"]
    statement.write_bytes((f"Data;Valor;Moeda;Linha digitável\n03/12/2026;141,55;BRL;{line}\n"
                           "03/12/2026;99,00;BRL;00190500954014481606906809350314337370000000100\n").encode("cp1252"))
    staff = factories.make_member("vendor", "billing")
    db.session.commit()
    page = new_page()
    log_in(page, staff.user.email)
    page.get_by_role("link", name="Reconciliation").click()
    page.get_by_label("Statement of").select_option("boleto")
    page.get_by_label("Statement file (CSV)").set_input_files(str(statement))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Statement retorno.csv")).to_be_visible()
    expect(page.locator(".stats")).to_contain_text("1 Matched")
    screenshot(page, "offline-reconciliation-statement")
    row = page.locator("tr", has_text="99.00")
    expect(row).to_contain_text("To match")
    row.get_by_role("button", name="Dismiss").click()
    expect(page.locator(".flash")).to_contain_text("Row 3 dismissed.")
    db.session.rollback()
    assert db.session.get(Invoice, first.id).status == "paid"
    assert db.session.get(Payment, pix.id).state == "pending"
