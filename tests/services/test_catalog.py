"""The catalog's rules: codes, launch addresses, free products, ordering of the store's rows, retiring
without losing history, finding products, and the audit log."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Invoice, InvoiceLine, Price, Product, Software, Subscription, SubscriptionItem
from portal.models.catalog import CURRENCIES
from portal.services import catalog, demo
from portal.services.catalog import search as catalog_search
from portal.services.errors import DomainError
from tests import factories


@pytest.fixture(autouse=True)
def reader(app):
    """Messages are lazy translations: reading one needs a request (here in English)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def _refused(error_code: str, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == error_code, (caught.value.code, str(caught.value.message))
    return caught.value


def _subscribe(org, product, currency="CLP", period="monthly", status="active", add_on=None) -> Subscription:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    subscription = Subscription(organisation_id=org.id, payer_id=org.id, plan_id=product.id, currency=currency,
                                period=period, status=status, current_period_start=start,
                                current_period_end=start + timedelta(days=31))
    if add_on is not None:
        subscription.items.append(SubscriptionItem(product_id=add_on.id, quantity=2))
    db.session.add(subscription)
    db.session.flush()
    return subscription



def test_software_needs_a_web_launch_address(app):
    software = catalog.create_software("vitrine-erp", "Vitrine ERP", "https://erp.example.test/ingresar")
    assert software.launch_url == "https://erp.example.test/ingresar"
    for url in ("ftp://erp.example.test", "javascript:alert(1)", "erp.example.test", "https://", ""):
        _refused("invalid_url", catalog.create_software, "other", "Other", url)
    assert db.session.scalar(db.select(db.func.count()).select_from(Software)) == 1


def test_codes_are_unique_and_plain(app):
    catalog.create_software("faznota", "FazNota", "https://app.faznota.test")
    error = _refused("duplicate_code", catalog.create_software, "FazNota", "FazNota 2", "https://b.faznota.test")
    assert error.field == "code"
    _refused("invalid_code", catalog.create_software, "faz nota", "FazNota", "https://app.faznota.test")
    _refused("invalid_code", catalog.create_category, "mi_plan!", "Mi plan")
    _refused("required", catalog.create_category, " ", "Mi plan")


def test_every_change_is_audited_with_who_and_where(app):
    staff = factories.make_member("vendor", "admin")
    by = catalog.Author(staff.user, staff.organisation, "203.0.113.9")
    software = catalog.create_software("vitrine-erp", "Vitrine ERP", "https://erp.example.test", by=by)
    catalog.update_software(software, "Vitrine ERP 2", "https://erp.example.test", by=by)
    catalog.retire_software(software, by=by)
    events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["software_created", "software_updated", "software_retired"]
    assert {(e.actor_id, e.organisation_id, e.address) for e in events} == {
        (staff.user.id, staff.organisation.id, "203.0.113.9")}
    assert events[1].details["changed"] == {"name": ["Vitrine ERP", "Vitrine ERP 2"]}


def test_saving_without_changes_records_nothing(app):
    software = factories.make_software(name="Vitrine ERP", launch_url="https://erp.example.test")
    before = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    catalog.update_software(software, "Vitrine ERP", "https://erp.example.test")
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == before



def test_categories_keep_their_store_order_and_move_one_place_at_a_time(app):
    plan, erp, einvoicing = (factories.make_category(code) for code in ("mi-plan", "erp", "facturacion"))
    assert [c.code for c in catalog_search.list_categories()] == ["mi-plan", "erp", "facturacion"]
    catalog.move_category(einvoicing, "up")
    assert [c.code for c in catalog_search.list_categories()] == ["mi-plan", "facturacion", "erp"]
    catalog.move_category(plan, "up")
    catalog.move_category(erp, "down")
    assert [c.code for c in catalog_search.list_categories()] == ["mi-plan", "facturacion", "erp"]
    assert [c.position for c in catalog_search.list_categories()] == [1, 2, 3]
    _refused("invalid_direction", catalog.move_category, erp, "sideways")


def test_translated_names_are_kept_per_offered_language(app):
    category = catalog.create_category("mi-plan", "Mi plan", names={
        "pt_BR": {"name": "  Meu   plano "}, "en": {"name": "My plan"}, "fr": {"name": "Mon forfait"},
        "es": {"name": ""}})
    assert category.names == {"pt_BR": {"name": "Meu plano"}, "en": {"name": "My plan"}}
    assert category.display_name("pt_BR") == "Meu plano"
    assert category.display_name("es") == "Mi plan"



def test_a_free_product_costs_zero_in_every_currency(app):
    product = factories.make_product("module", name="Permiso usuario modifica", is_free=True, pay_upfront=True)
    assert sorted((p.currency, p.amount, p.setup_fee) for p in product.prices) == [(c, 0, 0) for c in
                                                                                   sorted(CURRENCIES)]
    assert product.pay_upfront is False
    _refused("free_product_price", catalog.set_price, product, "CLP", "monthly", 990)
    catalog.set_price(product, "CLP", "annual", 0)


def test_a_priced_product_cannot_become_free_until_its_prices_are_zero(app):
    product = factories.make_product("module", prices=[("CLP", "monthly", 14_990, 0)])
    values = dict(kind="module", software=product.software, name=product.name, is_free=True)
    _refused("free_product_has_prices", catalog.update_product, product, **values)
    catalog.set_price(product, "CLP", "monthly", 0)
    catalog.update_product(product, **values)
    assert product.is_free and product.price_for("BRL", "monthly").amount == 0


def test_setting_a_price_again_changes_it_and_keeps_one_row(app):
    product = factories.make_product(prices=[])
    catalog.set_price(product, "CLP", "monthly", 19_990, 49_990)
    catalog.set_price(product, "CLP", "monthly", 21_990, 49_990)
    catalog.set_price(product, "CLP", "annual", 199_900)
    db.session.flush()
    rows = db.session.scalars(db.select(Price).where(Price.product_id == product.id).order_by(Price.period)).all()
    assert [(p.period, p.amount, p.setup_fee) for p in rows] == [("annual", 199_900, 0), ("monthly", 21_990, 49_990)]
    change = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "price_set")
                               .order_by(AuditEvent.id.desc()).offset(1).limit(1))
    assert change.details["before"] == {"amount": 19_990, "setup_fee": 49_990}


