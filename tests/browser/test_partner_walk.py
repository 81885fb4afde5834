"""The partner portal in a real browser, in Portuguese: a seller orders two products and removes one, an
administrator approves the order and reads what it invoiced and added to the monthly subscription (on the
order and on the stock page), a license is activated for a client, found again by its CNPJ and by its code
typed loosely, cancelled back to stock, and a client is cancelled with all its licenses; the administrator
finds the order's invoice among the partner's invoices ("Faturas", which a seller does not see) and generates
a boleto for it, then adds a card on the payment provider's page ("Formas de pagamento", which a seller does not
see either) and pays the invoice with it; at 390 px and 1280 px with htmx, and the same walk without JavaScript.
From a desktop the order, the activations and the invoices are read at 1024 px too, every column in view."""

import re

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Invoice, Payment, PaymentMethod
from portal.models.partners import LicenseActivation, PartnerStock
from portal.services.payments.offline import setup
from tests import factories
from tests.browser.conftest import add_card_on_the_gateway, log_in
from tests.browser.test_look import fits_here_and_at_1024

CNPJ = "11.222.333/0001-81"


@pytest.fixture
def partner(app):
    with app.test_request_context():
        setup.configure_demo()  # boleto and Pix offered in Brazil
        org = factories.make_org("partner", country="BR", currency="BRL", name="Moderniza Parceiro Sul Ltda")
        _list, products = factories.make_partner_catalog(org)
        seller = factories.make_member("partner", "seller", organisation=org, locale="pt_BR").user
        admin = factories.make_member("partner", "admin", organisation=org, locale="pt_BR").user
        db.session.commit()
        return {"org": org, "products": products, "seller": seller.email, "admin": admin.email}


def _available(partner, product) -> int:
    db.session.rollback()
    return db.session.scalar(db.select(PartnerStock.available).where(
        PartnerStock.partner_id == partner["org"].id, PartnerStock.product_id == product.id)) or 0


def _order_as_seller(page, partner, javascript: bool, shot) -> None:
    completo, light = partner["products"]["completo"], partner["products"]["light"]
    log_in(page, partner["seller"])
    page.get_by_role("link", name="Pedido > Comprar", exact=True).click()
    expect(page.locator("h1")).to_have_text("Novo pedido")
    expect(page.locator("main")).to_contain_text("Pauta Parceiros 2026")
    page.locator("#product_id").select_option(str(completo.id))
    page.locator("#quantity").fill("10")
    page.locator("#add-product").click()
    items = page.locator("#order-items")
    expect(items).to_contain_text("Moderniza Completo")
    page.locator("#product_id").select_option(str(light.id))
    page.locator("#quantity").fill("2")
    page.locator("#add-product").click()
    expect(items).to_contain_text("Moderniza Light")
    # Ten Completo earn one free license (the list's first bonus tier): 11 licenses in all.
    completo_row = items.locator("tbody tr", has_text="Moderniza Completo")
    expect(completo_row.locator("td").nth(2)).to_have_text("11")
    page.get_by_role("button", name="Remover Moderniza Light").click()
    expect(items).not_to_contain_text("Moderniza Light")
    # 10 × R$ 89,90 a month, and the setup fee R$ 150,00 once per license bought.
    expect(items.locator(".totals")).to_contain_text("R$ 899,00")
    shot(page, "order-items")
    if javascript:
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#confirm-order").click()
    else:
        page.locator("#confirm-order").click()
        page.get_by_role("button", name="Sim, confirmar o pedido").click()
    page.wait_for_url("**/partner/orders")
    expect(page.locator("h1")).to_have_text("Meus pedidos")
    expect(page.locator("main tbody tr").first).to_contain_text("Moderniza Completo × 10")
    expect(page.locator("main tbody tr").first).to_contain_text("PEND")
    # A seller creates orders; only an administrator approves them, and sees and pays the partner's invoices.
    expect(page.get_by_role("button", name="Aprovar", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Faturas", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Formas de pagamento", exact=True)).to_have_count(0)


