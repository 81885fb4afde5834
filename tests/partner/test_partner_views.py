"""The partner portal's screens: a seller's order with its items, an admin's approval, activations, their
lookup and cancellation, and cancelling a client; bad input is a translated 4xx that writes nothing."""

import re
from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models.partners import LicenseActivation, PartnerOrder, PartnerOrderLine, PartnerStock
from portal.services.partners import codes, stock
from tests import factories

HTMX = {"HX-Request": "true"}
PT = {"Accept-Language": "pt-BR"}
CNPJ = "11.222.333/0001-81"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def partner(app):
    return factories.make_org("partner", country="BR", currency="BRL")


@pytest.fixture
def catalog(partner):
    _list, products = factories.make_partner_catalog(partner)
    db.session.commit()
    return {code: product.id for code, product in products.items()}


@pytest.fixture
def seller(login_as, partner):
    return login_as("partner", "seller", organisation=partner)


@pytest.fixture
def admin(login_as, partner):
    return login_as("partner", "admin", organisation=partner)


def _add(client, product_id, quantity, kind="purchase", **kwargs):
    return client.form_post("/partner/orders/new/items", {"kind": kind, "product_id": str(product_id),
                                                          "quantity": str(quantity)}, **kwargs)


def _lines() -> int:
    return db.session.scalar(db.select(db.func.count(PartnerOrderLine.id)))


def test_a_seller_orders_two_products_removes_one_and_confirms(seller, catalog):
    page = seller.get("/partner/orders/new", headers=PT).get_data(as_text=True)
    assert "Novo pedido" in page and "Pauta Parceiros 2026" in page and "Itens do pedido" in page
    fragment = _add(seller, catalog["completo"], 12, headers=HTMX)
    assert fragment.status_code == 200 and 'id="order-items"' in fragment.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    plain = _add(seller, catalog["light"], 3)
    assert plain.status_code == 303
    page = seller.get("/partner/orders/new", headers=PT).get_data(as_text=True)
    assert "Moderniza Completo" in page and "Moderniza Light" in page and "1.078,80" in page
    light_line = db.session.scalar(db.select(PartnerOrderLine).where(PartnerOrderLine.product_id == catalog["light"]))
    removed = seller.form_post(f"/partner/orders/new/items/{light_line.id}/remove", headers=HTMX)
    assert removed.status_code == 200 and "Moderniza Light" not in removed.get_data(as_text=True).split(
        'id="order-items"')[1]
    confirm_page = seller.get("/partner/orders/new/confirm", headers=PT).get_data(as_text=True)
    assert "Confirmar este pedido?" in confirm_page
    done = seller.form_post("/partner/orders/new/confirm", headers=PT)
    assert done.status_code == 303 and done.headers["Location"].endswith("/partner/orders")
    listing = seller.get("/partner/orders", headers=PT).get_data(as_text=True)
    order = db.session.scalar(db.select(PartnerOrder))
    assert order.status == "pending" and f">{order.id}</a>" in listing and "(PEND)" in listing
    assert "Confirmação pendente" in listing and "Aprovar" not in listing


def test_a_seller_cannot_approve_and_an_admin_approves_once(seller, admin, catalog):
    _add(seller, catalog["completo"], 10)
    seller.form_post("/partner/orders/new/confirm")
    order_id = db.session.scalar(db.select(PartnerOrder.id))
    assert seller.form_post(f"/partner/orders/{order_id}/approve").status_code == 403
    assert admin.form_post(f"/partner/orders/{order_id}/approve").status_code == 303
    db.session.expire_all()
    assert db.session.scalar(db.select(PartnerStock.available)) == 11
    again = admin.form_post(f"/partner/orders/{order_id}/cancel", headers=PT)
    assert again.status_code == 409 and "já foi aprovado" in again.get_data(as_text=True)
    assert db.session.get(PartnerOrder, order_id).status == "finalised"
    assert "Finalizado" in admin.get("/partner/orders", headers=PT).get_data(as_text=True)


