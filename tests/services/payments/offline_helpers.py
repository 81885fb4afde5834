"""Helpers of the offline payment tests: the demo's methods offered, a reference issued as the pay form does."""

from portal.extensions import db
from portal.models import Invoice, Organisation
from portal.services.payments import checkout
from portal.services.payments.offline import setup
from portal.workflows import payments as payment_flow
from tests import factories
from tests.services.payments.helpers import NOW


def offer_demo_methods() -> None:
    setup.configure_demo()
    db.session.commit()


def brazilian_customer(**fields) -> tuple[Organisation, Invoice]:
    """A Brazilian customer (pt_BR, BRL) with an administrator and an open invoice."""
    member = factories.make_member("customer", "admin", organisation=factories.make_org("customer", "BR"), **fields)
    invoice = factories.make_invoice(member.organisation, lines=[("Plano Essencial mensal", 1, 14_155)],
                                     tax_rate_bp=0)
    db.session.commit()
    return member.organisation, invoice


def issue(org_id: int, invoice_id: int, kind: str, key: str, amount: int | None = None, now=NOW):
    """Start paying an invoice with an offline method: claim, ask the method's gateway, record its reference."""

    def claim():
        org = db.session.get(Organisation, org_id)
        invoice = db.session.get(Invoice, invoice_id)
        return [checkout.claim_invoice_payment(org, invoice, amount or invoice.total, kind, key, now)]

    return payment_flow.pay(claim, now)[0]
