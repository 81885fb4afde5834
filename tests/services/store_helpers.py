"""The billing tests' little catalog placed in store rows, and a customer subscribed to it mid-period."""

from dataclasses import dataclass
from datetime import timedelta

from portal.extensions import db
from portal.models import Category, Organisation, Product, Subscription
from portal.services.billing import subscriptions as subs
from tests import factories
from tests.services.billing_helpers import JAN, Catalog, make_catalog


@dataclass
class Shelves:
    cat: Catalog
    my_plan: Category
    erp: Category
    free: Product  # a free module in "My plan"
    upfront: Product  # a module paid at activation, CLP 5,000 a month


@dataclass
class Store(Shelves):
    org: Organisation
    sub: Subscription  # Plan Básico, active since JAN, monthly
    admin: object  # the customer's administrator (a User)


def make_shelves() -> Shelves:
    """The catalog placed in rows: additional users and the free module in "My plan", the rest in "ERP"."""
    cat = make_catalog()
    my_plan = factories.make_category("mi-plan", "Mi plan", names={"en": {"name": "My plan"}})
    erp = factories.make_category("erp", "ERP")
    free = factories.make_product("module", cat.basic.software, code="free-perm", name="Permiso usuario modifica",
                                  category=my_plan, is_free=True)
    upfront = factories.make_product("module", cat.basic.software, code="exporter", name="Exportador contable",
                                     category=erp, pay_upfront=True, prices=(("CLP", "monthly", 5_000, 0),))
    cat.user.category_id = my_plan.id
    cat.module.category_id = erp.id
    cat.stamps.category_id = erp.id
    db.session.flush()
    return Shelves(cat, my_plan, erp, free, upfront)


def make_store(now=JAN) -> Store:
    shelves = make_shelves()
    membership = factories.make_member("customer", "admin")
    org = membership.organisation
    sub = subs.start_subscription(org, shelves.cat.basic, "CLP", "monthly", now - timedelta(days=5), trial_days=0)
    db.session.flush()
    return Store(**vars(shelves), org=org, sub=sub, admin=membership.user)
