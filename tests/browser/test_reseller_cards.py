"""A reseller's manager, in pt_BR, adds a card on the payment provider's page ("Formas de pagamento", which an
accountant does not see) and pays the month's consolidated invoice with it from the Payment screen: on a desktop
with JavaScript and on a phone without it. The card's number is typed on the provider's page only."""

import re

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Invoice, Payment, PaymentMethod
from tests import factories
from tests.browser.conftest import add_card_on_the_gateway, log_in
from tests.browser.test_look import fits_here_and_at_1024
from tests.reseller.helpers import consolidated_office


@pytest.mark.parametrize(("width", "javascript"), [(1280, True), (390, False)], ids=["1280-js", "390-nojs"])
def test_a_manager_adds_a_card_and_pays_the_consolidated_invoice_with_it(new_page, screenshot, width, javascript):
    reseller, _clients, invoice = consolidated_office(
        "pt_BR", "BR", "Contabilidade Horizonte Ltda", ("Padaria Pão Dourado Ltda", "Ótica Central ME"), issued=True)
    manager = factories.make_member("reseller", "manager", organisation=reseller, locale="pt_BR")
    db.session.commit()
    page = new_page(width=width, height=844 if width < 600 else 800, locale="pt-BR", javascript=javascript)
    log_in(page, manager.user.email)
    shot = f"reseller-cards-{width}{'' if javascript else '-nojs'}"
    problems: list[str] = []

    page.goto("/reseller/payment")
    page.get_by_role("link", name="Adicionar ou gerenciar cartões").click()
    expect(page.locator("h1")).to_have_text("Formas de pagamento")
    expect(page.locator("main")).to_contain_text("Ainda não há cartões")
    add_card_on_the_gateway(page, "Ana Beatriz Lima", "/reseller/payment-methods/added")
    expect(page.get_by_role("heading", name="Visa •••• 4242")).to_be_visible()
    page.get_by_role("button", name="Salvar o cartão").click()
    expect(page.get_by_text("Visa •••• 4242 foi adicionado às suas formas de pagamento.")).to_be_visible()
    expect(page.locator("#payment_methods tbody tr")).to_have_count(1)
    fits_here_and_at_1024(page, problems, "payment methods")
    screenshot(page, f"{shot}-methods")
    db.session.rollback()
    card = db.session.scalar(db.select(PaymentMethod).where(PaymentMethod.organisation_id == reseller.id))
    assert card.last4 == "4242" and "4242424242424242" not in card.token

    page.get_by_role("link", name="Pagamento", exact=True).first.click()
    row = page.locator("#invoices tbody tr", has_text=invoice.display_number)
    row.get_by_role("button", name=re.compile(r"^Pagar R\$ [\d.,]+ com Visa •••• 4242$")).click()
    expect(page.locator(".flash-success")).to_contain_text(f"pela fatura {invoice.display_number}. Obrigado!")
    expect(page.locator("#invoices tbody tr", has_text=invoice.display_number)).to_contain_text("Paga")
    fits_here_and_at_1024(page, problems, "payment")
    screenshot(page, f"{shot}-paid")
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    paid = db.session.scalar(db.select(Payment).where(Payment.invoice_id == invoice.id))
    assert (paid.method_kind, paid.state, paid.payment_method_id) == ("card", "succeeded", card.id)
    assert not problems, "\n".join(problems)


def test_the_card_a_manager_adds_pays_the_months_invoice_by_itself_when_it_is_issued(new_page, screenshot):
    """The first card pays automatically: the billing run of 2 March issues the consolidated invoice and charges
    it, and the Payment screen and the invoice's page read it as paid by that card, automatically."""
    from portal.workflows.billing_run import run_sweep
    from tests.reseller.helpers import MARCH_2

    reseller, _clients, draft = consolidated_office(
        "pt_BR", "BR", "Contabilidade Horizonte Ltda", ("Padaria Pão Dourado Ltda", "Ótica Central ME"))
    manager = factories.make_member("reseller", "manager", organisation=reseller, locale="pt_BR")
    db.session.commit()
    page = new_page(locale="pt-BR")
    log_in(page, manager.user.email)
    page.goto("/reseller/payment-methods")
    add_card_on_the_gateway(page, "Ana Beatriz Lima", "/reseller/payment-methods/added")
    page.get_by_role("button", name="Salvar o cartão").click()
    expect(page.locator("#payment_methods tbody tr")).to_contain_text("Paga as renovações")
    page.get_by_role("link", name="Pagamento", exact=True).first.click()
    # The payment methods page names the card and "paga automaticamente" too: wait for the Payment screen itself,
    # or the reload below would reload the page just left.
    expect(page).to_have_url(re.compile(r"/reseller/payment$"))
    expect(page.locator("main")).to_contain_text("Visa •••• 4242")
    expect(page.locator("main")).to_contain_text("paga automaticamente")

    db.session.rollback()
    run_sweep(MARCH_2, render_pdfs=False)  # issues the month's invoice; its auto-pay job runs at once (tests)
    db.session.rollback()
    invoice = db.session.get(Invoice, draft.id)
    assert invoice.status == "paid"
    page.reload()
    row = page.locator("#invoices tbody tr", has_text=invoice.display_number)
    expect(row).to_contain_text("Paga")
    row.get_by_role("link", name=invoice.display_number).first.click()
    expect(page).to_have_url(re.compile(rf"/reseller/payment/invoices/{invoice.id}$"))
    expect(page.locator("main")).to_contain_text("Visa •••• 4242, automático")
    screenshot(page, "reseller-auto-paid-invoice")
    paid = db.session.scalar(db.select(Payment).where(Payment.invoice_id == invoice.id))
    assert (paid.method_kind, paid.state) == ("card", "succeeded") and paid.idempotency_key.startswith("autopay:")
