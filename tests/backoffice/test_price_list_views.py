"""The back office's price lists ("Pautas de preço"): staff list, create, edit (a new version that leaves
orders as they were priced) and assign them; bad input is a translated 4xx that writes nothing."""

from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models import AuditEvent
from portal.models.partners import PartnerOrder, PriceList
from portal.services.partners import orders
from tests import factories

PT = {"Accept-Language": "pt-BR"}
ES = {"Accept-Language": "es"}
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def partner(app):
    return factories.make_org("partner", country="BR", currency="BRL")


@pytest.fixture
def catalog(partner):
    price_list, products = factories.make_partner_catalog(partner)
    db.session.commit()
    return price_list, products


@pytest.fixture
def staff(login_as):
    return login_as("vendor", "admin")


def _lists() -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count(PriceList.id)))


def _row(i, product, unit="", setup="", users="1", tiers="", remove=False) -> dict:
    row = {f"product_id_{i}": str(product.id) if product else "", f"unit_monthly_{i}": unit,
           f"setup_fee_{i}": setup, f"users_{i}": users, f"tiers_{i}": tiers}
    if remove:
        row[f"remove_{i}"] = "1"
    return row


def _form(name, *rows, **fields) -> dict:
    data = {"name": name, "currency": "BRL", "rows": str(len(rows))} | fields
    for row in rows:
        data |= row
    return data


def test_staff_see_the_lists_in_force_in_portuguese(staff, catalog):
    page = staff.get("/backoffice/price-lists", headers=PT).get_data(as_text=True)
    assert "Pautas de preço" in page and "Pauta Parceiros 2026" in page and "Moderniza Completo" in page


def test_a_partners_seller_or_a_customer_cannot_reach_them(login_as, partner, catalog):
    seller = login_as("partner", "seller", organisation=partner)
    assert seller.get("/backoffice/price-lists").status_code in (403, 404)
    billing = login_as("vendor", "billing")
    assert billing.get("/backoffice/price-lists").status_code == 200
    assert billing.get("/backoffice/price-lists/new").status_code == 403


def test_staff_create_the_default_list_with_bonus_tiers(staff, catalog):
    _list, products = catalog
    response = staff.form_post("/backoffice/price-lists/new", _form(
        "Pauta Padrão", _row(0, products["completo"], "89,90", "150,00", "3", "10:1; 25:3"),
        _row(1, products["light"], "49,90"), _row(2, None), partner_id=""), headers=PT)
    assert response.status_code == 303
    db.session.expire_all()
    created = db.session.scalar(db.select(PriceList).where(PriceList.name == "Pauta Padrão"))
    assert created.partner_id is None and created.version == 1 and created.currency == "BRL"
    items = {item.product_id: item for item in created.items}
    completo = items[products["completo"].id]
    assert (completo.unit_monthly, completo.setup_fee, completo.users_per_license) == (8990, 15000, 3)
    assert completo.bonus_tiers == [[10, 1], [25, 3]]
    assert items[products["light"].id].setup_fee == 0
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "price_list_created",
                                                         AuditEvent.object_id == str(created.id))) is not None
    page = staff.get(response.headers["Location"], headers=PT).get_data(as_text=True)
    assert "89,90" in page and "150,00" in page and "1 grátis a partir de 10" in page


def test_editing_makes_a_new_version_and_an_order_keeps_the_one_it_was_priced_with(staff, partner, catalog):
    price_list, products = catalog
    admin = factories.make_member("partner", "admin", organisation=partner).user
    orders.add_line(partner, admin, "purchase", products["completo"], 10, NOW)
    order = orders.confirm(orders.draft_for(partner, admin), admin, NOW)
    db.session.commit()
    order_id, before = order.id, (order.monthly_total, order.setup_total, order.lines[0].bonus)

    page = staff.get(f"/backoffice/price-lists/{price_list.id}/edit", headers=PT).get_data(as_text=True)
    assert 'value="89,90"' in page and 'value="10:1; 25:3"' in page and "versão 2" in page
    response = staff.form_post(f"/backoffice/price-lists/{price_list.id}/edit", _form(
        "Pauta Parceiros 2027", _row(0, products["completo"], "120,00", "300,00", "2", "5:1"),
        _row(1, products["light"], "49,90", remove=True), _row(2, products["usuario"], "15,00")), headers=PT)
    assert response.status_code == 303

    db.session.expire_all()
    old = db.session.get(PriceList, price_list.id)
    new = orders.current_price_list(partner)
    assert new.id != old.id and new.lineage == old.lineage and new.version == 2 and old.superseded_at is not None
    assert {item.product_id for item in new.items} == {products["completo"].id, products["usuario"].id}
    assert [item.unit_monthly for item in old.items] == [8990, 4990, 1500]  # the old version is as it was
    kept = db.session.get(PartnerOrder, order_id)
    assert kept.price_list_id == old.id
    assert (kept.monthly_total, kept.setup_total, kept.lines[0].bonus) == before
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "price_list_revised",
                                                         AuditEvent.object_id == str(new.id))) is not None
    shown = staff.get(f"/backoffice/price-lists/{old.id}", headers=PT).get_data(as_text=True)
    assert "Substituída em" in shown and "Pedidos com preço desta versão" in shown