def test_prices_in_minor_units_must_be_sane(app):
    product = factories.make_product(prices=[])
    _refused("negative_amount", catalog.set_price, product, "CLP", "monthly", -1)
    _refused("amount_too_large", catalog.set_price, product, "CLP", "monthly", 10**12 + 1)
    _refused("invalid_currency", catalog.set_price, product, "EUR", "monthly", 100)
    _refused("invalid_period", catalog.set_price, product, "CLP", "weekly", 100)
    assert product.prices == []


def test_a_product_needs_a_kind_and_a_software_still_sold(app):
    software = factories.make_software()
    _refused("invalid_kind", catalog.create_product, "x-1", "bundle", software, "Bundle")
    _refused("required", catalog.create_product, "x-2", "plan", None, "Plan")
    catalog.retire_software(software)
    _refused("retired", catalog.create_product, "x-3", "plan", software, "Plan")
    category = factories.make_category()
    catalog.retire_category(category)
    _refused("retired", catalog.create_product, "x-4", "plan", factories.make_software(), "Plan", category)
    assert db.session.scalar(db.select(db.func.count(Product.id))) == 0


def test_the_code_of_a_product_is_unique(app):
    factories.make_product(code="erp-pro")
    _refused("duplicate_code", factories.make_product, code="erp-pro")



def test_retiring_a_product_keeps_it_on_subscriptions_and_invoices(app):
    customer = factories.make_org("customer")
    plan = factories.make_product("plan", code="erp-pro", prices=[("CLP", "monthly", 39_990, 0)])
    user = factories.make_product("additional_user", code="usuario-adicional", prices=[("CLP", "monthly", 4_990, 0)])
    subscription = _subscribe(customer, plan, add_on=user)
    invoice = Invoice(organisation_id=customer.id, currency="CLP", locale="es", status="open", subtotal=39_990,
                      total=39_990)
    invoice.lines.append(InvoiceLine(kind="recurring", product_id=plan.id, description="Plan Pro mensual",
                                     unit_amount=39_990, amount=39_990, total=39_990))
    db.session.add(invoice)
    db.session.flush()
    assert catalog_search.live_subscriptions(plan) == 1 and catalog_search.live_subscriptions(user) == 1

    catalog.retire_product(plan)
    catalog.set_price(plan, "CLP", "monthly", 44_990)
    db.session.expire_all()

    assert db.session.get(Product, plan.id).retired_at is not None
    assert db.session.get(Subscription, subscription.id).plan_id == plan.id
    line = db.session.scalar(db.select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
    assert (line.product_id, line.unit_amount, line.description) == (plan.id, 39_990, "Plan Pro mensual")
    on_sale = db.session.scalars(db.select(Product).where(catalog_search.on_sale())).all()
    assert [p.code for p in on_sale] == ["usuario-adicional"]
    assert [p.code for p in db.session.scalars(catalog_search.find_products()).unique()] == ["usuario-adicional"]
    assert {p.code for p in db.session.scalars(catalog_search.find_products(include_retired=True)).unique()} == {
        "erp-pro", "usuario-adicional"}


@pytest.mark.parametrize("typed", ["facturacion electronica", "FACTURACIÓN", "faturacao", "modulo-fe", "eletronica"])
def test_finding_products_ignores_accents_and_case(app, typed):
    wanted = factories.make_product("module", code="modulo-fe", name="Módulo Facturación Electrónica",
                                    names={"pt_BR": {"name": "Módulo Faturação Eletrônica"}})
    factories.make_product("plan", code="plan-pyme", name="Plan Pyme")
    found = [p.code for p in db.session.scalars(catalog_search.find_products(search=typed)).unique()]
    assert found == [wanted.code], typed


def test_a_renamed_product_is_found_by_its_new_name_only(app):
    product = factories.make_product("plan", code="plan-pro", name="Plan Pro")
    catalog.update_product(product, "plan", product.software, "Plan Ñandú")
    db.session.flush()
    search = lambda typed: [p.code for p in db.session.scalars(catalog_search.find_products(search=typed)).unique()]  # noqa: E731
    assert search("nandu") == ["plan-pro"] and search("pro") == ["plan-pro"] and search("Plan Pro") == []


def test_product_search_text_is_not_a_pattern(app):
    factories.make_product("plan", code="plan-pyme", name="Plan Pyme")
    for typed in ("%", "_", "Plan_Pyme", "Plan%"):
        assert db.session.scalars(catalog_search.find_products(search=typed)).unique().all() == [], typed


def test_retiring_twice_records_once_and_restoring_offers_it_again(app):
    product = factories.make_product()
    catalog.retire_product(product)
    catalog.retire_product(product)
    catalog.restore_product(product)
    actions = db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.object_type == "product")
                                 .where(AuditEvent.action.like("product_re%"))).all()
    assert actions == ["product_retired", "product_restored"]
    assert product.retired_at is None


