"""A reseller's new client ("Novo cliente" / "Nuevo cliente"): what it may offer (software and plans sold monthly
in its currency), the price its client or itself pays, and the direct registration ("Novo cadastro"): the
manager types the client's data and the client's own e-mail, the client's organisation is created linked to the
reseller, on trial, and the e-mail receives an invitation to choose a password (or, for an address that already
has an account, to accept: never a silent link).

Everything is checked before anything is written; a refusal is a DomainError and the caller rolls back.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Membership, Organisation, Price, Product, Software, User
from portal.services import audit
from portal.services.accounts import accountants, auth, organisations, taxid
from portal.services.billing import money
from portal.services.billing import subscriptions as subs
from portal.services.billing.rules import TRIAL_DAYS
from portal.services.billing.settings import reseller_discount_bp
from portal.services.errors import DomainError

PAYERS = ("client", "reseller")
INVITATION_DAYS = 14


@dataclass(frozen=True)
class Offer:
    """What a new client is offered: a plan (of its software) and who pays its monthly fee."""

    plan: Product
    payer: str  # client | reseller


@dataclass(frozen=True)
class Quote:
    """The monthly price of an offer: the plan's price, the discount when the reseller pays, what is paid."""

    currency: str
    price: int
    discount_bp: int
    monthly: int


@dataclass(frozen=True)
class ClientData:
    legal_name: str
    tax_id: str
    contact_name: str
    email: str


def plans_offered(reseller: Organisation) -> list[Product]:
    """The plans on sale with a monthly price in the reseller's currency, by software then price."""
    return list(db.session.scalars(
        db.select(Product).join(Software, Software.id == Product.software_id)
        .join(Price, Price.product_id == Product.id)
        .where(Product.kind == "plan", Product.retired_at.is_(None), Software.retired_at.is_(None),
               Price.currency == reseller.currency, Price.period == "monthly")
        .order_by(Software.name, Price.amount, Product.id).options(db.joinedload(Product.software))))


def software_offered(reseller: Organisation) -> list[Software]:
    seen: dict[int, Software] = {}
    for plan in plans_offered(reseller):
        seen.setdefault(plan.software_id, plan.software)
    return list(seen.values())


def _whole(raw) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def check_offer(reseller: Organisation, software_id, plan_id, payer: str) -> Offer:
    """The offer named by a form's software, plan and payer, or a DomainError naming the wrong field."""
    if payer not in PAYERS:
        raise DomainError(_l("Choose who pays the monthly fee."), code="invalid_payer", field="payer")
    offered = {plan.id: plan for plan in plans_offered(reseller)}
    software = _whole(software_id)
    if software is None or software not in {plan.software_id for plan in offered.values()}:
        raise DomainError(_l("Choose one of the software offered."), code="invalid_software", field="software")
    plan = offered.get(_whole(plan_id) or 0)
    if plan is None:
        raise DomainError(_l("Choose one of the plans offered."), code="invalid_plan", field="plan")
    if plan.software_id != software:
        raise DomainError(_l("This plan belongs to another software: choose a plan of the chosen software."),
                          code="other_software", field="plan")
    return Offer(plan, payer)


def quote(reseller: Organisation, offer: Offer) -> Quote:
    """The monthly price of the offer in the reseller's currency, with the reseller discount if the reseller pays."""
    price = db.session.scalar(db.select(Price.amount).where(Price.product_id == offer.plan.id,
                                                            Price.currency == reseller.currency,
                                                            Price.period == "monthly")) or 0
    discount = reseller_discount_bp() if offer.payer == "reseller" else 0
    return Quote(reseller.currency, price, discount, money.discounted(price, discount))


def check_tax_id(country: str, value: str) -> str:
    """The client's tax id in its compact form, valid for the reseller's country and not registered yet."""
    try:
        compact = taxid.normalise_tax_id(country, value)
    except taxid.TaxIdError as error:
        raise DomainError(error.args[0], code="invalid_tax_id", field="tax_id") from error
    taken = db.session.scalar(db.select(Organisation.id).where(Organisation.country == country,
                                                               Organisation.tax_id == compact))
    if taken is not None:
        raise DomainError(_l("A company with this tax id already has an account: it cannot be registered again."),
                          code="tax_id_taken", field="tax_id", status=409)
    return compact


def check_client_email(reseller: Organisation, email: str) -> str:
    """The client's own e-mail, in lower case; an e-mail of the reseller's own people is refused."""
    email = " ".join((email or "").split()).lower()
    local, _at, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254:
        raise DomainError(_l("Enter the client's e-mail."), code="invalid_email", field="email")
    user = auth.find_user(email)
    ours = user is not None and db.session.scalar(db.select(Membership.id).filter_by(
        user_id=user.id, organisation_id=reseller.id)) is not None
    if ours or email in {linked.email for linked in accountants.linked_emails(reseller)}:
        raise DomainError(_l("This e-mail is one of your own account's: enter the client's own e-mail, the one it "
                             "will log in with."), code="reseller_email", field="email", status=409)
    return email


def register_client(reseller: Organisation, offer: Offer, data: ClientData, now: datetime, actor: User,
                    address: str | None = None) -> Organisation:
    """Create the client's organisation linked to the reseller, its plan on trial (paid by the client or the
    reseller, through the subscriptions service) and the invitation of its administrator."""
    legal_name = " ".join((data.legal_name or "").split())
    contact = " ".join((data.contact_name or "").split())
    if not legal_name or len(legal_name) > 200:
        raise DomainError(_l("Enter the client's legal name."), code="invalid_name", field="legal_name")
    if not contact or len(contact) > 200:
        raise DomainError(_l("Enter the name of the client's contact person."), code="invalid_contact",
                          field="contact_name")
    compact = check_tax_id(reseller.country, data.tax_id)
    email = check_client_email(reseller, data.email)
    client = organisations.create_organisation("customer", legal_name, reseller.country, compact,
                                               reseller_id=reseller.id)
    subs.start_subscription(client, offer.plan, client.currency, "monthly", now, trial_days=TRIAL_DAYS,
                            payer=reseller if offer.payer == "reseller" else client, actor=actor)
    organisations.invite(client, actor, email, contact, "admin", INVITATION_DAYS, address=address)
    audit.record("client_registered", actor=actor, organisation=reseller, obj=client,
                 details={"client": client.name, "plan": offer.plan.code, "payer": offer.payer, "email": email},
                 address=address)
    return client