def test_an_approved_order_says_what_it_invoiced_and_the_stock_page_lists_the_monthly_subscription(admin, catalog):
    es = {"Accept-Language": "es"}
    before = admin.get("/partner/stock", headers=es).get_data(as_text=True)
    assert "Todavía sin mensualidad" in before
    _add(admin, catalog["completo"], 10)
    admin.form_post("/partner/orders/new/confirm")
    order_id = db.session.scalar(db.select(PartnerOrder.id))
    pending = admin.get(f"/partner/orders/{order_id}", headers=es).get_data(as_text=True).split('id="order-billing"')[1]
    assert "tu suscripción mensual" in pending and "+10" in pending and "Facturado y" not in pending
    admin.form_post(f"/partner/orders/{order_id}/approve")
    page = admin.get(f"/partner/orders/{order_id}", headers=es).get_data(as_text=True)
    billing = page.split('id="order-billing"')[1]
    assert "Facturado y mensualidad" in billing and re.search(r"R\$\s?1[.,]500[.,]00 en la factura", billing)
    assert "+10" in billing and re.search(r"El primer mes, R\$\s?899[.,]00, en la factura", billing)
    listing = admin.get("/partner/stock", headers=es).get_data(as_text=True).split('id="subscription"')[1]
    assert "Suscripción mensual" in listing and "Moderniza Completo" in listing
    assert re.search(r"R\$\s?89[.,]90", listing) and re.search(r"R\$\s?899[.,]00", listing)


@pytest.mark.parametrize("quantity", ["0", "-2", "abc", "", "1e3", "99999999999999999999", "10001"])
def test_a_bad_quantity_is_a_translated_422_that_writes_nothing(seller, catalog, quantity):
    response = _add(seller, catalog["completo"], quantity, headers={**HTMX, **PT})
    assert response.status_code == 422
    assert "quantidade" in response.get_data(as_text=True).lower()
    assert _lines() == 0


def test_additional_users_need_the_product_in_stock(seller, catalog):
    response = _add(seller, catalog["completo"], 2, kind="additional", headers=PT)
    assert response.status_code == 422 and "já está no seu estoque" in response.get_data(as_text=True)
    assert _lines() == 0


def test_an_unknown_product_or_kind_is_refused(seller, catalog):
    assert _add(seller, 999_999, 1).status_code == 422
    assert _add(seller, catalog["completo"], 1, kind="gift").status_code == 422
    assert _add(seller, catalog["usuario"], 1).status_code == 422
    assert _lines() == 0


def test_confirming_an_empty_order_is_refused(seller, catalog):
    assert seller.form_post("/partner/orders/new/confirm").status_code == 409
    assert db.session.scalar(db.select(db.func.count(PartnerOrder.id))) == 0


def test_activate_find_by_cnpj_and_cancel_a_license(seller, partner, catalog):
    from portal.models import Product

    product = db.session.get(Product, catalog["completo"])
    factories.make_partner_stock(db.session.merge(partner), product, 1, users_per_license=2)
    db.session.commit()
    done = seller.form_post("/partner/licenses/activate", {"product_id": str(catalog["completo"]),
                                                           "client_name": "Mercado Boa Vista",
                                                           "client_tax_id": CNPJ, "note": "caixa 1"})
    assert done.status_code == 303
    activation = db.session.scalar(db.select(LicenseActivation))
    page = seller.get(done.headers["Location"], headers=PT).get_data(as_text=True)
    assert codes.grouped(activation.code) in page and "Código de autorização" in page
    found = seller.get("/partner/licenses", query_string={"tax_id": "11222333000181"}, headers=PT)
    assert codes.grouped(activation.code) in found.get_data(as_text=True)
    typed = codes.grouped(activation.code).lower().replace("-", " ")
    assert "Mercado Boa Vista" in seller.get("/partner/licenses", query_string={"code": typed}).get_data(as_text=True)
    empty = seller.form_post("/partner/licenses/activate", {"product_id": str(catalog["completo"]),
                                                            "client_name": "Outro", "client_tax_id": CNPJ},
                             headers=PT)
    assert empty.status_code == 409 and "Não há mais licenças" in empty.get_data(as_text=True)
    assert seller.form_post(f"/partner/licenses/{activation.id}/cancel").status_code == 303
    again = seller.form_post(f"/partner/licenses/{activation.id}/cancel", headers=PT)
    assert again.status_code == 409 and "já foi cancelada" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(db.select(PartnerStock.available)) == 1


