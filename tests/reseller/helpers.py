"""Helpers of the reseller tests: a reseller with client companies in each contract status."""

from portal.extensions import db
from portal.orm import utcnow
from portal.services import audit
from portal.services.accounts import blocking
from tests import factories


def logged_in(login_as, *args, **kwargs):
    """login_as, then end the test's read transaction (SQLite refuses a write from an older snapshot)."""
    client = login_as(*args, **kwargs)
    db.session.commit()
    return client


def make_client(reseller, name: str, country: str = "BR", status: str = "active", payer: str = "client",
                blocked: bool = False, plan=None, **fields):
    """A client company of `reseller` with one subscription (`status`), paid by itself or by the reseller."""
    client = factories.make_org("customer", country, name=name, reseller_id=reseller.id, **fields)
    db.session.flush()
    if blocked:
        blocking.block(client, "reseller", utcnow())
    if plan is None:
        plan = factories.make_product("plan", prices=((client.currency, "monthly", 9_990, 0),))
    factories.make_subscription(client, plan=plan, status=status,
                                payer_id=reseller.id if payer == "reseller" else client.id)
    db.session.flush()
    return client


def touch(client, action: str = "login"):
    """Something a person of `client` did, for its last activity."""
    audit.record(action, organisation=client)
    db.session.flush()
