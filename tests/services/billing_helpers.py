"""A small catalog, tax rates and people for the billing tests (subscriptions, invoicing, the sweep)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from portal.extensions import db
from portal.models import Invoice, InvoiceLine, Product, SubscriptionCharge
from portal.services import catalog
from portal.services.billing import invoicing
from tests import factories

JAN = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


@dataclass
class Catalog:
    basic: Product  # CLP 10,000 a month / 100,000 a year; 100 documents, then 50 each
    pro: Product  # CLP 30,000 a month / 300,000 a year; 500 documents, then 40 each
    user: Product  # additional user, CLP 3,000 a month (no annual price: 12 × monthly)
    module: Product  # inventory module, CLP 6,000 a month, setup fee 20,000
    stamps: Product  # pack of stamps paid up front, one-time price
    old: Product  # a retired plan


def make_catalog() -> Catalog:
    """The vendor, Chile's 19 % and Brazil's 5 % tax, the default series and a little catalog for one software."""
    factories.make_org("vendor", name="Vitrine Software SpA", address="Av. Providencia 1208, Santiago")
    invoicing.install_defaults()
    software = factories.make_software("erp-test", "ERP")
    basic = factories.make_product("plan", software, code="basic", name="Plan Básico", prices=(
        ("CLP", "monthly", 10_000, 0), ("CLP", "annual", 100_000, 0), ("BRL", "monthly", 5_990, 0),
        ("BRL", "annual", 59_900, 0)))
    pro = factories.make_product("plan", software, code="pro", name="Plan Pro", prices=(
        ("CLP", "monthly", 30_000, 0), ("CLP", "annual", 300_000, 0), ("BRL", "monthly", 11_990, 0),
        ("BRL", "annual", 119_900, 0)))
    catalog.set_quota(basic, "documents", 100, {"CLP": 50, "BRL": 25})
    catalog.set_quota(pro, "documents", 500, {"CLP": 40, "BRL": 15})
    user = factories.make_product("additional_user", software, code="user", name="Usuario adicional",
                                  prices=(("CLP", "monthly", 3_000, 0), ("BRL", "monthly", 1_490, 0)))
    module = factories.make_product("module", software, code="inventory", name="Inventario",
                                    prices=(("CLP", "monthly", 6_000, 20_000), ("BRL", "monthly", 2_990, 0)))
    stamps = factories.make_product("service", software, code="stamps", name="Pack 500 DTE", pay_upfront=True,
                                    prices=(("CLP", "one_time", 24_990, 0),))
    old = factories.make_product("plan", software, code="old", name="Plan 2023",
                                 prices=(("CLP", "monthly", 8_000, 0),))
    catalog.retire_product(old)
    db.session.flush()
    return Catalog(basic, pro, user, module, stamps, old)


def invoices_of(org, kind: str = "invoice") -> list[Invoice]:
    return list(db.session.scalars(db.select(Invoice).where(Invoice.organisation_id == org.id, Invoice.kind == kind)
                                   .order_by(Invoice.id)))


def lines_of(invoice: Invoice, kind: str | None = None) -> list[InvoiceLine]:
    db.session.refresh(invoice)
    return [line for line in invoice.lines if kind is None or line.kind == kind]


def pending_of(sub) -> list[SubscriptionCharge]:
    return list(db.session.scalars(db.select(SubscriptionCharge).where(
        SubscriptionCharge.subscription_id == sub.id, SubscriptionCharge.collected_at.is_(None))))


def assert_adds_up(invoice: Invoice) -> None:
    db.session.refresh(invoice)
    assert invoice.subtotal == sum(line.amount for line in invoice.lines)
    assert invoice.tax_total == sum(line.tax_amount for line in invoice.lines)
    assert invoice.total == invoice.subtotal + invoice.tax_total
    for line in invoice.lines:
        assert line.total == line.amount + line.tax_amount


def due_subscriptions(cat: Catalog, count: int, start=JAN, period: str = "monthly") -> list[int]:
    """`count` customers, each with an active Plan Básico (and two additional users) whose period started at
    `start`: written in bulk, as a busy month's worth of renewals. Returns the subscription ids."""
    from sqlalchemy import insert

    from portal.models import Organisation, Subscription, SubscriptionItem
    from portal.services.billing.rules import first_period

    end = first_period(start, period)[1]
    base = next(factories._sequence) * 10_000
    org_ids = list(db.session.scalars(insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True), [
        {"kind": "customer", "name": f"Cliente {base + n} SpA", "country": "CL",
         "tax_id": factories._valid_tax_id("CL", base + n), "timezone": "America/Santiago", "currency": "CLP",
         "locale": "es", "status": "active", "created_at": start} for n in range(count)]))
    sub_ids = list(db.session.scalars(insert(Subscription).returning(Subscription.id, sort_by_parameter_order=True), [
        {"organisation_id": org_id, "payer_id": org_id, "plan_id": cat.basic.id, "currency": "CLP",
         "period": period, "status": "active", "discount_bp": 0, "current_period_start": start,
         "current_period_end": end, "created_at": start} for org_id in org_ids]))
    db.session.execute(insert(SubscriptionItem), [
        {"subscription_id": sub_id, "product_id": cat.user.id, "quantity": 2, "added_at": start}
        for sub_id in sub_ids])
    db.session.flush()
    return sub_ids
