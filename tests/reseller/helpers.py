"""Helpers of the reseller tests: a reseller with client companies in each contract status, their supplier XMLs."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from portal.extensions import db
from portal.orm import utcnow
from portal.services import audit
from portal.services.accounts import blocking
from portal.services.fiscal import documents
from portal.services.fiscal.specimens import make_nfe
from tests import factories

FEB_RENEWALS = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)  # the monthly renewals of subscriptions started on JAN
MARCH_2 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # February has ended in Santiago and in São Paulo


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


def this_month() -> str:
    """A moment of the current month in São Paulo (noon of today, or of the 28th late in the month), as dhEmi."""
    now = utcnow().astimezone(ZoneInfo("America/Sao_Paulo"))
    return f"{now.year}-{now.month:02d}-{min(now.day, 28):02d}T12:00:00-03:00"


def supplier_xml(client, number: int, issued_at: str | None = None, **fields):
    """A supplier's NF-e received by `client` (the recipient by default is Pão Dourado's CNPJ), kept and committed."""
    issued_at = issued_at or this_month()
    xml = make_nfe(number=number, issued_at=issued_at, year_month=issued_at[2:4] + issued_at[5:7], **fields)
    document = documents.keep_document(db.session.merge(client), xml, utcnow()).document
    db.session.commit()
    return document


def consolidated_office(locale: str, country: str, name: str, client_names, issued: bool = False):
    """A reseller of `country` paying for a client company per name (the test catalog's Plan Básico, monthly,
    since JAN; its products named in `locale`) and the demo's offline methods offered. The billing sweep has put
    their February renewals on its consolidated draft of the month, one line per client; `issued`: the sweep of
    2 March has issued it, pending. Returns (reseller, clients, the consolidated invoice); committed."""
    from flask import current_app

    from portal.models import Invoice
    from portal.services.billing import subscriptions as subs
    from portal.workflows.billing_run import run_sweep
    from tests.services.billing_helpers import JAN, make_catalog
    from tests.services.payments.offline_helpers import offer_demo_methods

    with current_app.test_request_context(headers={"Accept-Language": locale.replace("_", "-")}):
        cat = make_catalog()
    offer_demo_methods()
    reseller = factories.make_org("reseller", country, name=name)
    clients = []
    for client_name in client_names:
        client = factories.make_org("customer", country, name=client_name, reseller_id=reseller.id)
        subs.start_subscription(client, cat.basic, reseller.currency, "monthly", JAN, trial_days=0, payer=reseller)
        clients.append(client)
    db.session.commit()
    run_sweep(FEB_RENEWALS, render_pdfs=False)
    if issued:
        run_sweep(MARCH_2, render_pdfs=False)
    invoice = db.session.scalar(db.select(Invoice).where(Invoice.organisation_id == reseller.id,
                                                         Invoice.period_key.like("reseller:%")))
    return reseller, clients, invoice