def test_a_replaced_version_cannot_be_edited_again(staff, catalog):
    price_list, products = catalog
    first = staff.form_post(f"/backoffice/price-lists/{price_list.id}/edit",
                            _form("Pauta", _row(0, products["light"], "40,00")), headers=PT)
    assert first.status_code == 303
    again = staff.form_post(f"/backoffice/price-lists/{price_list.id}/edit",
                            _form("Pauta", _row(0, products["light"], "30,00")), headers=PT)
    assert again.status_code == 409 and "já foi substituída" in again.get_data(as_text=True)
    assert _lists() == 2


@pytest.mark.parametrize(("row", "message"), [
    ({"unit": "-5,00"}, "não pode ser negativo"),
    ({"unit": "abc"}, "Escreva o valor como número"),
    ({"tiers": "dez por um"}, "mínimo:grátis"),
    ({"tiers": "10:0"}, "de 1 até esse mínimo"),
    ({"tiers": "10:20"}, "de 1 até esse mínimo"),
    ({"tiers": "10:1; 10:2"}, "só pode ter uma faixa"),
    ({"tiers": "10:3; 25:1"}, "não pode dar menos licenças grátis"),
    ({"users": "0"}, "de 1 a 10.000"),
    ({"product": "999999"}, "Escolha um dos produtos oferecidos"),
    ({"product": "99999999999999999999"}, "Escolha um dos produtos oferecidos"),
])
def test_bad_input_in_a_row_is_a_translated_422_that_writes_nothing(staff, catalog, row, message):
    price_list, products = catalog
    data = _form("Pauta nova", _row(0, products["light"], row.get("unit", "49,90"), "0", row.get("users", "1"),
                                    row.get("tiers", "")))
    if "product" in row:
        data["product_id_0"] = row["product"]
    response = staff.form_post("/backoffice/price-lists/new", data | {"partner_id": ""}, headers=PT)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    edited = staff.form_post(f"/backoffice/price-lists/{price_list.id}/edit", data, headers=PT)
    assert edited.status_code == 422 and message in edited.get_data(as_text=True)
    assert _lists() == 1
    assert db.session.get(PriceList, price_list.id).superseded_at is None


def test_a_partners_list_in_another_currency_is_refused(staff, partner, catalog):
    _list, products = catalog
    data = _form("Pauta em dólar", _row(0, products["light"], "10,00"), currency="USD", partner_id=str(partner.id))
    response = staff.form_post("/backoffice/price-lists/new", data, headers=ES)
    assert response.status_code == 422 and "se factura en BRL" in response.get_data(as_text=True)
    changed = staff.form_post(f"/backoffice/price-lists/{_list.id}/edit", _form(
        "Pauta", _row(0, products["light"], "10,00"), currency="CLP"), headers=PT)
    assert changed.status_code == 422 and "mantém a moeda da lista (BRL)" in changed.get_data(as_text=True)
    assert _lists() == 1


def test_an_empty_list_or_no_name_is_refused(staff, catalog):
    response = staff.form_post("/backoffice/price-lists/new", _form("Vazia", _row(0, None), partner_id=""),
                               headers=PT)
    assert response.status_code == 422 and "ao menos um produto" in response.get_data(as_text=True)
    unnamed = staff.form_post("/backoffice/price-lists/new", _form("", partner_id=""), headers=PT)
    assert unnamed.status_code == 422
    assert _lists() == 1


def test_staff_assign_the_default_list_to_a_partner(staff, app):
    default, products = factories.make_partner_catalog()
    other = factories.make_org("partner", country="BR", currency="BRL", name="Parceiro Norte")
    mxn = factories.make_org("partner", country="MX", currency="MXN", name="Socio Norte")
    db.session.commit()
    page = staff.get(f"/backoffice/price-lists/{default.id}", headers=PT).get_data(as_text=True)
    assert "Atribuir a um parceiro" in page and "Parceiro Norte" in page
    refused = staff.form_post(f"/backoffice/price-lists/{default.id}/assign", {"partner_id": str(mxn.id)},
                              headers=PT)
    assert refused.status_code == 422 and "é cobrado em MXN" in refused.get_data(as_text=True)
    unknown = staff.form_post(f"/backoffice/price-lists/{default.id}/assign", {"partner_id": "999999"}, headers=PT)
    assert unknown.status_code == 422
    assert _lists() == 1
    response = staff.form_post(f"/backoffice/price-lists/{default.id}/assign", {"partner_id": str(other.id)},
                               headers=PT)
    assert response.status_code == 303
    db.session.expire_all()
    own = orders.current_price_list(db.session.get(type(other), other.id))
    assert own.partner_id == other.id and own.id != default.id
    assert db.session.get(PriceList, default.id).superseded_at is None  # the default stays in force
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "price_list_assigned",
                                                         AuditEvent.organisation_id == other.id)) is not None
