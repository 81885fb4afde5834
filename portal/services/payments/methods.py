"""Stored payment methods of an organisation: added from a gateway's capture, listed with their state,
one chosen to pay automatically, removed. Only tokens and what identifies a card to a person are kept."""

from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Organisation, PaymentMethod
from portal.services import audit
from portal.services.errors import DomainError
from portal.services.payments.gateway import CapturedCard

LISTED_STATES = ("active", "expired", "failing")


def methods_of(org: Organisation) -> list[PaymentMethod]:
    """The organisation's methods that are not removed, the auto-pay one first, then the newest."""
    return list(db.session.scalars(
        db.select(PaymentMethod).where(PaymentMethod.organisation_id == org.id,
                                       PaymentMethod.state.in_(LISTED_STATES))
        .order_by(PaymentMethod.auto_pay.desc(), PaymentMethod.id.desc())))


def method_of(org: Organisation, method_id: int | None) -> PaymentMethod | None:
    """One of the organisation's methods (None when it is another's, removed or unknown)."""
    if method_id is None:
        return None
    found = db.session.get(PaymentMethod, method_id)
    if found is None or found.organisation_id != org.id or found.state == "removed":
        return None
    return found


def auto_pay_method(org: Organisation) -> PaymentMethod | None:
    return db.session.scalar(db.select(PaymentMethod).where(
        PaymentMethod.organisation_id == org.id, PaymentMethod.auto_pay.is_(True),
        PaymentMethod.state.in_(LISTED_STATES)))


def add_card(org: Organisation, gateway_code: str, card: CapturedCard, now: datetime, actor=None) -> PaymentMethod:
    """Keep the card a gateway captured for `org`; the first one pays automatically. The same token twice
    (the capture page's return reloaded) is the same method."""
    if card.organisation_id != org.id:
        raise DomainError(_l("This card was added for another organisation."), code="not_found", status=404)
    existing = db.session.scalar(db.select(PaymentMethod).where(PaymentMethod.gateway == gateway_code,
                                                                PaymentMethod.token == card.token))
    if existing is not None:
        return existing
    if not (len(card.last4) == 4 and card.last4.isdigit() and 1 <= card.exp_month <= 12):
        raise DomainError(_l("The card could not be added. Try again."), code="invalid_card")
    first = auto_pay_method(org) is None
    method = PaymentMethod(organisation_id=org.id, gateway=gateway_code, token=card.token, kind="card",
                           brand=card.brand[:20], last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year,
                           state=_state_at(card.exp_month, card.exp_year, now), auto_pay=first, created_at=now,
                           created_by_id=actor.id if actor is not None else None)
    db.session.add(method)
    db.session.flush()
    audit.record("payment_method_added", actor=actor, organisation=org, obj=method,
                 details={"brand": method.brand, "last4": method.last4})
    return method


def _state_at(exp_month: int, exp_year: int, now: datetime) -> str:
    return "expired" if (exp_year, exp_month) < (now.year, now.month) else "active"


def choose_auto_pay(org: Organisation, method: PaymentMethod, now: datetime, actor=None) -> PaymentMethod:
    """Make `method` the one that pays renewals automatically (the others stop)."""
    if method.state != "active":
        raise DomainError(_l("Only an active card can pay automatically."), code="method_not_active",
                          field="method")
    for other in methods_of(org):
        other.auto_pay = other.id == method.id
    db.session.flush()
    audit.record("payment_method_auto_pay", actor=actor, organisation=org, obj=method, details={})
    return method


def stop_auto_pay(org: Organisation, actor=None) -> None:
    for method in methods_of(org):
        method.auto_pay = False
    db.session.flush()
    audit.record("payment_method_auto_pay_off", actor=actor, organisation=org, details={})


def remove(org: Organisation, method: PaymentMethod, now: datetime, actor=None) -> PaymentMethod:
    """Remove a method: it is never charged again (its past payments keep naming it)."""
    method.state, method.auto_pay, method.removed_at = "removed", False, now
    db.session.flush()
    audit.record("payment_method_removed", actor=actor, organisation=org, obj=method,
                 details={"brand": method.brand, "last4": method.last4})
    return method


def expire_due(now: datetime) -> int:
    """Mark active cards whose expiry month has passed as expired. Returns how many."""
    count = 0
    for method in db.session.scalars(db.select(PaymentMethod).where(PaymentMethod.state == "active")):
        if _state_at(method.exp_month, method.exp_year, now) == "expired":
            method.state, method.auto_pay = "expired", False
            count += 1
    db.session.flush()
    return count
