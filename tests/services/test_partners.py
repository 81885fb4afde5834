"""License partners: orders priced from the price list and frozen, approved or cancelled once, stock that never
goes below zero, authorisation codes, client cancellation."""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import AuditEvent, Invoice
from portal.models.partners import LicenseActivation, PartnerStock, StockMovement
from portal.services.errors import DomainError
from portal.services.partners import codes, license_check, orders, pricelists, stock
from portal.services.partners.pricing import bonus_for, price_line
from tests import factories

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
CNPJ = "11.222.333/0001-81"


@pytest.fixture
def partner(app):
    return factories.make_org("partner", country="BR", currency="BRL")


@pytest.fixture
def admin(partner):
    return factories.make_member("partner", "admin", organisation=partner).user


def _stock(partner, product) -> PartnerStock:
    db.session.expire_all()
    return db.session.scalar(db.select(PartnerStock).where(PartnerStock.partner_id == partner.id,
                                                           PartnerStock.product_id == product.id))


def test_a_line_is_priced_from_the_partners_price_list_with_its_bonus(partner, admin):
    _list, products = factories.make_partner_catalog()
    line = orders.add_line(partner, admin, "purchase", products["completo"], 12, NOW)
    assert (line.quantity, line.bonus, line.total_quantity, line.users) == (12, 1, 13, 26)
    assert (line.unit_monthly, line.monthly_total, line.setup_total) == (8990, 12 * 8990, 12 * 15000)
    assert line.total_with_setup == 12 * 8990 + 12 * 15000


def test_the_partners_own_list_wins_over_the_default(partner, admin):
    factories.make_partner_catalog()
    own, products = factories.make_partner_catalog(partner)
    assert orders.current_price_list(partner).id == own.id
    line = orders.add_line(partner, admin, "purchase", products["light"], 1, NOW)
    assert line.order.price_list_id == own.id


@pytest.mark.parametrize("quantity", [0, -3, "7", 1.5, None, True, 10_001, 10**30])
def test_a_quantity_that_is_not_a_whole_number_from_1_to_10000_is_refused(partner, admin, quantity):
    _list, products = factories.make_partner_catalog()
    with pytest.raises(DomainError) as error:
        orders.add_line(partner, admin, "purchase", products["completo"], quantity, NOW)
    assert error.value.field == "quantity"
    assert orders.draft_for(partner, admin) is None


def test_an_additional_order_needs_the_product_in_stock(partner, admin):
    _list, products = factories.make_partner_catalog()
    with pytest.raises(DomainError) as error:
        orders.add_line(partner, admin, "additional", products["completo"], 3, NOW)
    assert error.value.code == "not_in_stock"
    factories.make_partner_stock(partner, products["completo"], 2)
    line = orders.add_line(partner, admin, "additional", products["completo"], 3, NOW)
    assert (line.users, line.unit_monthly, line.setup_total, line.bonus) == (3, 1500, 0, 0)


def test_a_price_list_changed_after_an_order_leaves_the_order_as_it_was(partner, admin):
    price_list, products = factories.make_partner_catalog()
    orders.add_line(partner, admin, "purchase", products["completo"], 10, NOW)
    order = orders.confirm(orders.draft_for(partner, admin), admin, NOW)
    before = (order.monthly_total, order.setup_total, [line.bonus for line in order.lines])
    new = pricelists.revise(price_list, "Pauta 2027", [pricelists.ItemSpec(products["completo"], 12000, 30000, 1)],
                            NOW)
    db.session.expire_all()
    assert new.version == 2 and new.lineage == price_list.lineage
    assert (order.monthly_total, order.setup_total, [line.bonus for line in order.lines]) == before
    assert orders.current_price_list(partner).id == new.id


