"""The back office's side of the partner portal in a real browser, in Portuguese: staff edit a price list (a new
version; a bad bonus tier is refused first) and approve a partner admin's pending order from the queue, with and
without JavaScript, at 1280 and 390 px."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.models.partners import PartnerOrder, PartnerStock, PriceList
from portal.services.partners import orders
from tests import factories
from tests.browser.conftest import log_in

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def partner(app):
    partner = factories.make_org("partner", country="BR", currency="BRL", name="Moderniza Parceiro Sul")
    price_list, products = factories.make_partner_catalog(partner)
    admin = factories.make_member("partner", "admin", organisation=partner).user
    orders.add_line(partner, admin, "purchase", products["completo"], 10, NOW)
    order = orders.confirm(orders.draft_for(partner, admin), admin, NOW)
    db.session.commit()
    return {"price_list_id": price_list.id, "order_id": order.id, "partner_id": partner.id}


def _staff(new_page, javascript: bool, width: int):
    page = new_page(javascript=javascript, width=width, locale="pt-BR")
    membership = factories.make_member("vendor", "admin", locale="pt_BR")
    db.session.commit()
    log_in(page, membership.user.email)
    return page


@pytest.mark.parametrize(("javascript", "width"), [(True, 1280), (False, 390)])
def test_staff_edit_a_price_list_and_approve_a_partners_order_from_the_queue(app, new_page, partner, javascript,
                                                                              width):
    page = _staff(new_page, javascript, width)
    page.goto("/backoffice/price-lists")
    expect(page.locator("h1")).to_have_text("Pautas de preço")
    page.get_by_role("link", name="Editar Pauta Parceiros 2026").click()
    expect(page.locator("h1")).to_have_text("Editar Pauta Parceiros 2026")
    expect(page.locator("#unit_monthly_0")).to_have_value("89,90")

    page.fill("#tiers_0", "10:20")
    page.get_by_role("button", name="Salvar como versão 2").click()
    expect(page.locator("#editor-error")).to_contain_text("de 1 até esse mínimo")
    expect(page.locator("#tiers_0")).to_have_attribute("aria-invalid", "true")

    page.fill("#tiers_0", "10:2; 25:5")
    page.fill("#unit_monthly_0", "99,90")
    page.get_by_role("button", name="Salvar como versão 2").click()
    expect(page.locator(".flash-success")).to_contain_text("A versão 2 de Pauta Parceiros 2026 está em vigor")
    expect(page.get_by_text("99,90")).to_be_visible()
    expect(page.get_by_text("2 grátis a partir de 10")).to_be_visible()
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(PriceList.id))) == 2
    assert db.session.get(PartnerOrder, partner["order_id"]).price_list_id == partner["price_list_id"]

    page.get_by_role("link", name="Pedidos a aprovar").click()
    expect(page.locator("h1")).to_have_text("Pedidos a aprovar")
    expect(page.get_by_text("Moderniza Parceiro Sul")).to_be_visible()
    page.get_by_role("link", name=f"Detalhes do pedido {partner['order_id']}").click()
    expect(page.get_by_text("Pauta Parceiros 2026 · versão 1")).to_be_visible()
    page.locator("#approve-order").click()
    expect(page.locator(".flash-success")).to_contain_text(f"O pedido {partner['order_id']} de Moderniza Parceiro "
                                                           "Sul foi aprovado")
    expect(page.get_by_text("Nenhum pedido aguarda aprovação.")).to_be_visible()
    db.session.commit()
    assert db.session.get(PartnerOrder, partner["order_id"]).status == "finalised"
    stock = db.session.scalar(db.select(PartnerStock).where(PartnerStock.partner_id == partner["partner_id"]))
    assert stock.available == 11  # priced with version 1: 1 free from 10
