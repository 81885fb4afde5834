"""The vendor's billing settings that its staff change in the back office: the discount a reseller gets on every
price of a subscription it pays for its client (basis points, 5000 = 50 %)."""

from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import BillingSettings, User
from portal.services import audit
from portal.services.errors import DomainError

DEFAULT_RESELLER_DISCOUNT_BP = 5000


def _settings() -> BillingSettings | None:
    return db.session.scalar(db.select(BillingSettings).order_by(BillingSettings.id).limit(1))


def reseller_discount_bp() -> int:
    """The discount, in basis points, of a subscription its client's reseller pays."""
    settings = _settings()
    return settings.reseller_discount_bp if settings is not None else DEFAULT_RESELLER_DISCOUNT_BP


def set_reseller_discount(percent: str, actor: User | None = None, address: str | None = None) -> int:
    """Keep the reseller discount typed as a whole percentage (0 to 100); returns it in basis points. It applies to
    subscriptions whose payer becomes the reseller from now on; the ones already paid by a reseller keep theirs."""
    raw = (percent or "").strip().rstrip("%").strip()
    if not raw.isdigit() or not 0 <= int(raw) <= 100:
        raise DomainError(_l("Enter a whole percentage from 0 to 100."), code="invalid_discount",
                          field="reseller_discount")
    value = int(raw) * 100
    settings = _settings()
    if settings is None:
        settings = BillingSettings(payment_terms_days=10, payment_instructions={})
        db.session.add(settings)
    before = settings.reseller_discount_bp if settings.reseller_discount_bp is not None else \
        DEFAULT_RESELLER_DISCOUNT_BP
    settings.reseller_discount_bp = value
    db.session.flush()
    if before != value:
        audit.record("reseller_discount_changed", actor=actor, obj=settings,
                     details={"before_bp": before, "discount_bp": value}, address=address)
    return value