def test_a_retired_software_or_category_takes_its_products_off_sale(app):
    software = factories.make_software()
    category = factories.make_category()
    in_category = factories.make_product(category=category)
    of_software = factories.make_product(software=software)
    catalog.retire_category(category)
    catalog.retire_software(software)
    on_sale = db.session.scalars(db.select(Product.id).where(catalog_search.on_sale())).all()
    assert in_category.id not in on_sale and of_software.id not in on_sale
    assert in_category.retired_at is None and of_software.retired_at is None


def test_a_price_that_live_subscriptions_are_billed_with_cannot_be_removed(app):
    customer = factories.make_org("customer")
    plan = factories.make_product(prices=[("CLP", "monthly", 39_990, 0), ("CLP", "annual", 399_900, 0)])
    _subscribe(customer, plan, period="monthly")
    _subscribe(factories.make_org("customer"), plan, period="annual", status="cancelled")
    monthly, annual = plan.price_for("CLP", "monthly"), plan.price_for("CLP", "annual")
    error = _refused("price_in_use", catalog.remove_price, plan, monthly)
    assert "1" in str(error.message)
    catalog.remove_price(plan, annual)
    db.session.expire_all()
    assert [(p.currency, p.period) for p in db.session.get(Product, plan.id).prices] == [("CLP", "monthly")]



def test_quotas_say_what_is_included_and_what_each_unit_beyond_costs(app):
    plan = factories.make_product()
    catalog.set_quota(plan, "documents", 500, {"CLP": 45, "MXN": 120})
    catalog.set_quota(plan, "documents", 600, {"CLP": 40})
    catalog.set_quota(plan, "users", 5)
    assert [(q.metric, q.included, q.overage_prices) for q in catalog_search.sorted_quotas(plan)] == [
        ("documents", 600, {"CLP": 40}), ("users", 5, {})]
    _refused("invalid_metric", catalog.set_quota, plan, "coffees", 1)
    _refused("invalid_number", catalog.set_quota, plan, "users", -1)
    _refused("negative_amount", catalog.set_quota, plan, "users", 1, {"CLP": -5})
    _refused("invalid_currency", catalog.set_quota, plan, "users", 1, {"EUR": 5})
    catalog.remove_quota(plan, catalog_search.sorted_quotas(plan)[1])
    assert [q.metric for q in plan.quotas] == ["documents"]



def test_products_are_found_by_software_category_kind_and_words(app):
    erp, faznota = factories.make_software(), factories.make_software()
    row = factories.make_category()
    factories.make_product("plan", software=erp, code="erp-pro", name="Plan Pro")
    factories.make_product("module", software=erp, category=row, code="inventario", name="Inventario")
    factories.make_product("plan", software=faznota, code="faznota-100", name="FazNota 100% nuvem")

    def codes(**filters):
        return sorted(p.code for p in db.session.scalars(catalog_search.find_products(**filters)).unique())

    assert codes(software_id=erp.id) == ["erp-pro", "inventario"]
    assert codes(category_id=row.id) == ["inventario"]
    assert codes(kind="plan") == ["erp-pro", "faznota-100"]
    assert codes(search="INVENT") == ["inventario"]
    assert codes(search="100%") == ["faznota-100"]
    assert codes(search="%") == ["faznota-100"]


def test_the_demo_catalog_loads(app):
    products = demo.load_catalog()
    assert products["erp-pro"].price_for("CLP", "monthly").amount == 39_990
    assert products["permiso-usuario-modifica"].is_free
    assert products["erp-emprendedor-2023"].retired_at is not None
    assert [c.code for c in catalog_search.list_categories()] == ["mi-plan", "erp", "facturacion-electronica"]
    assert products["facturacion-electronica"].display_name("en") == "E-invoicing"
