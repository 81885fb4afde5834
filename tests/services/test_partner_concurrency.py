"""QUALITY.md R3 for license partners: processes activating licenses at once against a limited stock never
oversell and never meet "database is locked" or a serialization error; approving and cancelling one order
at the same moment: exactly one wins. On SQLite, and on PostgreSQL when PORTAL_TEST_DATABASE_URL is set."""

import multiprocessing
from datetime import UTC, datetime

from portal import create_app
from portal.database import writing
from portal.extensions import db
from portal.models import Organisation, Product, User
from portal.models.partners import LicenseActivation, PartnerOrder, PartnerStock, StockMovement
from portal.services.errors import DomainError
from portal.services.partners import orders, stock
from tests import factories

PROCESSES = 8
ACTIVATIONS = 300
STOCK = 400


def _app(url: str):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SMTP_HOST": ""})


def _activating(url: str, number: int, ids: tuple[int, int, int], barrier, queue) -> None:
    app = _app(url)
    done, refused, errors = 0, 0, []
    with app.app_context():
        partner_id, user_id, product_id = ids
        barrier.wait(60)
        for n in range(ACTIVATIONS):
            try:
                with writing():
                    partner, user = db.session.get(Organisation, partner_id), db.session.get(User, user_id)
                    product = db.session.get(Product, product_id)
                    # a dozen clients shared by every process: their first activations race to create them
                    stock.activate(partner, user, product, f"Cliente {n % 12}", factories._valid_tax_id("BR", n % 12),
                                   f"processo {number}", datetime.now(UTC))
                    db.session.commit()
                done += 1
            except DomainError as error:
                db.session.rollback()
                if error.code != "out_of_stock":
                    errors.append(repr(error))
                refused += 1
            except Exception as error:  # reported to the test, which fails with it
                db.session.rollback()
                errors.append(repr(error))
        db.engine.dispose()
    queue.put((done, refused, errors))


def _run(target, args_for, count: int) -> list:
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(count), context.Queue()
    processes = [context.Process(target=target, args=(*args_for(i), barrier, queue)) for i in range(count)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(30)
    return results


def _url() -> str:
    return db.engine.url.render_as_string(hide_password=False)


def test_eight_processes_activating_at_once_never_oversell(app):
    partner = factories.make_org("partner", country="BR", currency="BRL")
    user = factories.make_member("partner", "seller", organisation=partner).user
    product = factories.make_product("module", name="Moderniza Completo", prices=())
    factories.make_partner_stock(partner, product, STOCK)
    db.session.commit()
    ids, url = (partner.id, user.id, product.id), _url()
    db.session.remove()
    partner_id = ids[0]

    results = _run(_activating, lambda i: (url, i, ids), PROCESSES)

    errors = [error for _d, _r, found in results for error in found]
    assert errors == []
    assert sum(done for done, _r, _e in results) == STOCK
    assert sum(refused for _d, refused, _e in results) == PROCESSES * ACTIVATIONS - STOCK
    row = db.session.scalar(db.select(PartnerStock).where(PartnerStock.partner_id == partner_id))
    active = db.session.scalar(db.select(db.func.count(LicenseActivation.id)).where(
        LicenseActivation.partner_id == partner_id, LicenseActivation.status == "active"))
    moved = db.session.scalar(db.select(db.func.sum(StockMovement.quantity)).where(
        StockMovement.partner_id == partner_id))
    assert (row.available, active, row.total) == (0, STOCK, STOCK)
    assert row.available + active == row.total and moved == row.available
    assert db.session.scalar(db.select(db.func.count(LicenseActivation.code.distinct()))) == STOCK


def _deciding(url: str, verb: str, order_ids: list[int], user_id: int, barrier, queue) -> None:
    app = _app(url)
    outcomes = []
    with app.app_context():
        for order_id in order_ids:
            barrier.wait(60)
            try:
                with writing():
                    order, user = db.session.get(PartnerOrder, order_id), db.session.get(User, user_id)
                    getattr(orders, verb)(order, user, datetime.now(UTC))
                    db.session.commit()
                outcomes.append((order_id, "won"))
            except DomainError as error:
                db.session.rollback()
                outcomes.append((order_id, error.code))
            except Exception as error:  # reported to the test, which fails with it
                db.session.rollback()
                outcomes.append((order_id, repr(error)))
        db.engine.dispose()
    queue.put((verb, outcomes))


def test_approve_and_cancel_racing_on_one_order_exactly_one_wins(app):
    partner = factories.make_org("partner", country="BR", currency="BRL")
    admin = factories.make_member("partner", "admin", organisation=partner).user
    _list, products = factories.make_partner_catalog()
    order_ids = []
    for _ in range(6):
        orders.add_line(partner, admin, "purchase", products["completo"], 10, datetime.now(UTC))
        order_ids.append(orders.confirm(orders.draft_for(partner, admin), admin, datetime.now(UTC)).id)
    db.session.commit()
    url, user_id, partner_id = _url(), admin.id, partner.id
    db.session.remove()

    results = dict(_run(_deciding, lambda i: (url, ("approve", "cancel")[i], order_ids, user_id), 2))

    for approved, cancelled in zip(results["approve"], results["cancel"], strict=True):
        outcomes = sorted([approved[1], cancelled[1]])
        assert outcomes in (["order_cancelled", "won"], ["order_finalised", "won"]), outcomes
    statuses = dict(db.session.execute(db.select(PartnerOrder.id, PartnerOrder.status)
                                       .where(PartnerOrder.id.in_(order_ids))).all())
    finalised = [i for i in order_ids if statuses[i] == "finalised"]
    assert {statuses[i] for i in order_ids} <= {"finalised", "cancelled"}
    row = db.session.scalar(db.select(PartnerStock).where(PartnerStock.partner_id == partner_id))
    assert (row.available if row else 0) == 11 * len(finalised)
