"""The vendor's own staff, and the vendor organisation itself (exactly one per install)."""

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import Organisation, User
from portal.services.accounts import auth
from portal.services.accounts import organisations as accounts
from portal.services.errors import DomainError


def vendor_organisation() -> Organisation | None:
    return db.session.scalar(db.select(Organisation).where(Organisation.kind == "vendor").order_by(Organisation.id))


def _vendor(vendor_name: str | None, country: str | None) -> Organisation:
    """The vendor organisation; on a new install it is created from `vendor_name` and `country`."""
    vendor = vendor_organisation()
    if vendor is not None:
        if vendor_name and vendor_name.strip() != vendor.name:
            raise DomainError(
                _l("The vendor organisation already exists (%(name)s): leave out its name and country.",
                   name=vendor.name),
                code="vendor_exists", field="vendor_name",
            )
        return vendor
    if not vendor_name or not vendor_name.strip() or not country:
        raise DomainError(
            _l("There is no vendor organisation yet: give its name and country (--vendor-name and --country)."),
            code="no_vendor", field="vendor_name",
        )
    return accounts.create_organisation("vendor", vendor_name, country.strip().upper())


def create_staff(email: str, name: str, role: str, password: str, vendor_name: str | None = None,
                 country: str | None = None) -> User:
    """Create a staff user of the vendor with a password, or give an existing user a staff role (they keep
    their password). On a new install the vendor organisation is created first."""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise DomainError(_l("This e-mail address is not valid."), code="invalid_email", field="email") from error
    if not (name or "").strip():
        raise DomainError(_l("Enter the person's name."), code="invalid_name", field="name")
    if len(password or "") < auth.MIN_PASSWORD_LENGTH:
        raise DomainError(_l("Use at least %(num)d characters.", num=auth.MIN_PASSWORD_LENGTH), code="weak",
                          field="password")
    vendor = _vendor(vendor_name, country)
    user = auth.find_user(email) or accounts.create_user(email, name, password)
    accounts.add_membership(user, vendor, role)
    return user
