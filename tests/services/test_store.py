"""The store's offer, the cart priced as the subscription service charges it, and activation in one click."""

import secrets
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import Activation, AuditEvent, CartLine, SubscriptionCharge
from portal.services import catalog
from portal.services.billing.rules import add_months
from portal.services.errors import DomainError
from portal.services.store import activation, carts, offers
from tests import factories
from tests.services.billing_helpers import JAN, invoices_of
from tests.services.store_helpers import make_store

NOW = JAN + timedelta(days=12, hours=3)


@pytest.fixture
def store(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield make_store(NOW)


def _row_codes(store):
    rows = offers.store_rows(offers.holdings(store.org))
    return [(row.category.code, [offer.product.code for offer in row.offers]) for row in rows]


def _activate(store, now=NOW, key=None):
    cart = carts.price_cart(store.org, store.admin, now)
    return activation.activate_cart(store.org, store.admin, key or secrets.token_urlsafe(24), cart.fingerprint, now)


# The offer


def test_rows_follow_the_catalog_order_and_show_only_what_the_organisation_can_buy(store):
    other_software = factories.make_product("module", code="elsewhere", category=store.erp)
    assert other_software.software_id != store.cat.basic.software_id
    assert _row_codes(store) == [("mi-plan", ["free-perm", "user"]), ("erp", ["exporter", "inventory", "stamps"])]
    catalog.move_category(store.erp, "up")
    assert [code for code, _products in _row_codes(store)] == ["erp", "mi-plan"]


def test_a_card_says_free_the_price_per_period_or_once_and_active(store):
    held = offers.holdings(store.org)
    by_code = {o.product.code: o for row in offers.store_rows(held) for o in row.offers}
    assert by_code["free-perm"].is_free and by_code["free-perm"].unit == 0
    assert (by_code["user"].unit, by_code["user"].period, by_code["user"].currency) == (3_000, "monthly", "CLP")
    assert (by_code["stamps"].unit, by_code["stamps"].period) == (24_990, "one_time")
    assert by_code["inventory"].setup_fee == 20_000
    assert not by_code["inventory"].is_active
    _add(store, store.cat.module)
    _activate(store)
    held = offers.holdings(store.org)
    assert offers.product_offer(held, store.cat.module.id).is_active


def test_a_row_pages_by_four_and_a_retired_product_leaves_it(store):
    for n in range(4):
        factories.make_product("module", store.cat.basic.software, code=f"mod-{n}", name=f"Módulo {n}",
                               category=store.erp, prices=(("CLP", "monthly", 1_000, 0),))
    held = offers.holdings(store.org)
    first, second = offers.store_row(held, "erp", 1), offers.store_row(held, "erp", 2)
    assert (first.page, first.pages, len(first.offers), len(second.offers)) == (1, 2, 4, 3)
    assert not first.has_previous and first.has_next and second.has_previous and not second.has_next
    assert offers.store_row(held, "erp", 99).page == 2
    catalog.retire_product(store.cat.stamps)
    assert "stamps" not in [o.product.code for o in offers.store_row(offers.holdings(store.org), "erp", 2).offers]


def test_search_ignores_accents_and_case(store):
    held = offers.holdings(store.org)
    assert [o.product.code for o in offers.search_offers(held, "USUÁRIO")] == ["free-perm", "user"]
    assert [o.product.code for o in offers.search_offers(held, "ádicional")] == ["user"]
    assert [o.product.code for o in offers.search_offers(held, "INVENTARIO")] == ["inventory"]
    assert offers.search_offers(held, "100%_") == []
    assert offers.search_offers(held, "   ") == []


# The cart


def _add(store, product, quantity=1, now=NOW):
    return carts.add_to_cart(store.org, store.admin, product, quantity, now)


def test_the_cart_prices_each_line_until_the_renewal_with_its_tax_and_setup_fee(store):
    _add(store, store.cat.user, 2)
    _add(store, store.cat.module)
    _add(store, store.free)
    cart = carts.price_cart(store.org, store.admin, NOW)
    user, module, free = cart.lines
    end = store.sub.current_period_end
    days_left, days = (end.date() - NOW.date()).days, (end.date() - store.sub.current_period_start.date()).days
    assert user.now_amount == round(6_000 * days_left / days)
    assert user.tax == round(user.now_amount * 0.19)
    assert module.setup_fee == 20_000 and module.now_amount == round(6_000 * days_left / days) + 20_000
    assert (free.now_amount, free.tax, free.period_amount) == (0, 0, 0)
    [totals] = cart.totals.values()
    assert totals.next_bill == user.total + module.total and totals.due_now == 0
    assert totals.per_period == 12_000 + round(12_000 * 0.19)
    assert cart.activatable


def test_adding_again_adds_units_of_a_stackable_product_and_refuses_a_second_module(store):
    _add(store, store.cat.user, 2)
    _add(store, store.cat.user, 3)
    assert [line.quantity for line in carts.cart_lines(store.org, store.admin)] == [5]
    _add(store, store.cat.module)
    with pytest.raises(DomainError) as error:
        _add(store, store.cat.module)
    assert error.value.code == "quantity_too_large"


@pytest.mark.parametrize("quantity", [0, -1, "2", 2.5, True, 10_001])
def test_a_quantity_that_is_not_a_whole_number_within_limits_is_refused(store, quantity):
    with pytest.raises(DomainError) as error:
        _add(store, store.cat.user, quantity)
    assert error.value.code in ("invalid_quantity", "quantity_too_large")
    assert db.session.scalar(db.select(db.func.count(CartLine.id))) == 0


def test_a_product_already_active_or_without_a_plan_cannot_go_in_the_cart(store):
    _add(store, store.cat.module)
    _activate(store)
    with pytest.raises(DomainError) as error:
        _add(store, store.cat.module)
    assert error.value.code == "already_active"
    newcomer = factories.make_member("customer", "admin")
    with pytest.raises(DomainError) as error:
        carts.add_to_cart(newcomer.organisation, newcomer.user, store.cat.user, 1, NOW)
    assert error.value.code == "no_plan"


def test_the_cart_is_each_users_own_in_each_organisation(store):
    colleague = factories.make_member("customer", "admin", organisation=store.org).user
    _add(store, store.cat.user)
    assert carts.cart_lines(store.org, colleague) == []
    assert carts.line_count(store.org, store.admin) == 1


def test_the_cart_tells_of_a_new_price_and_of_a_retired_product(store):
    _add(store, store.cat.user)
    _add(store, store.cat.module)
    catalog.set_price(store.cat.user, "CLP", "monthly", 3_500, 0)
    catalog.retire_product(store.cat.module)
    user, module = carts.price_cart(store.org, store.admin, NOW).lines
    assert user.price_changed and user.line.unit_amount == 3_000 and user.offer.unit == 3_500
    assert module.problem == "retired"
    assert not carts.price_cart(store.org, store.admin, NOW).activatable


# Activation


def test_activating_adds_everything_at_once_and_empties_the_cart(store):
    _add(store, store.cat.user, 2)
    _add(store, store.cat.module)
    _add(store, store.upfront)
    _add(store, store.cat.stamps, 2)
    _add(store, store.free)
    shown = carts.price_cart(store.org, store.admin, NOW)
    done = _activate(store)
    items = {item.product_id: item.quantity for item in store.sub.items}
    assert items == {store.cat.user.id: 2, store.cat.module.id: 1, store.upfront.id: 1, store.free.id: 1}
    assert [line.amount for line in done.lines] == [line.now_amount for line in shown.lines]
    paid_now = [line for line in done.lines if line.invoice_id]
    assert {line.product_id for line in paid_now} == {store.upfront.id, store.cat.stamps.id}
    assert len(invoices_of(store.org)) == 1 + 2  # the first month, and one invoice for each paid now
    assert carts.cart_lines(store.org, store.admin) == []
    assert db.session.scalar(db.select(AuditEvent.action).where(AuditEvent.object_type == "activation")) == \
        "store_activated"


def test_the_same_key_activates_once_and_another_cart_with_it_is_refused(store):
    _add(store, store.cat.user, 2)
    cart = carts.price_cart(store.org, store.admin, NOW)
    key = secrets.token_urlsafe(24)
    answers = {activation.activate_cart(store.org, store.admin, key, cart.fingerprint, NOW).id for _ in range(3)}
    assert len(answers) == 1
    assert db.session.scalar(db.select(db.func.count(Activation.id))) == 1
    assert [item.quantity for item in store.sub.items] == [2]
    _add(store, store.cat.user, 1)
    other = carts.price_cart(store.org, store.admin, NOW)
    with pytest.raises(DomainError) as error:
        activation.activate_cart(store.org, store.admin, key, other.fingerprint, NOW)
    assert error.value.code == "key_reused"


def test_a_cart_changed_since_it_was_shown_is_not_activated(store):
    _add(store, store.cat.user)
    shown = carts.price_cart(store.org, store.admin, NOW)
    catalog.set_price(store.cat.user, "CLP", "monthly", 3_500, 0)
    with pytest.raises(DomainError) as error:
        activation.activate_cart(store.org, store.admin, secrets.token_urlsafe(24), shown.fingerprint, NOW)
    assert error.value.code == "cart_changed"
    assert store.sub.items == [] and db.session.scalar(db.select(db.func.count(Activation.id))) == 0
    with pytest.raises(DomainError) as error:
        activation.activate_cart(store.org, store.admin, "short", shown.fingerprint, NOW)
    assert error.value.code == "invalid_key"


def test_a_retired_product_is_never_activated(store):
    _add(store, store.cat.module)
    catalog.retire_product(store.cat.module)
    cart = carts.price_cart(store.org, store.admin, NOW)
    with pytest.raises(DomainError) as error:
        activation.activate_cart(store.org, store.admin, secrets.token_urlsafe(24), cart.fingerprint, NOW)
    assert error.value.code == "cart_not_activatable"
    assert store.sub.items == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=st.integers(min_value=0, max_value=60 * 24 * 27), users=st.integers(1, 40),
       companies=st.integers(1, 5), with_module=st.booleans())