def test_approving_credits_stock_with_the_bonus_and_invoices_the_setup_fee_once(partner, admin):
    _list, products = factories.make_partner_catalog()
    orders.add_line(partner, admin, "purchase", products["completo"], 10, NOW)
    orders.add_line(partner, admin, "purchase", products["light"], 2, NOW)
    order = orders.confirm(orders.draft_for(partner, admin), admin, NOW)
    orders.approve(order, admin, NOW)
    assert order.status == "finalised"
    assert (_stock(partner, products["completo"]).available, _stock(partner, products["light"]).available) == (11, 2)
    invoice = db.session.get(Invoice, order.setup_invoice_id)
    assert invoice.organisation_id == partner.id and invoice.subtotal == 10 * 15000
    with pytest.raises(DomainError) as error:
        orders.approve(order, admin, NOW)
    assert error.value.code == "order_finalised"
    with pytest.raises(DomainError) as error:
        orders.cancel(order, admin, NOW)
    assert error.value.code == "order_finalised"
    # the setup fees, and the first month of the subscription it started (tests/services/test_partner_subscription.py)
    assert db.session.scalar(db.select(db.func.count(Invoice.id))) == 2


def test_a_cancelled_order_cannot_be_approved(partner, admin):
    _list, products = factories.make_partner_catalog()
    orders.add_line(partner, admin, "purchase", products["light"], 2, NOW)
    order = orders.cancel(orders.confirm(orders.draft_for(partner, admin), admin, NOW), admin, NOW)
    with pytest.raises(DomainError) as error:
        orders.approve(order, admin, NOW)
    assert error.value.code == "order_cancelled"
    assert _stock(partner, products["light"]) is None


def test_an_empty_draft_cannot_be_confirmed(partner, admin):
    with pytest.raises(DomainError) as error:
        orders.confirm(orders.draft_for(partner, admin), admin, NOW)
    assert error.value.code == "empty_order"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quantity=st.integers(1, 10_000), unit=st.integers(0, 10**7), setup=st.integers(0, 10**7),
       users=st.integers(1, 50),
       tiers=st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 500)), max_size=5))
def test_line_totals_are_the_price_lists_arithmetic(quantity, unit, setup, users, tiers):
    from portal.models.partners import PriceListItem

    item = PriceListItem(unit_monthly=unit, setup_fee=setup, users_per_license=users,
                         bonus_tiers=[list(t) for t in tiers])
    price = price_line(item, quantity)
    expected_bonus = max([free for minimum, free in tiers if minimum <= quantity], default=0)
    assert price.bonus == expected_bonus == bonus_for(item.bonus_tiers, quantity)
    assert price.monthly_total == quantity * unit and price.setup_total == quantity * setup
    assert price.users == (quantity + expected_bonus) * users
    assert price.total_with_setup == quantity * (unit + setup)
    assert all(isinstance(v, int) for v in (price.monthly_total, price.setup_total, price.users))


def test_codes_carry_more_than_80_bits_and_are_found_however_they_are_typed():
    import math

    assert codes.RANDOM_LENGTH * math.log2(len(codes.ALPHABET)) >= 80
    assert not set("01ILO") & set(codes.ALPHABET)
    code = codes.new_code()
    shown = codes.grouped(code)
    assert len(shown.split("-")) == 5 and all(len(group) == 4 for group in shown.split("-"))
    assert codes.normalise(shown.lower().replace("-", " ")) == code
    assert codes.normalise(f"  {shown}  ") == code
    wrong = ("2" if code[3] != "2" else "3")
    assert codes.normalise(code[:3] + wrong + code[4:]) is None
    assert codes.normalise(code[:3] + code[4] + code[3] + code[5:]) in (None, code)  # a neighbour swap is caught
    assert len({codes.new_code() for _ in range(1000)}) == 1000


def test_an_activation_takes_one_license_and_its_movement_is_recorded(partner, admin):
    _list, products = factories.make_partner_catalog()
    factories.make_partner_stock(partner, products["completo"], 2, users_per_license=2)
    activation = stock.activate(partner, admin, products["completo"], "Mercado Boa Vista", CNPJ, "caixa 1", NOW)
    assert activation.code == codes.normalise(codes.grouped(activation.code)) and activation.users == 2
    assert _stock(partner, products["completo"]).available == 1
    history = db.session.scalars(db.select(StockMovement.quantity).where(StockMovement.partner_id == partner.id))
    assert sum(history) == 1
    assert activation.client.tax_id == "11222333000181" and activation.client.tax_id_masked == "11.***.***/****-81"