def test_activating_with_no_stock_left_or_an_invalid_cnpj_writes_nothing(seller, partner, catalog):
    from portal.models import Product

    product = db.session.get(Product, catalog["light"])
    factories.make_partner_stock(db.session.merge(partner), product, 1)
    db.session.commit()
    bad = seller.form_post("/partner/licenses/activate", {"product_id": str(catalog["light"]), "client_name": "M",
                                                          "client_tax_id": "11.222.333/0001-82"}, headers=PT)
    assert bad.status_code == 422 and "CNPJ" in bad.get_data(as_text=True)
    assert seller.form_post("/partner/licenses/activate", {"product_id": str(catalog["light"]), "client_name": "A",
                                                           "client_tax_id": CNPJ}).status_code == 303
    db.session.execute(db.update(PartnerStock).values(available=0))
    db.session.commit()
    out = seller.form_post("/partner/licenses/activate", {"product_id": str(catalog["light"]), "client_name": "B",
                                                          "client_tax_id": "390.533.447-05"}, headers=PT)
    assert out.status_code == 409
    assert db.session.scalar(db.select(db.func.count(LicenseActivation.id))) == 1


def test_cancelling_a_client_says_how_many_licenses_return(admin, partner, catalog):
    from portal.models import Product

    product = db.session.get(Product, catalog["completo"])
    partner = db.session.merge(partner)
    factories.make_partner_stock(partner, product, 3)
    for _ in range(2):
        stock.activate(partner, db.session.merge(admin.user), product, "Mercado Boa Vista", CNPJ, "", NOW)
    db.session.commit()
    listing = admin.get("/partner/clients", query_string={"q": "boa vista"}, headers=PT).get_data(as_text=True)
    assert "Mercado Boa Vista" in listing and "11.222.333/0001-81" in listing
    client_id = int(re.search(r"/partner/clients/(\d+)/cancel", listing).group(1))
    ask = admin.get(f"/partner/clients/{client_id}/cancel", headers=PT).get_data(as_text=True)
    assert "2 licenças ativas serão canceladas" in ask
    done = admin.form_post(f"/partner/clients/{client_id}/cancel", headers=PT)
    assert done.status_code == 303
    assert "2 licenças voltaram" in admin.get("/partner/clients", headers=PT).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(db.select(PartnerStock.available)) == 3
    assert admin.get(f"/partner/clients/{client_id}/cancel").status_code == 404
    assert "11.***.***/****-81" in admin.get("/partner/licenses", headers=PT).get_data(as_text=True)


@pytest.mark.parametrize("query", ["", "?kind=purchase", "?product_id=abc&quantity=x", "?kind=additional&quantity=3",
                                   "?kind=purchase&quantity=99999999999999999999999"])
def test_the_line_preview_opened_as_a_page_is_the_new_order_page(seller, catalog, query):
    response = seller.get("/partner/orders/new/preview" + query, headers=PT)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Novo pedido" in page and "Itens do pedido" in page


def test_the_line_preview_opened_as_a_page_shows_the_amounts(seller, catalog):
    page = seller.get(f"/partner/orders/new/preview?kind=purchase&product_id={catalog['completo']}&quantity=10",
                      headers=PT).get_data(as_text=True)
    assert "Novo pedido" in page and "899,00" in page and "2.399,00" in page  # 10 × 89,90; + 10 × 150,00


def test_the_line_preview_without_a_price_list_is_the_page_that_says_so(seller):
    response = seller.get("/partner/orders/new/preview", headers=PT)
    assert response.status_code == 200 and "Novo pedido" in response.get_data(as_text=True)
