"""A reseller's consolidated invoice walked in a real browser, in pt_BR (a Brazilian office, boleto) and es (a
Chilean one, bank transfer), on a phone and a desktop, with and without JavaScript: from the Payment screen to the
invoice of February with one line per client it pays for and its totals, its PDF downloaded and read back, then
paid with a reference issued on the page and settled at the sandbox bank; the invoice then reads paid and lists
that payment."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Invoice, Payment
from tests import factories
from tests.browser.conftest import log_in
from tests.browser.test_look import fits_here_and_at_1024
from tests.reseller.helpers import consolidated_office
from tests.services.test_invoice_pdf import flat, pdf_text

OFFICES = {
    # locale: (browser locale, country, reseller, clients, each client's line, the invoice's total, the method)
    "pt_BR": ("pt-BR", "BR", "Contabilidade Horizonte Ltda",
              ("Padaria Pão Dourado Ltda", "Mercadinho Boa Vista Comércio de Alimentos Ltda", "Ótica Central ME"),
              "R$ 31,45", "R$ 94,35", "boleto"),
    "es": ("es-CL", "CL", "Contadores Asociados del Sur Ltda.",
           ("Panadería Los Aromos SpA", "Ferretería El Roble Ltda.", "Librería El Quijote SpA"),
           "$5.950", "$17.850", "bank_transfer"),
}
WORDS = {
    "pt_BR": dict(payment="Pagamento", invoices="Minhas faturas", clients="3 clientes", invoice="Fatura",
                  pdf="Baixar PDF", pay_title="Pagar esta fatura", issue="Gerar boleto",
                  sandbox="Sandbox: pagar isto no banco de teste", bank="Banco de teste", paid="Paga",
                  reference="Pagar a fatura", payments="Pagamentos", method="Boleto", payment_paid="Pago"),
    "es": dict(payment="Pago", invoices="Mis facturas", clients="3 clientes", invoice="Factura",
               pdf="Descargar PDF", pay_title="Pagar esta factura", issue="Ver datos de transferencia",
               sandbox="Sandbox: pagar esto en el banco de prueba", bank="Banco de prueba", paid="Pagada",
               reference="Pagar la factura", payments="Pagos", method="Transferencia bancaria", payment_paid="Pagado"),
}


def _plain(text: str) -> str:
    return flat(text.replace("\u00a0", " ").replace("\u202f", " "))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("locale", OFFICES)
def test_a_reseller_reads_downloads_and_pays_its_consolidated_invoice(new_page, screenshot, locale, width,
                                                                      javascript):
    browser_locale, country, name, client_names, each, total, method = OFFICES[locale]
    words = WORDS[locale]
    reseller, clients, invoice = consolidated_office(locale, country, name, client_names, issued=True)
    manager = factories.make_member("reseller", "manager", organisation=reseller, locale=locale)
    db.session.commit()
    page = new_page(width=width, height=844 if width < 600 else 800, locale=browser_locale, javascript=javascript)
    log_in(page, manager.user.email)
    shot = f"reseller-consolidated-{locale}-{width}{'' if javascript else '-nojs'}"
    problems: list[str] = []

    # The Payment screen lists the invoice with its clients under it.
    page.goto("/reseller/payment")
    expect(page.get_by_role("heading", name=words["invoices"])).to_be_visible()
    row = page.locator("#invoices tbody tr").first
    expect(row).to_contain_text(invoice.display_number)
    expect(page.locator("tr.client-lines summary")).to_have_text(words["clients"])
    fits_here_and_at_1024(page, problems, "payment")
    screenshot(page, f"{shot}-payment")

    # Its page: one line per client, named with its tax id, each with its amount; the totals add up.
    page.get_by_role("link", name=invoice.display_number, exact=True).click()
    expect(page.get_by_role("heading", name=f"{words['invoice']} {invoice.display_number}")).to_be_visible()
    lines = page.locator("table.lines tbody tr")
    expect(lines).to_have_count(len(clients))
    for line, client in zip(lines.all(), clients, strict=True):
        text = _plain(line.inner_text())
        assert client.name in text and each in text, text
    totals = _plain(page.locator("table:not(.stack) tfoot").inner_text())
    assert total in totals, totals
    fits_here_and_at_1024(page, problems, "invoice")
    screenshot(page, f"{shot}-invoice")

    # The PDF, downloaded, names every client and the total.
    with page.expect_download() as download:
        page.get_by_role("link", name=words["pdf"]).click()
    with open(download.value.path(), "rb") as file:
        text = _plain("\n".join(pdf_text(file.read())))
    assert invoice.display_number in text
    for client in clients:
        assert client.name in text, client.name
    assert total in text, text

    # Paid with a reference issued on the page, settled at the sandbox bank (the portal hears of it by webhook).
    expect(page.get_by_role("heading", name=words["pay_title"])).to_be_visible()
    page.get_by_role("button", name=words["issue"]).click()
    expect(page.get_by_role("heading", name=f"{words['reference']} {invoice.display_number}")).to_be_visible()
    db.session.rollback()
    issued = db.session.scalar(db.select(Payment).where(Payment.invoice_id == invoice.id))
    assert (issued.method_kind, issued.state, issued.amount) == (method, "pending", invoice.total)
    expect(page.get_by_text(issued.reference).first).to_be_visible()
    fits_here_and_at_1024(page, problems, "reference")
    screenshot(page, f"{shot}-reference")
    page.get_by_role("link", name=words["sandbox"]).click()
    expect(page.get_by_role("heading", name=words["bank"])).to_be_visible()
    page.get_by_role("button", name="Pagar").click()
    expect(page.locator(".flash")).to_contain_text(issued.reference)

    page.goto(f"/reseller/payment/invoices/{invoice.id}")
    expect(page.locator(".facts").first).to_contain_text(words["paid"])
    expect(page.get_by_role("heading", name=words["pay_title"])).to_have_count(0)
    # The invoice's payments: the one just made, paid, with its reference, method and the whole amount.
    payments = page.locator("section", has=page.get_by_role("heading", name=words["payments"], exact=True))
    expect(payments.locator("tbody tr")).to_have_count(1)
    paid_row = _plain(payments.locator("tbody tr").inner_text()).strip()
    assert issued.reference in paid_row and words["method"] in paid_row and total in paid_row, paid_row
    assert paid_row.endswith(words["payment_paid"]), paid_row
    fits_here_and_at_1024(page, problems, "paid")
    screenshot(page, f"{shot}-paid")
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert db.session.get(Payment, issued.id).state == "succeeded"
    assert not problems, "\n".join(problems)