def _pay_the_setup_invoice(page, partner, shot) -> None:
    """The approved order invoiced its setup fees: the invoice is pending among the partner's invoices, and a
    boleto generated on its page is shown with its line and is waiting to be paid."""
    page.get_by_role("link", name="Faturas", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Faturas")
    db.session.rollback()
    invoice = db.session.scalar(db.select(Invoice).where(Invoice.organisation_id == partner["org"].id,
                                                         Invoice.status == "open").order_by(Invoice.id.desc()))
    row = page.locator("#invoices tbody tr", has_text=invoice.display_number)
    expect(row).to_contain_text("Pendente")
    expect(row.get_by_role("button", name="Gerar boleto")).to_be_visible()
    problems: list[str] = []
    fits_here_and_at_1024(page, problems, "invoices")
    shot(page, "invoices")
    row.get_by_role("link", name=invoice.display_number).click()
    expect(page.locator("h1")).to_have_text(f"Fatura {invoice.display_number}")
    expect(page.locator("#pay-title")).to_have_text("Pagar esta fatura")
    fits_here_and_at_1024(page, problems, "invoice")
    assert not problems, "\n".join(problems)
    shot(page, "invoice")
    page.locator("main").get_by_role("button", name="Gerar boleto").click()
    expect(page.locator("h1")).to_have_text(f"Pagar a fatura {invoice.display_number}")
    db.session.rollback()
    [boleto] = db.session.scalars(db.select(Payment).where(Payment.invoice_id == invoice.id))
    assert boleto.method_kind == "boleto" and boleto.state == "pending"
    expect(page.locator("main")).to_contain_text(boleto.instructions["line_printed"])
    shot(page, "invoice-boleto")
    page.get_by_role("link", name="← Faturas").click()
    expect(page.locator("main")).to_contain_text("Ver o Boleto gerado")


def _add_a_card_and_pay(page, partner, shot) -> None:
    """The invoice still waits (its boleto is not paid): its page says there is no card on file and links to the
    payment methods, where a card is added on the provider's page (the only place its number is typed); back on
    the invoices, the card pays all the invoice owes."""
    db.session.rollback()
    invoice = db.session.scalar(db.select(Invoice).where(Invoice.organisation_id == partner["org"].id,
                                                         Invoice.status == "open").order_by(Invoice.id.desc()))
    page.locator("#invoices").get_by_role("link", name=invoice.display_number).click()
    expect(page.locator("main")).to_contain_text("Nenhum cartão cadastrado.")
    page.get_by_role("link", name="Adicione um cartão para pagar com ele").click()
    expect(page.locator("h1")).to_have_text("Formas de pagamento")
    expect(page.locator("main")).to_contain_text("Ainda não há cartões")
    add_card_on_the_gateway(page, "Ana Souza", "/partner/payment-methods/added")
    expect(page.get_by_role("heading", name="Visa •••• 4242")).to_be_visible()
    shot(page, "card-added")
    page.get_by_role("button", name="Salvar o cartão").click()
    expect(page.get_by_text("Visa •••• 4242 foi adicionado às suas formas de pagamento.")).to_be_visible()
    cards = page.locator("#payment_methods tbody tr")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("12/2030")
    expect(page.locator("main")).to_contain_text("o valor devido é cobrado no Visa •••• 4242.")
    problems: list[str] = []
    fits_here_and_at_1024(page, problems, "payment methods")
    assert not problems, "\n".join(problems)
    shot(page, "payment-methods")
    db.session.rollback()
    card = db.session.scalar(db.select(PaymentMethod).where(PaymentMethod.organisation_id == partner["org"].id))
    assert card.last4 == "4242" and card.auto_pay and "4242424242424242" not in card.token

    page.get_by_role("link", name="Faturas", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Faturas")
    row = page.locator("#invoices tbody tr", has_text=invoice.display_number)
    row.get_by_role("button", name=re.compile(r"^Pagar R\$ [\d.,]+ com Visa •••• 4242$")).click()
    expect(page.locator(".flash-success")).to_contain_text(f"pela fatura {invoice.display_number}. Obrigado!")
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    paid = db.session.scalar(db.select(Payment).where(Payment.invoice_id == invoice.id, Payment.method_kind == "card"))
    assert paid.state == "succeeded" and paid.payment_method_id == card.id
    expect(page.locator("h1")).to_have_text(f"Fatura {invoice.display_number}")
    expect(page.locator("main")).not_to_contain_text("Pagar esta fatura")
    shot(page, "invoice-paid-by-card")
    page.get_by_role("link", name="← Todas as faturas").click()
    expect(page.locator("#invoices tbody tr", has_text=invoice.display_number)).to_contain_text("Paga")
    expect(page.locator("main")).to_contain_text("Visa •••• 4242")  # among the latest payments
    shot(page, "invoices-paid-by-card")


def _activate_and_find(page, partner, shot) -> str:
    completo = partner["products"]["completo"]
    page.get_by_role("link", name="Ativar licença", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Ativar licença")
    page.locator("#product_id").select_option(str(completo.id))
    page.locator("#client_name").fill("Mercado Boa Vista Ltda")
    page.locator("#client_tax_id").fill("11.222.333/0001-00")  # a wrong check digit
    page.locator("#activate-license").click()
    expect(page.locator("#client_tax_id")).to_have_attribute("aria-invalid", "true")
    page.locator("#client_tax_id").fill(CNPJ)
    page.locator("#activate-license").click()
    code = page.locator("#code-copy").input_value()
    shot(page, "license-code")
    assert len(code.replace("-", "")) >= 16
    assert _available(partner, completo) == 10
    page.goto("/partner/licenses")
    problems: list[str] = []
    fits_here_and_at_1024(page, problems, "activations")
    assert not problems, "\n".join(problems)
    shot(page, "licenses")
    page.locator("#filter-tax-id").fill("11222333000181")
    page.get_by_role("button", name="Filtrar").click()
    # The one activation is listed before the filter as after it: the filtered list is in place once the address
    # carries the filter (htmx pushes it as it swaps the list in; without JavaScript it is the form's address).
    expect(page).to_have_url(re.compile(r"[?&]tax_id=11222333000181(&|$)"))
    expect(page.locator("#licenses tbody tr")).to_have_count(1)
    expect(page.locator("#licenses")).to_contain_text("Mercado Boa Vista Ltda")
    page.locator("#filter-tax-id").fill("")
    page.locator("#filter-code").fill(" " + code.replace("-", " ").lower() + " ")
    page.get_by_role("button", name="Filtrar").click()
    expect(page).to_have_url(re.compile(r"[?&]tax_id=(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]code=[^&]*" + re.escape(code.split("-")[0].lower())))
    expect(page.locator("#licenses tbody tr")).to_have_count(1)
    return code


@pytest.mark.parametrize(("width", "javascript"), [(1280, True), (390, True), (1280, False)],
                         ids=["1280px", "390px", "no-js"])
def test_a_partner_orders_approves_activates_finds_and_cancels_licenses(new_page, partner, screenshot, width,
                                                                        javascript):
    completo = partner["products"]["completo"]

    def shot(page, name):
        screenshot(page, f"partner-{name}-{width}{'' if javascript else '-no-js'}")

    seller = new_page(width=width, locale="pt-BR", javascript=javascript)
    _order_as_seller(seller, partner, javascript, shot)

    admin = new_page(width=width, locale="pt-BR", javascript=javascript)
    log_in(admin, partner["admin"])
    admin.get_by_role("link", name="Meus pedidos", exact=True).click()
    order_row = admin.locator("main tbody tr").first
    order_row.get_by_role("button", name="Aprovar").click()
    expect(admin.locator(".flash-success")).to_be_visible()
    expect(admin.locator("main tbody tr").first).not_to_contain_text("PEND")
    shot(admin, "orders-approved")
    assert _available(partner, completo) == 11  # 10 bought + 1 bonus

    # The order says what it invoiced and what it added to the monthly subscription: the 10 licenses bought (the
    # bonus one is free) at R$ 89,90, the first month invoiced as the subscription starts; the stock page lists it.
    admin.locator("main tbody tr").first.get_by_role("link", name="Detalhes").click()
    billing = admin.locator("#order-billing")
    expect(billing.locator("h2")).to_have_text("Faturado e mensalidade")
    expect(billing.locator("dd").first).to_contain_text("R$ 1.500,00 na fatura")
    line = billing.locator("tbody tr", has_text="Moderniza Completo")
    expect(line.locator("td").nth(0)).to_have_text("+10")
    expect(line.locator("td").nth(1)).to_have_text("10")
    expect(line.locator("td").nth(2)).to_have_text("R$ 89,90")
    expect(line.locator("td").nth(3)).to_contain_text("O primeiro mês, R$ 899,00, na fatura")
    problems: list[str] = []
    fits_here_and_at_1024(admin, problems, "order")
    assert not problems, "\n".join(problems)
    # Its items, read beside the sidebar at 1024 px: 10 bought and the bonus one, 11 in all, the setup fee under the
    # unit price, and both totals in one column.
    items = admin.locator("#lines-title").locator("xpath=..").locator("tbody tr", has_text="Moderniza Completo")
    expect(items.locator("td").nth(0)).to_have_text(re.compile(r"^10\s*Bônus: 1$"))
    expect(items.locator("td").nth(1)).to_have_text("11")
    expect(items.locator("td").nth(3)).to_contain_text("Taxa de adesão: R$ 150,00")
    expect(items.locator("td").nth(4)).to_contain_text("Valor total com adesão: R$ 2.399,00")
    shot(admin, "order-billing")
    admin.get_by_role("link", name="Estoque", exact=True).first.click()
    subscription = admin.locator("#subscription")
    expect(subscription.locator("h2")).to_have_text("Assinatura mensal")
    row = subscription.locator("tbody tr", has_text="Moderniza Completo")
    expect(row.locator("td").nth(0)).to_have_text("10")
    expect(row.locator("td").nth(2)).to_have_text("R$ 899,00")
    expect(subscription.locator(".totals")).to_contain_text("R$ 899,00")
    shot(admin, "stock-subscription")

    _pay_the_setup_invoice(admin, partner, shot)
    _add_a_card_and_pay(admin, partner, shot)

    _activate_and_find(admin, partner, shot)
    admin.locator("#licenses tbody a", has_text="Mercado Boa Vista Ltda").click()
    if javascript:
        admin.once("dialog", lambda dialog: dialog.accept())
    admin.locator("#cancel-license").click()
    expect(admin.locator(".flash-success")).to_be_visible()
    assert _available(partner, completo) == 11

    # Two licenses for one client, then the client cancelled: both back in stock, its CNPJ gone.
    for _ in range(2):
        admin.goto("/partner/licenses/activate")
        admin.locator("#product_id").select_option(str(completo.id))
        admin.locator("#client_name").fill("Padaria Estrela Ltda")
        admin.locator("#client_tax_id").fill("45.723.174/0001-10")
        admin.locator("#activate-license").click()
        expect(admin.locator("#code-copy")).to_be_visible()
    assert _available(partner, completo) == 9
    admin.get_by_role("link", name="Clientes / ECFs", exact=True).click()
    admin.locator("#client-q").fill("Estrela")
    admin.get_by_role("button", name="Buscar").click()
    # Its cancel link is in the list before the search too: follow it once the found list is in place.
    expect(admin).to_have_url(re.compile(r"[?&]q=Estrela(&|$)"))
    admin.get_by_role("link", name="Cancelar o cliente Padaria Estrela Ltda").click()
    expect(admin.locator("main")).to_contain_text("2 licenças ativas serão canceladas")
    admin.locator("#confirm-client-cancel").click()
    expect(admin.locator(".flash-success")).to_be_visible()
    assert _available(partner, completo) == 11
    db.session.rollback()
    statuses = db.session.scalars(db.select(LicenseActivation.status)).all()
    assert sorted(statuses) == ["cancelled"] * 3
