"""Accountants and resellers: the e-mails a reseller links to itself, and the customers they bring.

A reseller (often an accounting firm) links the e-mails its accountants use. A customer that names one of
them as its accountant's e-mail becomes that reseller's customer (`Organisation.reseller_id`). An e-mail
is linked to one reseller at most, so the link is never ambiguous.
"""

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Organisation, ResellerEmail, User
from portal.services import audit
from portal.services.errors import DomainError


def normalise_email(email: str | None) -> str:
    """The address in the form it is kept and compared in (lower case), or a DomainError."""
    email = (email or "").strip()
    if not email:
        raise DomainError(_l("Enter an e-mail address."), code="missing_email", field="email")
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise DomainError(_l("This e-mail address is not valid."), code="invalid_email", field="email") from error


def linked_emails(reseller: Organisation) -> list[ResellerEmail]:
    """The e-mails the reseller links to itself, in alphabetical order."""
    return list(db.session.scalars(
        db.select(ResellerEmail).filter_by(reseller_id=reseller.id).order_by(ResellerEmail.email)
    ))


def linked_customers(reseller: Organisation, email: str) -> list[Organisation]:
    """The reseller's customers that name `email` as their accountant's e-mail."""
    return list(db.session.scalars(
        db.select(Organisation).filter_by(kind="customer", reseller_id=reseller.id, accountant_email=email)
        .order_by(Organisation.name)
    ))


def _taken_message(email: str):
    return _l("The e-mail %(email)s is already linked to another reseller.", email=email)


def link_email(reseller: Organisation, email: str, actor: User | None,
               address: str | None = None) -> ResellerEmail:
    """Link `email` to `reseller`; the customers without a reseller whose accountant uses it become its own.

    Refused for an e-mail already linked (to this reseller or another one), also when two requests link it
    at the same moment (the unique constraint decides)."""
    if reseller.kind != "reseller":
        raise DomainError(_l("Only a reseller links e-mails."), code="not_a_reseller", status=403)
    email = normalise_email(email)
    existing = db.session.scalar(db.select(ResellerEmail).filter_by(email=email))
    if existing is not None:
        if existing.reseller_id == reseller.id:
            raise DomainError(_l("The e-mail %(email)s is already linked to your account.", email=email),
                              code="already_linked", field="email", status=409)
        raise DomainError(_taken_message(email), code="linked_elsewhere", field="email", status=409)
    linked = ResellerEmail(reseller_id=reseller.id, email=email, added_by_id=actor.id if actor else None)
    try:
        with db.session.begin_nested():
            db.session.add(linked)
    except IntegrityError as error:
        raise DomainError(_taken_message(email), code="linked_elsewhere", field="email", status=409) from error
    audit.record("reseller_email_linked", actor=actor, organisation=reseller, obj=linked,
                 details={"email": email}, address=address)
    waiting = db.session.scalars(
        db.select(Organisation).filter_by(kind="customer", accountant_email=email, reseller_id=None)
    )
    for customer in waiting:
        _link(customer, reseller, email, actor, address)
    return linked


def unlink_email(reseller: Organisation, email_id: int, actor: User | None,
                 address: str | None = None) -> str:
    """Remove one of the reseller's own linked e-mails (never another reseller's) and return it. Customers
    already linked stay the reseller's customers; new ones naming that e-mail are no longer linked."""
    linked = db.session.scalar(db.select(ResellerEmail).filter_by(id=email_id, reseller_id=reseller.id))
    if linked is None:
        raise DomainError(_l("This e-mail is not linked to your account."), code="not_found", status=404)
    email = linked.email
    db.session.delete(linked)
    db.session.flush()
    audit.record("reseller_email_unlinked", actor=actor, organisation=reseller, details={"email": email},
                 address=address)
    return email


def reseller_for_email(email: str | None) -> Organisation | None:
    """The active reseller that links `email`, if any."""
    if not email:
        return None
    return db.session.scalar(
        db.select(Organisation).join(ResellerEmail, ResellerEmail.reseller_id == Organisation.id)
        .where(ResellerEmail.email == email.strip().lower(), Organisation.kind == "reseller",
               Organisation.status == "active")
    )


def _link(customer: Organisation, reseller: Organisation, email: str, actor: User | None,
          address: str | None) -> None:
    previous = customer.reseller_id
    customer.reseller_id = reseller.id
    db.session.flush()
    details = {"reseller_id": reseller.id, "reseller": reseller.name, "customer_id": customer.id,
               "customer": customer.name, "email": email, "previous_reseller_id": previous}
    audit.record("customer_linked_to_reseller", actor=actor, organisation=customer, obj=reseller,
                 details=details, address=address)
    audit.record("customer_linked_to_reseller", actor=actor, organisation=reseller, obj=customer,
                 details=details, address=address)


def link_customer(customer: Organisation, actor: User | None = None,
                  address: str | None = None) -> Organisation | None:
    """Make the customer the customer of the reseller that links its accountant's e-mail, and return that
    reseller (None when no reseller links it; the customer then keeps the reseller it has)."""
    if customer.kind != "customer":
        raise DomainError(_l("Only a customer names an accountant."), code="not_a_customer", status=403)
    reseller = reseller_for_email(customer.accountant_email)
    if reseller is None:
        return None
    if customer.reseller_id != reseller.id:
        _link(customer, reseller, customer.accountant_email, actor, address)
    return reseller


def set_accountant_email(customer: Organisation, email: str | None, actor: User | None,
                         address: str | None = None) -> Organisation | None:
    """Keep the customer's accountant's e-mail (empty clears it) and link the customer to the reseller that
    links it; returns that reseller, or None."""
    if customer.kind != "customer":
        raise DomainError(_l("Only a customer names an accountant."), code="not_a_customer", status=403)
    email = normalise_email(email) if (email or "").strip() else None
    if email != customer.accountant_email:
        before = customer.accountant_email
        customer.accountant_email = email
        db.session.flush()
        audit.record("accountant_email_set", actor=actor, organisation=customer,
                     details={"email": email, "before": before}, address=address)
    return link_customer(customer, actor, address) if email else None