def test_the_cart_shows_to_the_minor_unit_what_activation_charges(store, minutes, users, companies,
                                                                  with_module):
    savepoint = db.session.begin_nested()
    try:
        now = store.sub.current_period_start + timedelta(minutes=minutes)
        assert now < add_months(store.sub.current_period_start, 1)
        company = db.session.scalar(db.select(type(store.cat.user)).where(type(store.cat.user).code == "company")) \
            or factories.make_product("additional_company", store.cat.basic.software, code="company",
                                      category=store.my_plan, prices=(("CLP", "monthly", 7_777, 1_111),))
        _add(store, store.cat.user, users, now)
        _add(store, company, companies, now)
        if with_module:
            _add(store, store.cat.module, 1, now)
        shown = carts.price_cart(store.org, store.admin, now)
        before = set(db.session.scalars(db.select(SubscriptionCharge.id)))
        activation.activate_cart(store.org, store.admin, secrets.token_urlsafe(24), shown.fingerprint, now)
        charged: dict[int, int] = {}
        for charge in db.session.scalars(db.select(SubscriptionCharge).where(SubscriptionCharge.id.not_in(before))):
            charged[charge.product_id] = charged.get(charge.product_id, 0) + charge.amount
        assert {line.line.product_id: line.now_amount for line in shown.lines if line.now_amount} == charged
    finally:
        savepoint.rollback()
