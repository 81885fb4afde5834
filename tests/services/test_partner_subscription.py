"""An approved order grows the partner's subscription: its paid licenses (the bonus is free) at the monthly fee
of the price list version the order used, the first month invoiced when the subscription starts, later orders
prorated on the next invoice, the setup fees on one invoice of their own; the billing sweep then charges the
monthly fee for what the partner holds. Approving twice at the same moment grows it once. On SQLite, and on
PostgreSQL when PORTAL_TEST_DATABASE_URL is set."""

from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.models import Invoice, Subscription, SubscriptionCharge, SubscriptionEvent
from portal.models.partners import PartnerOrder, PartnerStock
from portal.services.billing.subscriptions import licenses
from portal.services.partners import orders, pricelists
from portal.workflows.billing_run import run_sweep
from tests import factories
from tests.services.test_partner_concurrency import _app, _run, _url

DEC_2 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DEC_17 = datetime(2026, 12, 17, 12, 0, tzinfo=UTC)  # 16 of the period's 31 days left
JAN_2 = datetime(2027, 1, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def partner(app):
    return factories.make_org("partner", country="BR", currency="BRL")


@pytest.fixture
def admin(partner):
    return factories.make_member("partner", "admin", organisation=partner).user


def _order(partner, user, kind, lines, at) -> PartnerOrder:
    for product, quantity in lines:
        orders.add_line(partner, user, kind, product, quantity, at)
    return orders.confirm(orders.draft_for(partner, user), user, at)


def _items(partner) -> list[tuple[str, int, int]]:
    db.session.expire_all()
    sub = licenses.subscription_of(partner, "BRL")
    return [(item.product.name, item.quantity, item.unit_amount) for item in sub.items]


def _lines(invoice: Invoice) -> list[tuple[str, int, int, int]]:
    return [(line.kind, line.quantity, line.unit_amount, line.amount) for line in invoice.lines]


def test_the_first_approved_order_starts_the_subscription_and_invoices_its_first_month(partner, admin):
    _list, products = factories.make_partner_catalog()
    order = orders.approve(_order(partner, admin, "purchase", [(products["completo"], 10), (products["light"], 2)],
                                  DEC_2), admin, DEC_2)

    sub = licenses.subscription_of(partner, "BRL")
    assert (sub.plan_id, sub.payer_id, sub.period, sub.status) == (None, partner.id, "monthly", "active")
    assert (sub.current_period_start, sub.current_period_end) == (DEC_2, JAN_2)
    # 10 bought + 1 bonus in stock; the subscription bills the 10 bought, as the order's monthly total does
    assert db.session.scalar(db.select(PartnerStock.available).where(
        PartnerStock.product_id == products["completo"].id)) == 11
    assert _items(partner) == [("Moderniza Completo", 10, 8990), ("Moderniza Light", 2, 4990)]

    first_month = db.session.scalar(db.select(Invoice).where(Invoice.subscription_id == sub.id))
    assert _lines(first_month) == [("recurring", 10, 8990, 89_900), ("recurring", 2, 4990, 9_980)]
    assert first_month.subtotal == 99_880 and first_month.total == 99_880 + first_month.tax_total
    assert (first_month.period_start, first_month.period_end) == (DEC_2, JAN_2)
    setup = db.session.get(Invoice, order.setup_invoice_id)
    assert _lines(setup) == [("setup", 10, 15000, 150_000)]
    assert (setup.subtotal, setup.total - setup.tax_total, setup.subscription_id) == (150_000, 150_000, None)
    assert db.session.scalar(db.select(db.func.count(Invoice.id))) == 2

    events = [line.subscription_event for line in order.lines]
    assert [(e.action, e.details["before"], e.details["after"], e.invoice_id) for e in events] == [
        ("addon_added", 0, 10, first_month.id), ("addon_added", 0, 2, first_month.id)]
    assert all(e.details["order_id"] == order.id for e in events)


def test_a_later_order_is_prorated_on_the_next_invoice_which_bills_the_monthly_fee_for_what_is_held(partner, admin):
    _list, products = factories.make_partner_catalog()
    orders.approve(_order(partner, admin, "purchase", [(products["completo"], 10), (products["light"], 2)], DEC_2),
                   admin, DEC_2)
    later = orders.approve(_order(partner, admin, "purchase", [(products["completo"], 5)], DEC_17), admin, DEC_17)
    db.session.commit()

    assert _items(partner) == [("Moderniza Completo", 15, 8990), ("Moderniza Light", 2, 4990)]
    event = later.lines[0].subscription_event
    assert (event.action, event.details["before"], event.details["after"], event.invoice_id) == (
        "quantity_changed", 10, 15, None)
    charge = db.session.scalar(db.select(SubscriptionCharge))
    assert (charge.quantity, charge.unit_amount, charge.amount, charge.collected_at) == (5, 8990, 23_200, None)
    assert event.details["amount"] == 23_200  # 5 × R$ 89,90 × 16/31 days
    assert later.setup_invoice_id is not None and db.session.scalar(db.select(db.func.count(Invoice.id))) == 3

    result = run_sweep(JAN_2, render_pdfs=False)
    assert result.renewed == 1
    sub = licenses.subscription_of(partner, "BRL")
    renewal = db.session.scalar(db.select(Invoice).where(Invoice.subscription_id == sub.id,
                                                         Invoice.period_start == JAN_2))
    assert _lines(renewal) == [("recurring", 15, 8990, 134_850), ("recurring", 2, 4990, 9_980),
                               ("prorated", 1, 23_200, 23_200)]
    assert renewal.subtotal == 168_030
    assert renewal.total == 168_030 + renewal.tax_total
    assert (sub.current_period_start, sub.current_period_end) == (JAN_2, datetime(2027, 2, 2, 12, 0, tzinfo=UTC))
    assert run_sweep(JAN_2, render_pdfs=False).invoices == 0  # nothing billed twice


def test_licenses_bought_at_a_later_price_keep_their_own_fee_and_additional_users_are_billed_as_such(partner,
                                                                                                      admin):
    price_list, products = factories.make_partner_catalog()
    orders.approve(_order(partner, admin, "purchase", [(products["completo"], 4)], DEC_2), admin, DEC_2)
    pricelists.revise(price_list, "Pauta 2027", [pricelists.ItemSpec(products["completo"], 9990, 15000, 2),
                                                 pricelists.ItemSpec(products["usuario"], 1700)], DEC_2)
    orders.approve(_order(partner, admin, "purchase", [(products["completo"], 3)], DEC_17), admin, DEC_17)
    extra = orders.approve(_order(partner, admin, "additional", [(products["completo"], 6)], DEC_17), admin, DEC_17)
    db.session.commit()

    assert _items(partner) == [("Moderniza Completo", 4, 8990), ("Moderniza Completo", 3, 9990),
                               ("Usuário adicional", 6, 1700)]
    assert extra.setup_invoice_id is None  # additional users have no setup fee
    run_sweep(JAN_2, render_pdfs=False)
    renewal = db.session.scalar(db.select(Invoice).where(Invoice.period_start == JAN_2))
    assert _lines(renewal)[:3] == [("recurring", 4, 8990, 35_960), ("recurring", 3, 9990, 29_970),
                                   ("recurring", 6, 1700, 10_200)]


def test_a_cancelled_order_grows_nothing(partner, admin):
    _list, products = factories.make_partner_catalog()
    orders.cancel(_order(partner, admin, "purchase", [(products["completo"], 10)], DEC_2), admin, DEC_2)
    assert licenses.subscription_of(partner, "BRL") is None
    assert db.session.scalar(db.select(db.func.count(Invoice.id))) == 0


def _approving(url: str, number: int, order_ids: list[int], user_id: int, barrier, queue) -> None:
    from portal.database import writing
    from portal.models import User
    from portal.services.errors import DomainError

    app = _app(url)
    outcomes = []
    with app.app_context():
        for order_id in order_ids:
            barrier.wait(60)
            try:
                with writing():
                    order, user = db.session.get(PartnerOrder, order_id), db.session.get(User, user_id)
                    orders.approve(order, user, datetime.now(UTC))
                    db.session.commit()
                outcomes.append("won")
            except DomainError as error:
                db.session.rollback()
                outcomes.append(error.code)
            except Exception as error:  # reported to the test, which fails with it
                db.session.rollback()
                outcomes.append(repr(error))
        db.engine.dispose()
    queue.put(outcomes)


def test_two_people_approving_at_the_same_moment_grow_the_subscription_once(app):
    partner = factories.make_org("partner", country="BR", currency="BRL")
    admin = factories.make_member("partner", "admin", organisation=partner).user
    _list, products = factories.make_partner_catalog()
    order_ids = [_order(partner, admin, "purchase", [(products["completo"], 10)], datetime.now(UTC)).id
                 for _ in range(4)]
    db.session.commit()
    url, user_id, partner_id = _url(), admin.id, partner.id
    db.session.remove()

    results = _run(_approving, lambda i: (url, i, order_ids, user_id), 2)

    for outcomes in zip(*results, strict=True):
        assert sorted(outcomes) == ["order_finalised", "won"], outcomes
    sub = db.session.scalar(db.select(Subscription).where(Subscription.organisation_id == partner_id))
    assert [(item.quantity, item.unit_amount) for item in sub.items] == [(40, 8990)]
    grown = db.session.scalars(db.select(SubscriptionEvent).where(SubscriptionEvent.subscription_id == sub.id,
                                                                  SubscriptionEvent.action != "started")).all()
    assert sorted(event.details["order_id"] for event in grown) == order_ids
    setup = db.session.scalars(db.select(Invoice.subtotal).where(Invoice.subscription_id.is_(None))).all()
    assert setup == [150_000] * 4  # one setup invoice per order
    first_month = db.session.scalars(db.select(Invoice.subtotal).where(Invoice.subscription_id == sub.id)).all()
    assert first_month == [89_900]
    assert db.session.scalar(db.select(db.func.count(SubscriptionCharge.id))) == 3  # the three later orders


def test_a_subscription_holds_one_item_per_product_at_the_catalogs_price_and_one_per_own_price(app):
    """Two items of one product at the catalog's price (unit_amount NULL) are refused by the database, as two
    at the same own price are; two own prices of one product are two items."""
    from sqlalchemy.exc import IntegrityError

    from portal.models.subscriptions import SubscriptionItem

    org = factories.make_org("customer")
    sub = factories.make_subscription(org)
    _list, products = factories.make_partner_catalog()
    product = products["usuario"]
    db.session.add(SubscriptionItem(subscription_id=sub.id, product_id=product.id, quantity=1))
    db.session.flush()
    for unit_amount in (None, 1700):
        if unit_amount is not None:
            db.session.add(SubscriptionItem(subscription_id=sub.id, product_id=product.id, quantity=1,
                                            unit_amount=unit_amount))
            db.session.flush()
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(SubscriptionItem(subscription_id=sub.id, product_id=product.id, quantity=2,
                                            unit_amount=unit_amount))
            db.session.flush()
    db.session.add(SubscriptionItem(subscription_id=sub.id, product_id=product.id, quantity=1, unit_amount=1900))
    db.session.flush()
    assert sorted((item.unit_amount or 0, item.quantity) for item in db.session.scalars(
        db.select(SubscriptionItem).where(SubscriptionItem.subscription_id == sub.id,
                                          SubscriptionItem.product_id == product.id))) == [(0, 1), (1700, 1), (1900, 1)]


def test_what_approving_will_bill_is_what_approving_bills(partner, admin):
    """The approval pages' preview (orders.billing_of on a pending order) is licenses.hold's arithmetic: the
    first month when the subscription starts with the order, else the rest of the month prorated, to the
    minor unit, with nothing written."""
    _list, products = factories.make_partner_catalog()
    first = _order(partner, admin, "purchase", [(products["completo"], 10), (products["light"], 2)], DEC_2)
    preview = orders.billing_of(first, DEC_2)
    assert preview.pending and preview.setup_total == 150_000 and preview.setup_invoice is None
    assert [(b.product.name, b.quantity, b.before, b.after, b.unit_amount, b.first_month, b.prorated)
            for b in preview.lines] == [("Moderniza Completo", 10, 0, 10, 8990, True, 0),
                                        ("Moderniza Light", 2, 0, 2, 4990, True, 0)]
    assert db.session.scalar(db.select(db.func.count(Invoice.id))) == 0
    assert licenses.subscription_of(partner, "BRL") is None
    orders.approve(first, admin, DEC_2)

    later = _order(partner, admin, "purchase", [(products["completo"], 5)], DEC_17)
    [line] = orders.billing_of(later, DEC_17).lines
    assert (line.before, line.after, line.prorated, line.first_month, line.next_invoice_at) == (
        10, 15, 23_200, False, JAN_2)
    assert db.session.scalar(db.select(db.func.count(SubscriptionCharge.id))) == 0
    orders.approve(later, admin, DEC_17)
    [done] = orders.billing_of(later).lines
    assert (done.before, done.after, done.prorated, done.first_month, done.next_invoice_at) == (
        line.before, line.after, line.prorated, False, JAN_2)
    assert orders.billing_of(orders.cancel(_order(partner, admin, "purchase", [(products["light"], 1)], DEC_17),
                                           admin, DEC_17)) is None


def test_the_preview_of_an_order_after_the_period_ended_is_what_approving_then_bills(partner, admin):
    """When the partner's period ended and the sweep has not renewed it yet, approving first closes it; the
    preview prorates in the period that follows, not in the ended one (nothing written)."""
    _list, products = factories.make_partner_catalog()
    orders.approve(_order(partner, admin, "purchase", [(products["completo"], 10)], DEC_2), admin, DEC_2)
    jan_17 = datetime(2027, 1, 17, 12, 0, tzinfo=UTC)  # 16 of the next period's 31 days left
    late = _order(partner, admin, "purchase", [(products["completo"], 5)], jan_17)
    invoices = db.session.scalar(db.select(db.func.count(Invoice.id)))
    [line] = orders.billing_of(late, jan_17).lines
    feb_2 = datetime(2027, 2, 2, 12, 0, tzinfo=UTC)
    assert (line.before, line.after, line.first_month, line.next_invoice_at) == (10, 15, False, feb_2)
    assert line.prorated == 23_200
    assert db.session.scalar(db.select(db.func.count(Invoice.id))) == invoices
    assert licenses.subscription_of(partner, "BRL").current_period_end == JAN_2
    orders.approve(late, admin, jan_17)
    [done] = orders.billing_of(late).lines
    assert (done.prorated, done.next_invoice_at) == (line.prorated, feb_2)