def test_no_activation_beyond_stock_and_an_invalid_cnpj_writes_nothing(partner, admin):
    _list, products = factories.make_partner_catalog()
    factories.make_partner_stock(partner, products["light"], 1)
    with pytest.raises(DomainError) as error:
        stock.activate(partner, admin, products["light"], "Mercado", "11.222.333/0001-82", "", NOW)
    assert error.value.field == "client_tax_id"
    stock.activate(partner, admin, products["light"], "Mercado", CNPJ, "", NOW)
    with pytest.raises(DomainError) as error:
        stock.activate(partner, admin, products["light"], "Outro", "390.533.447-05", "", NOW)
    assert error.value.code == "out_of_stock"
    assert db.session.scalar(db.select(db.func.count(LicenseActivation.id))) == 1
    assert _stock(partner, products["light"]).available == 0


def test_cancelling_a_license_gives_it_back_once(partner, admin):
    activation = factories.make_license(partner, tax_id=CNPJ)
    stock.cancel_activation(activation, admin, NOW)
    assert _stock(partner, activation.product).available == 1
    with pytest.raises(DomainError) as error:
        stock.cancel_activation(activation, admin, NOW)
    assert error.value.code == "activation_cancelled"
    assert _stock(partner, activation.product).available == 1
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "license_cancelled")) is not None


def test_activations_are_found_by_name_cnpj_or_a_code_typed_loosely(partner, admin):
    first = factories.make_license(partner, client_name="Padaria São Jorge", tax_id=CNPJ)
    factories.make_license(partner, client_name="Ótica Central")
    assert stock.find_activations(partner, name="sao jorge") == [first]
    assert stock.find_activations(partner, tax_id="11222333000181") == [first]
    assert stock.find_activations(partner, tax_id=CNPJ) == [first]
    assert stock.find_activations(partner, code=codes.grouped(first.code).lower().replace("-", " ")) == [first]
    assert stock.find_activations(partner, code="not a code") == []
    other = factories.make_org("partner", country="BR", currency="BRL")
    assert stock.find_activations(other, tax_id=CNPJ) == []


def test_cancelling_a_client_returns_every_license_and_removes_its_cnpj(partner, admin):
    _list, products = factories.make_partner_catalog()
    factories.make_partner_stock(partner, products["completo"], 3)
    for _ in range(2):
        stock.activate(partner, admin, products["completo"], "Mercado Boa Vista", CNPJ, "", NOW)
    client = stock.find_clients(partner, "mercado")[0][0]
    assert stock.find_clients(partner, CNPJ)[0] == (client, 2)
    assert stock.cancel_client(partner, client, admin, NOW) == 2
    assert _stock(partner, products["completo"]).available == 3
    assert client.tax_id is None and client.tax_id_masked == "11.***.***/****-81"
    assert stock.find_clients(partner, "mercado") == []
    code = db.session.scalars(db.select(LicenseActivation.code)).first()
    assert license_check.check_license(code, CNPJ).status == "unknown"  # the client's CNPJ is gone
    with pytest.raises(DomainError):
        stock.cancel_client(partner, client, admin, NOW)


def test_the_history_adds_up_to_the_stock(partner, admin):
    _list, products = factories.make_partner_catalog()
    orders.add_line(partner, admin, "purchase", products["completo"], 10, NOW)
    orders.approve(orders.confirm(orders.draft_for(partner, admin), admin, NOW), admin, NOW)
    made = [stock.activate(partner, admin, products["completo"], f"Cliente {n}", factories._valid_tax_id("BR", n),
                           "", NOW) for n in range(4)]
    stock.cancel_activation(made[0], admin, NOW)
    row = _stock(partner, products["completo"])
    moved = db.session.scalar(db.select(db.func.sum(StockMovement.quantity)).where(
        StockMovement.partner_id == partner.id, StockMovement.product_id == products["completo"].id))
    assert moved == row.available == 11 - 3 and row.active == 3 and row.total == 11


def test_the_license_check_reads_valid_and_cancelled(partner, admin):
    activation = factories.make_license(partner, tax_id=CNPJ)
    assert license_check.check_license(codes.grouped(activation.code), CNPJ).status == "valid"
    assert license_check.check_license(activation.code, "39053344705").status == "unknown"
    stock.cancel_activation(activation, admin, NOW)
    assert license_check.check_license(activation.code, CNPJ).status == "cancelled"
