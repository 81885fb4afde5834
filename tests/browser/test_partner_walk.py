"""The partner portal in a real browser, in Portuguese: a seller orders two products and removes one, an
administrator approves the order, a license is activated for a client, found again by its CNPJ and by its
code typed loosely, cancelled back to stock, and a client is cancelled with all its licenses; at 390 px and
1280 px with htmx, and the same walk without JavaScript."""

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models.partners import LicenseActivation, PartnerStock
from tests import factories
from tests.browser.conftest import log_in

CNPJ = "11.222.333/0001-81"


@pytest.fixture
def partner(app):
    with app.test_request_context():
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
    # A seller creates orders; only an administrator approves them.
    expect(page.get_by_role("button", name="Aprovar", exact=True)).to_have_count(0)


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
    page.locator("#filter-tax-id").fill("11222333000181")
    page.get_by_role("button", name="Filtrar").click()
    expect(page.locator("#licenses tbody tr")).to_have_count(1)
    expect(page.locator("#licenses")).to_contain_text("Mercado Boa Vista Ltda")
    page.locator("#filter-tax-id").fill("")
    page.locator("#filter-code").fill(" " + code.replace("-", " ").lower() + " ")
    page.get_by_role("button", name="Filtrar").click()
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
    admin.get_by_role("link", name="Cancelar o cliente Padaria Estrela Ltda").click()
    expect(admin.locator("main")).to_contain_text("2")
    admin.locator("#confirm-client-cancel").click()
    expect(admin.locator(".flash-success")).to_be_visible()
    assert _available(partner, completo) == 11
    db.session.rollback()
    statuses = db.session.scalars(db.select(LicenseActivation.status)).all()
    assert sorted(statuses) == ["cancelled"] * 3
